"""The events of an agent run and their JSON form (:mod:`modelplug.agents.events`): a real run's
events as JSON lines, and each kind of field in its plain-dict form."""

from __future__ import annotations

import json
from typing import Any

from tests.agents.conftest import add, two_step_script

from modelplug.agents import FinalAnswer, ModelDelta, ToolCallComplete, ToolCallingAgent, ToolResult, event_to_dict
from modelplug.types import ChatMessageStreamDelta, ToolCall, ToolCallDelta, Usage


def test_every_event_has_a_json_form(replay) -> None:
    script_with_plan = ["Plan: add.", *two_step_script()]
    agent = ToolCallingAgent(replay(script_with_plan), [add], stream_outputs=True, planning_interval=5)
    lines = [json.dumps(event_to_dict(e)) for e in agent.run("2 + 3?", stream=True)]
    types = [json.loads(line)["type"] for line in lines]
    assert types[0] == "step_start" and types[-1] == "final_answer"
    assert {"model_delta", "model_output", "tool_call", "tool_result", "action_step", "planning_step"} <= set(types)
    output = [d for d in map(json.loads, lines) if d["type"] == "model_output"][1]  # [0] is the plan
    assert output["message"]["tool_calls"][0]["id"] == "call_1"
    assert output["message"]["usage"] == {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
    final = json.loads(lines[-1])
    assert final == {
        "type": "final_answer",
        "answer": "5",
        "step_number": 2,
        "usage": {"prompt_tokens": 230, "completion_tokens": 17, "total_tokens": 247},
        "cost": None,  # a scripted provider has no price
    }


def test_a_delta_keeps_only_the_fields_it_carries() -> None:
    delta = ChatMessageStreamDelta(
        tool_calls=(ToolCallDelta(index=0, id="c1", name="add"), ToolCallDelta(index=0, arguments='{"a": 2')),
        usage=Usage(4, 1),
        finish_reason="tool_calls",
    )
    assert event_to_dict(ModelDelta(1, "action", delta)) == {
        "type": "model_delta",
        "step_number": 1,
        "kind": "action",
        "delta": {
            "tool_calls": [{"index": 0, "id": "c1", "name": "add"}, {"index": 0, "arguments": '{"a": 2'}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5},
            "finish_reason": "tool_calls",
        },
    }
    assert event_to_dict(ModelDelta(2, "planning", ChatMessageStreamDelta(reasoning_content="hm")))["delta"] == {
        "reasoning_content": "hm"
    }


def test_a_call_whose_arguments_could_not_be_read_keeps_the_raw_text() -> None:
    read = ToolCall(id="c1", name="add", arguments={"a": 2, "b": 3})
    unread = ToolCall(id="c2", name="add", arguments=None, raw_arguments='{"a": 2,')
    expected = {"id": "c1", "name": "add", "arguments": {"a": 2, "b": 3}}
    assert event_to_dict(ToolCallComplete(1, read))["tool_call"] == expected
    result = event_to_dict(ToolResult(1, unread, "the arguments are not JSON", is_error=True))
    assert result["tool_call"] == {"id": "c2", "name": "add", "arguments": None, "raw_arguments": '{"a": 2,'}
    assert result["is_error"] is True and result["observation"] == "the arguments are not JSON"


class Point:
    def __repr__(self) -> str:
        return "Point(1, 2)"


def test_a_final_answer_that_is_not_json_is_its_repr_and_the_line_stays_json() -> None:
    answer: Any = {"points": [Point(), (1.5, None)], 3: "three"}
    data = event_to_dict(FinalAnswer(answer, 2, None))
    assert data["answer"] == {"points": ["Point(1, 2)", [1.5, None]], "3": "three"}
    assert json.loads(json.dumps(data)) == data
