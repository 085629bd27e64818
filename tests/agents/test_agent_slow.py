"""The embedded model (SmolLM2-135M on the CPU) runs an agent end to end.

A 135M model calls tools poorly: the test checks that the run streams, ends within its step limit
with an answer, and accounts its usage exactly, not what the answer is.
"""

from __future__ import annotations

import importlib.util

import pytest
from tests.agents.conftest import needs_toolcalls

from modelplug.agents import (
    ActionStepEnd,
    FinalAnswer,
    ModelDelta,
    StepStart,
    ToolCallingAgent,
    ToolResult,
    calculator,
    current_time,
)
from modelplug.types import Usage

pytestmark = [
    pytest.mark.slow,
    needs_toolcalls,
    pytest.mark.skipif(
        importlib.util.find_spec("modelplug_transformers") is None, reason="modelplug-transformers is not installed"
    ),
]

MAX_STEPS = 3


@pytest.fixture(scope="module")
def embedded():
    import modelplug

    model = modelplug.load_model("transformers:default")
    yield model
    model.close()


def test_embedded_model_runs_an_agent_to_the_end(embedded) -> None:
    agent = ToolCallingAgent(
        embedded,
        [calculator, current_time],
        stream_outputs=True,
        max_steps=MAX_STEPS,
        generation_options={"max_tokens": 32, "temperature": 0.0},
    )
    events = list(agent.run("What is 6 * 7? Use the calculator tool.", stream=True))

    final = events[-1]
    assert isinstance(final, FinalAnswer)
    assert sum(isinstance(e, ModelDelta) for e in events) > 3  # streamed
    starts = [e for e in events if isinstance(e, StepStart)]
    assert starts and starts[0].kind == "action"
    action_ends = [e for e in events if isinstance(e, ActionStepEnd) and e.kind == "action"]
    assert 1 <= len(action_ends) <= MAX_STEPS
    ends = [e for e in events if isinstance(e, ActionStepEnd)]
    assert ends[-1].final and all(e.usage is not None and e.usage.completion_tokens <= 32 for e in ends)
    assert all(e.ttft_s is not None and e.ttft_s <= e.duration_s for e in ends)
    assert final.usage == sum((e.usage for e in ends), Usage())  # the total is the sum of the steps
    for result in (e for e in events if isinstance(e, ToolResult)):
        assert result.observation  # whatever it called, the model was told something


def test_embedded_model_without_streaming(embedded) -> None:
    agent = ToolCallingAgent(
        embedded, [calculator], max_steps=2, generation_options={"max_tokens": 32, "temperature": 0.0}
    )
    events = list(agent.run("Say hello.", stream=True))
    assert isinstance(events[-1], FinalAnswer)
    assert not any(isinstance(e, ModelDelta) for e in events)
    assert len([e for e in events if isinstance(e, ActionStepEnd)]) <= 3


def test_embedded_model_computes_through_the_calculator_with_forced_calls(embedded) -> None:
    # the provider declares forced_tool_choice: every action step is a call (constrained decoding),
    # and a call the model repeats after its answer came back turns into a forced final_answer
    assert embedded.capabilities.forced_tool_choice
    agent = ToolCallingAgent(embedded, [calculator, current_time], generation_options={"temperature": 0.0})
    events = list(agent.run("What is 17 * 23?", stream=True))
    results = [e for e in events if isinstance(e, ToolResult) and e.tool_call is not None]
    assert results[0].tool_call.name == "calculator" and results[0].observation == "391" and not results[0].is_error
    final = events[-1]
    assert isinstance(final, FinalAnswer) and "391" in str(final.answer)
    assert not any(isinstance(e, ActionStepEnd) and e.kind == "final" for e in events)  # ended by final_answer


def test_the_agent_command_computes_through_the_calculator() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "modelplug", "agent", "What is 17 * 23?"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert 'tool call: calculator {"expression": "17*23"}' in done.stdout
    assert done.stdout.rstrip().splitlines()[-1] == "391"


def test_embedded_model_tells_the_time_through_a_bounded_forced_final_answer(embedded) -> None:
    """``modelplug agent "What time is it?" -t current_time``: the model repeats the call, the next
    forced call is final_answer. Was: its untyped ``answer`` let the grammar take any JSON, and the
    model nested ``{"answer": {"answer": ...`` for 1024 tokens (minutes, a junk answer)."""
    from modelplug.agents.agent import FINAL_MAX_TOKENS
    from modelplug.agents.tools import MAX_FORCED_ANSWER_CHARS

    agent = ToolCallingAgent(embedded, [current_time], generation_options={"temperature": 0.0})
    events = list(agent.run("What time is it?", stream=True))
    final = events[-1]
    assert isinstance(final, FinalAnswer)
    assert isinstance(final.answer, str) and 0 < len(final.answer) <= MAX_FORCED_ANSWER_CHARS
    assert '{"answer"' not in final.answer
    [observed, *_] = [e.observation for e in reversed(events) if isinstance(e, ToolResult) and e.tool_call]
    assert observed[:10] in final.answer  # the date: the result was in front of the model
    assert not any(isinstance(e, ActionStepEnd) and e.kind == "final" for e in events)  # ended by final_answer
    ends = [e for e in events if isinstance(e, ActionStepEnd)]
    assert ends[-1].usage is not None and ends[-1].usage.completion_tokens <= FINAL_MAX_TOKENS
