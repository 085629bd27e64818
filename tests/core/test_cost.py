"""Costs: ``None`` when unknown (never 0), alias prices per million tokens, agent run totals."""

from __future__ import annotations

import pytest

import modelplug
from modelplug._cost import Price, cost_of, price_from_option
from modelplug.testing.fault_server import FaultServer
from modelplug.types import Usage


def test_unknown_price_or_usage_is_none() -> None:
    assert cost_of("litellm", "openai/gpt-4o-mini", None) is None
    assert cost_of("transformers", "default", Usage(10, 10)) is None  # local weights: no database price
    assert cost_of("litellm", "ollama/llama3", Usage(10, 10)) is None  # an unknown vendor is not guessed
    assert cost_of("transformers", "default", Usage(1_000_000, 0), Price(0.5, 2.0)) == 0.5


def test_price_option_shapes() -> None:
    assert price_from_option({"input": 1, "output": 3.5}) == Price(1, 3.5)
    for bad in ({"input": 1}, {"input": -1, "output": 1}, {"input": 1, "output": "x"}, 3):
        with pytest.raises(modelplug.InvalidOptionError, match="price"):
            price_from_option(bad)


def test_a_stream_without_usage_costs_none() -> None:
    pytest.importorskip("modelplug_openai")
    with FaultServer() as server, modelplug.load_model(
        "openai:gpt-4o-mini", base_url=server.base_url, api_key="k-0000", max_retries=0
    ) as model:
        message = model.generate("hi")
    assert message.usage is None and message.cost is None and message.model == "openai:gpt-4o-mini"


def test_the_price_option_prices_any_model_and_agent_runs_add_it_up() -> None:
    from modelplug.agents import ToolCallingAgent

    with modelplug.load_model("example:default", price={"input": 1.0, "output": 2.0}) as model:
        message = model.generate("hi", max_tokens=4)
        assert message.cost == pytest.approx((message.usage.prompt_tokens + 2 * 4) / 1e6)
        agent = ToolCallingAgent(model, [], max_steps=1)
        final = list(agent.run("hi", stream=True))[-1]
    steps = [s for s in agent.memory.steps if hasattr(s, "message")]
    assert final.cost == pytest.approx(sum(s.message.cost for s in steps)) and final.cost > 0
    assert agent.memory.total_cost == final.cost
    with modelplug.load_model("example:default") as unpriced:
        agent = ToolCallingAgent(unpriced, [], max_steps=1)
        assert list(agent.run("hi", stream=True))[-1].cost is None
