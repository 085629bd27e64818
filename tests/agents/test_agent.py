"""ToolCallingAgent runs scripted through the replay provider: event sequences, observations, usage."""

from __future__ import annotations

from typing import Any

import pytest
from tests.agents.conftest import add, answer, call, needs_toolcalls, outline, two_step_script

from modelplug.agents import (
    ActionStep,
    ActionStepEnd,
    FinalAnswer,
    MaxStepsReached,
    ModelDelta,
    ModelOutput,
    PlanningStep,
    PlanningStepEnd,
    ToolCallComplete,
    ToolCallingAgent,
    ToolResult,
    tool,
)
from modelplug.errors import CapabilityError, InvalidOptionError, ProviderError
from modelplug.types import ChatMessage, ToolCall, Usage

STEP = ["StepStart:action", "deltas", "ModelOutput"]  # a streamed step's opening
BARE = ["StepStart:action", "ModelOutput"]  # the same with stream_outputs=False


@tool
def broken(text: str) -> str:
    """Always fails."""
    raise RuntimeError(f"cannot handle {text!r}")


@pytest.mark.parametrize("stream_outputs", [True, False])
def test_two_step_run_streams_events_in_order(replay, stream_outputs: bool) -> None:
    agent = ToolCallingAgent(replay(two_step_script()), [add], stream_outputs=stream_outputs)
    events = list(agent.run("What is 2 + 3?", stream=True))

    opening = STEP if stream_outputs else BARE
    assert outline(events) == [
        *opening,
        "ToolCallComplete",
        "ToolResult",
        "ActionStepEnd",
        *opening,
        "ToolCallComplete",
        "ToolResult",
        "ActionStepEnd",
        "FinalAnswer",
    ]
    if stream_outputs:
        text = "".join(e.delta.content or "" for e in events if isinstance(e, ModelDelta) and e.step_number == 1)
        assert text == "Adding."
        fragments = [d for e in events if isinstance(e, ModelDelta) for d in e.delta.tool_calls]
        assert [(f.id, f.name) for f in fragments] == [("call_1", "add"), ("call_2", "final_answer")]
    outputs = [e.message for e in events if isinstance(e, ModelOutput)]
    assert [(m.content, m.usage, m.finish_reason) for m in outputs] == [
        ("Adding.", Usage(100, 10), "tool_calls"),
        (None, Usage(130, 7), "tool_calls"),
    ]
    assert outputs[0].tool_calls == (ToolCall("call_1", "add", {"a": 2, "b": 3}),)
    calls = [e.tool_call for e in events if isinstance(e, ToolCallComplete)]
    assert calls == [ToolCall("call_1", "add", {"a": 2, "b": 3}), ToolCall("call_2", "final_answer", {"answer": "5"})]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(r.tool_call.id, r.observation, r.is_error) for r in results] == [
        ("call_1", "5", False),
        ("call_2", "5", False),
    ]

    ends = [e for e in events if isinstance(e, ActionStepEnd)]
    assert [(e.step_number, e.usage, e.tool_calls, e.final) for e in ends] == [
        (1, Usage(100, 10), 1, False),
        (2, Usage(130, 7), 1, True),
    ]
    assert all(e.duration_s >= 0 for e in ends)
    assert all((e.ttft_s is not None) is stream_outputs for e in ends)
    final = events[-1]
    assert isinstance(final, FinalAnswer)
    assert (final.answer, final.step_number, final.usage) == ("5", 2, Usage(230, 17))
    assert agent.memory.total_usage == Usage(230, 17) == sum((s.usage for s in agent.memory.action_steps), Usage())


def test_run_returns_the_answer_and_threads_tool_call_ids(replay) -> None:
    agent = ToolCallingAgent(replay(two_step_script()), [add])
    assert agent.run("What is 2 + 3?") == "5"

    messages = agent.memory.to_messages()
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert "final_answer" in messages[0].text
    assert "add(" not in messages[0].text  # the provider gets the tools with the request
    assert messages[2].tool_calls[0].id == messages[3].tool_call_id == "call_1"
    assert (messages[3].name, messages[3].content) == ("add", "5")
    assert messages[4].tool_calls[0].id == messages[5].tool_call_id == "call_2"
    # step 2 was sent the whole conversation of step 1
    second = agent.memory.action_steps[1]
    assert list(second.model_input_messages) == messages[:4]


def test_two_parallel_tool_calls_run_and_report_in_order(replay) -> None:
    script = [
        answer(call("add", {"a": 1, "b": 2}, "call_a"), call("add", {"a": 10, "b": 20}, "call_b"), usage=(50, 20)),
        answer(call("final_answer", {"answer": 33}, "call_c"), usage=(80, 5)),
    ]
    agent = ToolCallingAgent(replay(script), [add], stream_outputs=True)
    events = list(agent.run("Add both pairs.", stream=True))

    assert outline(events)[:9] == [
        *STEP,
        "ToolCallComplete",
        "ToolResult",
        "ToolCallComplete",
        "ToolResult",
        "ActionStepEnd",
        "StepStart:action",
    ]
    reported = [(type(e).__name__, e.tool_call.id) for e in events if isinstance(e, (ToolCallComplete, ToolResult))]
    assert reported[:4] == [
        ("ToolCallComplete", "call_a"),
        ("ToolResult", "call_a"),
        ("ToolCallComplete", "call_b"),
        ("ToolResult", "call_b"),
    ]
    assert [e.observation for e in events if isinstance(e, ToolResult)][:2] == ["3", "30"]
    assert events[-1].answer == 33  # the answer keeps its JSON type
    messages = agent.memory.to_messages()
    assert [(m.role, m.tool_call_id) for m in messages[2:5]] == [
        ("assistant", None),
        ("tool", "call_a"),
        ("tool", "call_b"),
    ]
    assert agent.memory.total_usage == Usage(130, 25)


def test_a_tool_that_raises_becomes_an_observation(replay) -> None:
    script = [
        answer(call("broken", {"text": "x"}, "call_1"), usage=(10, 1)),
        answer(call("final_answer", {"answer": "gave up"}, "call_2"), usage=(20, 1)),
    ]
    agent = ToolCallingAgent(replay(script), [broken], stream_outputs=True)
    events = list(agent.run("Try it.", stream=True))

    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.is_error
    assert result.observation == "Error: tool 'broken' raised RuntimeError: cannot handle 'x'"
    assert events[-1].answer == "gave up"
    # the model saw the error as the tool's answer
    step2_input = agent.memory.action_steps[1].model_input_messages
    assert step2_input[-1] == ChatMessage(role="tool", content=result.observation, tool_call_id="call_1", name="broken")


def test_an_unknown_tool_becomes_an_observation(replay) -> None:
    script = [answer(call("search", {"q": "x"}, "call_1")), answer(call("final_answer", {"answer": "ok"}, "call_2"))]
    agent = ToolCallingAgent(replay(script), [add])
    events = list(agent.run("Find it.", stream=True))

    assert outline(events) == [
        *BARE, "ToolCallComplete", "ToolResult", "ActionStepEnd",
        *BARE, "ToolCallComplete", "ToolResult", "ActionStepEnd",
        "FinalAnswer",
    ]  # fmt: skip
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.is_error
    assert result.observation == "Error: unknown tool 'search'; the tools are: add, final_answer"
    assert events[-1].answer == "ok"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"a": 1}, "missing required argument 'b'"),
        ({"a": "one", "b": 2}, "argument 'a' must be of type integer, got str 'one'"),
        ({"a": 1, "b": 2, "c": 3}, "unknown argument 'c' (expected: a, b)"),
        ('{"a": 1, "b":', 'are not a JSON object: \'{"a": 1, "b":\''),
    ],
)
def test_bad_arguments_become_an_observation(replay, arguments: Any, problem: str) -> None:
    script = [answer(call("add", arguments, "call_1")), answer(call("final_answer", {"answer": "3"}, "call_2"))]
    agent = ToolCallingAgent(replay(script), [add], stream_outputs=True)
    events = list(agent.run("Add.", stream=True))

    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.is_error
    assert problem in result.observation
    assert '"required": ["a", "b"]' in result.observation  # the schema is shown to the model
    assert events[-1].answer == "3"


def test_cumulative_usage_snapshots_are_not_summed(replay) -> None:
    chunks = [
        {
            "choices": [{"index": 0, "delta": {"content": "The answer is 4."}}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 2},
        },
        {
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 5},
        },
        {"choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 6, "total_tokens": 46}},
    ]
    agent = ToolCallingAgent(replay([chunks]), [add], stream_outputs=True)
    events = list(agent.run("2 + 2?", stream=True))

    assert outline(events) == [*STEP, "ActionStepEnd", "FinalAnswer"]
    assert sum(1 for e in events if isinstance(e, ModelDelta) and e.delta.usage is not None) == 3
    assert events[-2].usage == Usage(40, 6, 46)
    assert events[-1].answer == "The answer is 4."  # text without a tool call is the answer
    assert events[-1].usage == Usage(40, 6, 46)


def test_an_empty_answer_is_told_to_call_a_tool(replay) -> None:
    agent = ToolCallingAgent(replay(["", answer(call("final_answer", {"answer": "x"}, "c"))]), [add])
    events = list(agent.run("Go.", stream=True))

    note = next(e for e in events if isinstance(e, ToolResult))
    assert note.tool_call is None and note.is_error
    assert "neither called a tool nor answered" in note.observation
    assert agent.memory.to_messages()[3] == ChatMessage(role="user", content=note.observation)


def test_max_steps_asks_for_a_final_answer_without_tools(recorder) -> None:
    model, provider = recorder(
        [
            answer(call("add", {"a": 1, "b": 1}, "c1"), usage=(10, 2)),
            answer(call("add", {"a": 2, "b": 2}, "c2"), usage=(20, 2)),
            {"role": "assistant", "content": "It is 4.", "usage": {"prompt_tokens": 30, "completion_tokens": 3}},
        ]
    )
    agent = ToolCallingAgent(model, [add], stream_outputs=True, max_steps=2)
    events = list(agent.run("Keep adding.", stream=True))

    assert outline(events) == [
        *STEP,
        "ToolCallComplete",
        "ToolResult",
        "ActionStepEnd",
        *STEP,
        "ToolCallComplete",
        "ToolResult",
        "ActionStepEnd",
        "MaxStepsReached",
        "StepStart:final",
        "deltas",
        "ModelOutput",
        "ActionStepEnd",
        "FinalAnswer",
    ]
    assert next(e for e in events if isinstance(e, MaxStepsReached)).max_steps == 2
    last = events[-2]
    assert isinstance(last, ActionStepEnd)
    assert (last.step_number, last.kind, last.final, last.usage) == (3, "final", True, Usage(30, 3))
    assert (events[-1].answer, events[-1].step_number, events[-1].usage) == ("It is 4.", 3, Usage(60, 7))

    # the last request offers no tools and carries the history as plain text
    messages, options = provider.requests[-1]
    assert options.tools == ()
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert all(not m.tool_calls for m in messages)
    assert "Calling tool add" in messages[1].text and "Observation from add: 2" in messages[2].text
    assert "step limit (2) is reached" in messages[-1].text
    assert [len(o.tools) for _, o in provider.requests[:2]] == [2, 2]


def test_planning_steps_are_streamed_like_action_steps(recorder) -> None:
    model, provider = recorder(
        [
            {"role": "assistant", "content": "1. add 1 and 1", "usage": {"prompt_tokens": 5, "completion_tokens": 5}},
            answer(call("add", {"a": 1, "b": 1}, "c1"), usage=(10, 1)),
            answer(call("add", {"a": 2, "b": 2}, "c2"), usage=(20, 1)),
            {"role": "assistant", "content": "2. answer", "usage": {"prompt_tokens": 7, "completion_tokens": 2}},
            answer(call("final_answer", {"answer": "done"}, "c3"), usage=(30, 1)),
        ]
    )
    agent = ToolCallingAgent(model, [add], stream_outputs=True, planning_interval=2)
    events = list(agent.run("Add things.", stream=True))

    assert outline(events) == [
        "StepStart:planning",
        "deltas",
        "ModelOutput",
        "PlanningStepEnd",
        *STEP,
        "ToolCallComplete",
        "ToolResult",
        "ActionStepEnd",
        *STEP,
        "ToolCallComplete",
        "ToolResult",
        "ActionStepEnd",
        "StepStart:planning",
        "deltas",
        "ModelOutput",
        "PlanningStepEnd",
        *STEP,
        "ToolCallComplete",
        "ToolResult",
        "ActionStepEnd",
        "FinalAnswer",
    ]
    plans = [e for e in events if isinstance(e, PlanningStepEnd)]
    assert [(p.step_number, p.plan, p.usage) for p in plans] == [
        (1, "1. add 1 and 1", Usage(5, 5)),
        (3, "2. answer", Usage(7, 2)),
    ]
    assert all(p.ttft_s is not None for p in plans)
    assert {e.kind for e in events if isinstance(e, ModelDelta) and e.step_number in (1, 3)} >= {"planning", "action"}
    assert events[-1].usage == Usage(72, 10)  # planning steps count in the total

    # planning requests offer no tools; action requests do, and see the plan
    assert [len(options.tools) for _, options in provider.requests] == [0, 2, 2, 0, 2]
    planning_messages = provider.requests[3][0]
    assert planning_messages[0].role == "system" and "Do not call tools" in planning_messages[0].text
    assert "Update the plan" in planning_messages[-1].text
    assert all(not m.tool_calls and m.role != "tool" for m in planning_messages)
    action_messages = provider.requests[1][0]
    assert [m.role for m in action_messages] == ["system", "user", "assistant", "user"]
    assert action_messages[2].text == "1. add 1 and 1"
    kinds = [type(s).__name__ for s in agent.memory.steps]
    assert kinds == ["TaskStep", "PlanningStep", "ActionStep", "ActionStep", "PlanningStep", "ActionStep"]
    assert isinstance(agent.memory.steps[1], PlanningStep)


def test_final_answer_stops_the_run_after_the_step(replay) -> None:
    script = [answer(call("final_answer", {"answer": "a"}, "c1"), call("add", {"a": 1, "b": 2}, "c2"))]
    agent = ToolCallingAgent(replay(script), [add])
    events = list(agent.run("Go.", stream=True))
    # both calls of the step run, in order; the run ends with the step
    assert [e.observation for e in events if isinstance(e, ToolResult)] == ["a", "3"]
    assert (events[-1].answer, events[-1].step_number) == ("a", 1)


def test_stream_outputs_needs_a_streaming_provider(recorder) -> None:
    model, _ = recorder([], streaming=False)
    with pytest.raises(CapabilityError) as caught:
        ToolCallingAgent(model, [add], stream_outputs=True)
    assert caught.value.provider == model.provider
    assert repr(model.provider) in str(caught.value)
    assert caught.value.capability == "streaming"
    ToolCallingAgent(model, [add], stream_outputs=False)  # generate() is fine


def test_stream_outputs_with_a_function_is_a_capability_error() -> None:
    def respond(messages: list[dict[str, Any]]) -> str:
        return "hi"

    with pytest.raises(CapabilityError, match=r"provider 'callable-\d+' declares no streaming"):
        ToolCallingAgent(respond, [add], stream_outputs=True)


def test_stopping_a_streamed_run_closes_the_model_stream(recorder) -> None:
    model, provider = recorder([answer(call("add", {"a": 1, "b": 1}, "c1"), content="Thinking about it")])
    agent = ToolCallingAgent(model, [add], stream_outputs=True)
    events = agent.run("Go.", stream=True)
    for event in events:
        if isinstance(event, ModelDelta):
            break
    assert provider.closed == 0
    events.close()
    assert provider.closed == 1


def test_model_errors_propagate(replay) -> None:
    agent = ToolCallingAgent(replay([answer(call("add", {"a": 1, "b": 1}, "c1"))]), [add], stream_outputs=True)
    with pytest.raises(ProviderError, match="exhausted"):
        agent.run("Go.")
    assert len(agent.memory.action_steps) == 1  # the finished step is kept


def test_reset_false_continues_the_conversation(replay) -> None:
    agent = ToolCallingAgent(replay(["First answer.", "Second answer."]), [add])
    assert agent.run("One?") == "First answer."
    assert agent.run("Two?", reset=False) == "Second answer."
    assert [m.role for m in agent.memory.to_messages()] == ["system", "user", "assistant", "user", "assistant"]
    fresh = ToolCallingAgent(replay(["A.", "B."]), [add])
    fresh.run("One?")
    assert fresh.run("Two?") == "B."  # reset=True (the default) starts over
    assert [m.text for m in fresh.memory.to_messages()[1:]] == ["Two?", "B."]


def test_memory_records_each_step(replay) -> None:
    agent = ToolCallingAgent(replay(two_step_script()), [add], stream_outputs=True)
    agent.run("What is 2 + 3?")
    first, second = agent.memory.action_steps
    assert isinstance(first, ActionStep)
    assert first.message.content == "Adding." and first.message.usage == Usage(100, 10)
    assert first.tool_calls == (ToolCall("call_1", "add", {"a": 2, "b": 3}),)
    assert [(o.content, o.is_error) for o in first.observations] == [("5", False)]
    assert first.ttft_s is not None and first.duration_s >= first.ttft_s
    assert (first.is_final, second.is_final, second.final_answer) == (False, True, "5")
    assert [m.role for m in first.model_input_messages] == ["system", "user"]


def test_constructor_checks_its_arguments(replay) -> None:
    with pytest.raises(InvalidOptionError, match="max_steps"):
        ToolCallingAgent(replay(["x"]), [add], max_steps=0)
    with pytest.raises(InvalidOptionError, match="planning_interval"):
        ToolCallingAgent(replay(["x"]), [add], planning_interval=0)
    with pytest.raises(InvalidOptionError, match="two tools are named 'add'"):
        ToolCallingAgent(replay(["x"]), [add, add])
    with pytest.raises(InvalidOptionError, match="model must be"):
        ToolCallingAgent(42, [add])  # type: ignore[arg-type]


def test_a_model_spec_string_is_loaded() -> None:
    with pytest.raises(InvalidOptionError, match="must look like"):
        ToolCallingAgent("no-colon", [add])


# --- text tool calls (need modelplug.toolcalls, issue 4) ---------------------------------------


@needs_toolcalls
@pytest.mark.parametrize("stream_outputs", [True, False])
def test_malformed_call_text_becomes_an_observation(replay, stream_outputs: bool) -> None:
    bad = "<tool_call>{bad json</tool_call>"
    good = '<tool_call>{"name": "final_answer", "arguments": {"answer": "fixed"}}</tool_call>'
    model = replay([bad, good], capabilities={"tool_calling": "text"})
    agent = ToolCallingAgent(model, [add], stream_outputs=stream_outputs)
    events = list(agent.run("Go.", stream=True))

    opening = STEP if stream_outputs else BARE
    assert outline(events) == [
        *opening, "ToolResult", "ActionStepEnd",  # the unreadable call's text is streamed as content
        *opening, "ToolCallComplete", "ToolResult", "ActionStepEnd",
        "FinalAnswer",
    ]  # fmt: skip
    if stream_outputs:
        first_deltas = [e for e in events[: events.index(next(e for e in events if isinstance(e, ToolResult)))]]
        streamed = "".join(getattr(getattr(e, "delta", None), "content", None) or "" for e in first_deltas)
        assert streamed == bad
    note = next(e for e in events if isinstance(e, ToolResult))
    assert note.tool_call is None and note.is_error
    assert note.observation.startswith("Error: your tool call could not be read (")
    first = agent.memory.action_steps[0]
    assert first.tool_calls == () and "{bad json" in first.message.text
    assert events[-1].answer == "fixed"
    # the model sees its own text, then the error
    second_input = agent.memory.action_steps[1].model_input_messages
    assert [m.role for m in second_input[-2:]] == ["assistant", "user"]
    assert "{bad json" in second_input[-2].text


@needs_toolcalls
def test_a_text_call_to_a_tool_not_offered_is_reported(replay) -> None:
    script = ['<tool_call>{"name": "search", "arguments": {"q": "x"}}</tool_call>', "No search then."]
    agent = ToolCallingAgent(replay(script, capabilities={"tool_calling": "text"}), [add], stream_outputs=True)
    events = list(agent.run("Find it.", stream=True))
    note = next(e for e in events if isinstance(e, ToolResult))
    assert note.is_error and "search" in note.observation
    assert events[-1].answer == "No search then."


@needs_toolcalls
@pytest.mark.parametrize("stream_outputs", [True, False])
def test_text_tool_calls_are_read_by_the_core(replay, stream_outputs: bool) -> None:
    script = [
        'I will add. <tool_call>{"name": "add", "arguments": {"a": 4, "b": 5}}</tool_call>',
        '<tool_call>{"name": "final_answer", "arguments": {"answer": "9"}}</tool_call>',
    ]
    agent = ToolCallingAgent(
        replay(script, capabilities={"tool_calling": "text"}), [add], stream_outputs=stream_outputs
    )
    events = list(agent.run("4 + 5?", stream=True))
    assert [e.observation for e in events if isinstance(e, ToolResult)] == ["9", "9"]
    assert events[-1].answer == "9"
    assert "<tool_call>" not in agent.memory.system_prompt  # the provider shows the tools its own way


@needs_toolcalls
def test_a_provider_without_tool_calling_gets_calls_read_by_the_agent(recorder) -> None:
    model, provider = recorder(
        [
            'Adding. <tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>',
            '<tool_call>{"name": "final_answer", "arguments": {"answer": "3"}}</tool_call>',
        ],
        tool_calling="none",
    )
    agent = ToolCallingAgent(model, [add], stream_outputs=True)
    events = list(agent.run("1 + 2?", stream=True))
    assert [options.tools for _, options in provider.requests] == [(), ()]
    system = provider.requests[0][0][0]
    assert system.role == "system" and "- add(" in system.text and "<tool_call>" in system.text
    assert [e.observation for e in events if isinstance(e, ToolResult)] == ["3", "3"]
    assert events[-1].answer == "3"


@needs_toolcalls
@pytest.mark.parametrize(
    "bad",
    [
        '{"name": "add", "arguments": {"a": 1, "b": 2}',  # cut off before the last brace
        '```json\n{"name": "add", "arguments": {"a": 1, b: 2}}\n```',
    ],
)
def test_a_call_shaped_unreadable_bare_answer_is_an_error_not_the_answer(replay, bad: str) -> None:
    good = '<tool_call>{"name": "final_answer", "arguments": {"answer": "3"}}</tool_call>'
    agent = ToolCallingAgent(replay([bad, good], capabilities={"tool_calling": "none"}), [add])
    events = list(agent.run("Add 1 and 2.", stream=True))
    note = next(e for e in events if isinstance(e, ToolResult))
    assert note.tool_call is None and note.is_error
    assert "invalid JSON at offset" in note.observation
    assert events[-1].answer == "3"


@needs_toolcalls
def test_an_answer_holding_readable_json_stays_the_answer(replay) -> None:
    text = 'The record is {"name": "Bob", "age": 3}.'
    agent = ToolCallingAgent(replay([text], capabilities={"tool_calling": "none"}), [add])
    assert list(agent.run("Show the record.", stream=True))[-1].answer == text


@needs_toolcalls
@pytest.mark.parametrize(
    "call",
    [
        "{'name': 'add', 'arguments': {'a': 1, 'b': 2}}",  # a Python dict: detection reads JSON only
        '{"name": "add", "arguments": {"a": 1, "b": 2},}',  # a trailing comma
    ],
)
def test_a_call_only_the_blob_helper_reads_is_a_call_not_the_answer(replay, call: str) -> None:
    good = '<tool_call>{"name": "final_answer", "arguments": {"answer": "3"}}</tool_call>'
    agent = ToolCallingAgent(replay([call, good], capabilities={"tool_calling": "none"}), [add])
    events = list(agent.run("Add 1 and 2.", stream=True))
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.tool_call is not None and result.tool_call.name == "add" and result.observation == "3"
    assert events[-1].answer == "3"


@needs_toolcalls
def test_a_call_with_a_non_finite_number_is_an_error_not_the_answer(replay) -> None:
    good = '<tool_call>{"name": "final_answer", "arguments": {"answer": "3"}}</tool_call>'
    bad = '{"name": "add", "arguments": {"a": NaN, "b": 2}}'
    agent = ToolCallingAgent(replay([bad, good], capabilities={"tool_calling": "none"}), [add])
    events = list(agent.run("Add 1 and 2.", stream=True))
    note = next(e for e in events if isinstance(e, ToolResult))
    assert note.tool_call is None and note.is_error and "arguments.a is nan" in note.observation
    assert events[-1].answer == "3"


def _repeating_script() -> list[Any]:
    """``add(2, 3)`` twice (the second time the model already has the answer), then ``final_answer``."""
    return [
        answer(call("add", {"a": 2, "b": 3}, "c1")),
        answer(call("add", {"a": 2, "b": 3}, "c2")),
        answer(call("final_answer", {"answer": "5"}, "c3")),
    ]


@pytest.mark.parametrize("max_tokens", [None, 40])
def test_a_forced_final_answer_is_bounded_text_with_the_results_in_front_of_the_model(recorder, max_tokens) -> None:
    """Calls forced by constrained decoding (a local model): the built-in final_answer's ``answer``
    is bounded text (an untyped one lets a grammar accept any JSON, and SmolLM2 nested
    ``{"answer": {"answer": ...`` for 1024 tokens); the forced final call gets the last results and
    the task as its last message, and at most FINAL_MAX_TOKENS tokens unless max_tokens is given."""
    from modelplug.agents.agent import FINAL_MAX_TOKENS
    from modelplug.agents.tools import MAX_FORCED_ANSWER_CHARS

    model, provider = recorder(_repeating_script(), forced_tool_choice=True)
    options = {} if max_tokens is None else {"max_tokens": max_tokens}
    agent = ToolCallingAgent(model, [add], generation_options=options)
    assert agent.run("What is 2 + 3?") == "5"
    (first, first_options), (_, second_options), (last, last_options) = provider.requests
    assert first_options.tool_choice == second_options.tool_choice == "required"
    assert last_options.tool_choice == {"type": "function", "function": {"name": "final_answer"}}
    assert (first_options.max_tokens, last_options.max_tokens) == (max_tokens, max_tokens or FINAL_MAX_TOKENS)
    for request in (first_options, last_options):
        [offered] = [t for t in request.tools if t.name == "final_answer"]
        schema = offered.parameters["properties"]["answer"]
        assert schema["type"] == "string" and schema["maxLength"] == MAX_FORCED_ANSWER_CHARS
    assert last[-1].role == "user" and "add: 5" in last[-1].text and last[-1].text.endswith("What is 2 + 3?")
    assert len(last) == len(first) + 5  # the two steps (call, result each), then the reminder


def test_only_the_built_in_final_answer_is_retyped_and_only_when_calls_are_forced(recorder) -> None:
    @tool(name="final_answer")
    def mine(answer: int) -> int:
        """Give the answer.

        Args:
            answer: a number.
        """
        return answer

    model, _ = recorder(_repeating_script(), forced_tool_choice=True)
    assert ToolCallingAgent(model, [add, mine]).tools["final_answer"] is mine
    free, _ = recorder(_repeating_script())
    untyped = ToolCallingAgent(free, [add]).tools["final_answer"].tool.parameters["properties"]["answer"]
    assert "type" not in untyped


@needs_toolcalls
@pytest.mark.parametrize("stream_outputs", [True, False])
def test_an_unreadable_call_keeps_the_usage_of_the_answer(replay, stream_outputs: bool) -> None:
    """Nothing received is lost: generate()'s ToolCallParseError carries the whole answer, whose
    usage the step keeps (as the streamed route does)."""
    bad = [
        {"choices": [{"delta": {"content": "<tool_call>{bad json</tool_call>"}}]},
        {"choices": [{"delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}},
    ]
    good = '<tool_call>{"name": "final_answer", "arguments": {"answer": "fixed"}}</tool_call>'
    model = replay([bad, good], capabilities={"tool_calling": "text"})
    agent = ToolCallingAgent(model, [add], stream_outputs=stream_outputs)
    list(agent.run("Go.", stream=True))
    first = agent.memory.action_steps[0].message
    assert "{bad json" in first.text
    assert first.usage is not None and (first.usage.prompt_tokens, first.usage.completion_tokens) == (9, 4)
