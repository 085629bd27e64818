"""An agent run on the command line's views (:mod:`modelplug.cli.agent_view`): the events of a run
as the plain transcript (on a real :class:`~modelplug.cli.plain.PlainView`) and as JSON lines.
(The live view on a terminal: ``test_agent.py``, in a pseudo-terminal.)"""

from __future__ import annotations

import io
import json

from modelplug.agents.events import (
    ActionStepEnd,
    FinalAnswer,
    MaxStepsReached,
    ModelDelta,
    ModelOutput,
    StepStart,
    ToolCallComplete,
    ToolResult,
    event_to_dict,
)
from modelplug.cli.agent_view import SHOWN_OBSERVATION_CHARS, AgentView, JsonEventsView, step_title
from modelplug.cli.plain import PlainView
from modelplug.types import ChatMessage, ChatMessageStreamDelta, ToolCall, Usage

ADD = ToolCall(id="c1", name="add", arguments={"a": 2, "b": 3})
FINAL = ToolCall(id="c2", name="final_answer", arguments={"answer": "It is 5."})
RUN = [
    StepStart(1, "action"),
    ModelDelta(1, "action", ChatMessageStreamDelta(content="Adding.")),
    ModelOutput(1, "action", ChatMessage(role="assistant", content="Adding.", tool_calls=(ADD,))),
    ToolCallComplete(1, ADD),
    ToolResult(1, ADD, "5"),
    ActionStepEnd(1, "action", Usage(10, 2), 0.1, 0.3, 1),
    MaxStepsReached(1),
    StepStart(2, "final"),
    ModelOutput(2, "final", ChatMessage(role="assistant", content="It is 5.")),  # not streamed
    ToolCallComplete(2, FINAL),
    ToolResult(2, FINAL, "It is 5."),
    FinalAnswer("It is 5.", 2, Usage(20, 4)),
]


def test_step_titles_name_the_kind_of_step() -> None:
    assert step_title(StepStart(3, "action")) == "Step 3"
    assert step_title(StepStart(2, "planning")) == "Plan (before step 2)"
    assert step_title(StepStart(4, "final"), max_steps=10) == "Final answer (step limit 10 reached)"
    assert step_title(StepStart(4, "final")) == "Final answer (step limit 3 reached)"


def test_the_plain_transcript_shows_each_step_once_and_step_statistics_on_err() -> None:
    out, err = io.StringIO(), io.StringIO()
    with AgentView(PlainView(out, err), live=False, err=err, max_steps=1) as view:
        for event in RUN:
            view.handle(event)
    assert out.getvalue().splitlines() == [
        "== Step 1 ==",
        "Adding.",
        'tool call: add {"a": 2, "b": 3}',
        "[add → observation]",
        "5",
        "[step limit]",
        "The step limit (1) is reached without an answer: asking the model for its final answer, without tools.",
        "== Final answer (step limit 1 reached) ==",
        "It is 5.",  # the message not streamed is shown whole; the final answer, the same text, not again
    ]
    assert err.getvalue() == "step 1: TTFT 0.10 s, 10 prompt + 2 completion = 12 tokens, 0.30 s\n"
    assert view.deltas == 1


def test_a_long_observation_is_cut_on_screen_and_an_error_is_titled_so() -> None:
    out = io.StringIO()
    with AgentView(PlainView(out, io.StringIO()), live=False, show_stats=False) as view:
        view.handle(ToolResult(1, ADD, "x" * (SHOWN_OBSERVATION_CHARS + 500), is_error=True))
        view.handle(ToolResult(1, None, "no tool was called"))
        view.handle(FinalAnswer({"sum": 5}, 1, None))
    title, shown, note, text, final, answer = out.getvalue().splitlines()
    assert title == "[add → error]" and shown == "x" * SHOWN_OBSERVATION_CHARS + "… [500 more characters]"
    assert (note, text) == ("[note]", "no tool was called")
    assert final == "[final answer]" and json.loads(answer) == {"sum": 5}


def test_json_events_are_one_line_per_event() -> None:
    out = io.StringIO()
    with JsonEventsView(out) as view:
        for event in RUN:
            view.handle(event)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        json.loads(json.dumps(event_to_dict(event))) for event in RUN
    ]
