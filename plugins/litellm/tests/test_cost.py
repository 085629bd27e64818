"""Cost of litellm answers from the genai-prices database, through a loopback server's reported usage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import modelplug
from modelplug.testing.http.processes import ReplayServer

genai_prices = pytest.importorskip("genai_prices")

KEY = "sk-modelplug-litellm-cost-0000"


def database_cost(model_ref: str, provider_id: str, usage: modelplug.Usage) -> float:
    """What genai-prices says ``usage`` costs on that model."""
    prices = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens),
        model_ref=model_ref,
        provider_id=provider_id,
    )
    return float(prices.total_price)


@pytest.mark.parametrize("stream", [False, True])
def test_a_hosted_model_costs_what_the_price_database_says(replay_server: ReplayServer, stream: bool) -> None:
    with modelplug.load_model(
        "litellm:openai/gpt-4o-mini", api_base=replay_server.url("text/7"), api_key=KEY
    ) as model:
        if stream:
            with model.stream("hi") as chat:
                list(chat)
            message = chat.message
        else:
            message = model.generate("hi")
    assert message.usage == modelplug.Usage(7, 7, 14)
    expected = database_cost("gpt-4o-mini", "openai", message.usage)
    assert expected > 0
    assert message.cost == pytest.approx(expected)
    assert message.model == "litellm:openai/gpt-4o-mini"


def test_an_unknown_model_costs_none_not_zero(replay_server: ReplayServer) -> None:
    spec = "litellm:openai/no-such-model-xyz"
    with modelplug.load_model(spec, api_base=replay_server.url("text/3"), api_key=KEY) as model:
        message = model.generate("hi")
    assert message.usage is not None
    assert message.cost is None


def test_alias_prices_override_the_database_and_reach_the_cli(
    replay_server: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[models.mine]\n"
        'model = "litellm:openai/my-self-hosted"\n'
        f'api_base = "{replay_server.url("text/5")}"\n'
        f'api_key = "{KEY}"\n'
        "price = {input = 2.0, output = 10.0}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("MODELPLUG_CONFIG", str(config))
    with modelplug.load_model("mine") as model:
        assert model.generate("hi").cost == pytest.approx((7 * 2.0 + 5 * 10.0) / 1e6)
    from modelplug.cli import main

    result = CliRunner().invoke(main, ["run", "--no-log", "--json", "-m", "mine", "hi"])
    assert result.exit_code == 0, result.output
    final = json.loads(result.output.strip().splitlines()[-1])
    assert final["cost"] == pytest.approx(64e-6) and final["stats"]["cost"] == pytest.approx(64e-6)
    plain = CliRunner().invoke(main, ["run", "--no-log", "--stats", "-m", "mine", "hi"])
    assert "$0.000064" in plain.output
