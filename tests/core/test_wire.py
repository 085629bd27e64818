"""Conversion to and from chat-completions wire dicts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.conftest import DATA

from modelplug import ChatMessage, ChatMessageStreamDelta, ToolCall, ToolCallDelta, Usage, aggregate_chunks
from modelplug.errors import InvalidOptionError
from modelplug.wire import (
    delta_from_chunk,
    delta_to_chunk,
    message_from_wire,
    message_to_wire,
    response_to_message,
    usage_from_wire,
)

BEHAVIOUR = {c["id"]: c for c in json.loads((DATA / "behaviour_cases.json").read_text())}


def test_message_round_trip() -> None:
    message = ChatMessage(
        role="assistant",
        content="x",
        tool_calls=[ToolCall("c1", "f", {"a": [1, "ü"]})],
        reasoning_content="why",
    )
    wire = message_to_wire(message)
    assert wire["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": [1, "ü"]}'}}
    ]
    assert message_from_wire(wire) == message


def test_undecodable_arguments_round_trip_raw() -> None:
    call = ToolCall("c1", "f", None, raw_arguments='{"city": "New')
    assert message_to_wire(ChatMessage(tool_calls=[call]))["tool_calls"][0]["function"]["arguments"] == '{"city": "New'
    assert message_from_wire(message_to_wire(ChatMessage(tool_calls=[call]))).tool_calls[0] == call


def test_native_tool_call_arguments_are_decoded() -> None:  # behaviour case mtc-01
    case = BEHAVIOUR["mtc-01"]
    message = message_from_wire(case["input"]["message"])
    assert [(c.id, c.name, c.arguments) for c in message.tool_calls] == [
        (t["id"], t["name"], t["arguments"]) for t in case["expected"]["tool_calls"]
    ]


def test_tool_message_keeps_its_call_id() -> None:
    message = message_from_wire({"role": "tool", "tool_call_id": "c1", "content": "42"})
    assert message.tool_call_id == "c1"
    assert message_to_wire(message) == {"role": "tool", "content": "42", "tool_call_id": "c1"}


def test_list_content_is_kept() -> None:
    parts = [
        {"type": "text", "text": "a"},
        {"type": "image_url", "image_url": {"url": "data:,"}},
        {"type": "text", "text": "b"},
    ]
    message = message_from_wire({"role": "user", "content": parts})
    assert message.content == parts and message.text == "ab"


def test_response_without_usage() -> None:  # behaviour case gen-01
    case = BEHAVIOUR["gen-01"]
    message = response_to_message(case["input"]["response"])
    assert message.content == "Hi there" and message.tool_calls == () and message.usage is None


def test_response_without_choices_is_a_clear_error() -> None:
    with pytest.raises(InvalidOptionError, match=r"choices\[0\].message"):
        response_to_message({"choices": []})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, None),
        ({"prompt_tokens": 10, "completion_tokens": 5}, Usage(10, 5, 15)),
        ({"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}, Usage(1, 2, 3)),
    ],
)
def test_usage_from_wire(data: dict[str, Any] | None, expected: Usage | None) -> None:
    assert usage_from_wire(data) == expected


def test_delta_round_trips_through_a_chunk() -> None:
    delta = ChatMessageStreamDelta(
        content="c",
        reasoning_content="r",
        tool_calls=[ToolCallDelta(0, "id", "f", '{"a"'), ToolCallDelta(1, arguments="}")],
        usage=Usage(1, 2),
        finish_reason="tool_calls",
    )
    assert delta_from_chunk(delta_to_chunk(delta)) == delta


def test_chunks_carrying_nothing_are_skipped() -> None:
    assert delta_from_chunk("[DONE]") is None
    assert delta_from_chunk({"choices": []}) is None
    assert delta_from_chunk({"choices": [{"index": 0, "delta": None}]}) is None
    assert delta_from_chunk({"choices": [{"index": 0, "finish_reason": None}]}) is None


def test_only_choice_zero_is_read() -> None:
    message = aggregate_chunks(
        [{"choices": [{"index": 1, "delta": {"content": "other"}}, {"index": 0, "delta": {"content": "mine"}}]}]
    )
    assert message.content == "mine"


def test_non_string_finish_reason_is_kept_as_text() -> None:
    assert delta_from_chunk({"choices": [{"delta": {}, "finish_reason": 7}]}).finish_reason == "7"  # type: ignore[union-attr]
