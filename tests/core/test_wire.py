"""Conversion to and from chat-completions wire dicts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.conftest import DATA, as_objects

from modelplug import ChatMessage, ChatMessageStreamDelta, ToolCall, ToolCallDelta, Usage, aggregate_chunks
from modelplug.errors import InvalidOptionError, MalformedChunkError, ProviderError
from modelplug.wire import (
    delta_from_chunk,
    delta_to_chunk,
    message_from_wire,
    message_to_wire,
    messages_from_input,
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


@pytest.mark.parametrize("response", [{"model": "m1", "choices": []}, {"model": "m1", "choices": [{"index": 0}]}])
def test_response_without_choices_is_a_provider_error_naming_the_model(response: dict[str, Any]) -> None:
    with pytest.raises(ProviderError, match=r"'m1' answered with no choices"):
        response_to_message(response)


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


def _chunk(delta: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta}]}


@pytest.mark.parametrize(
    ("chunk", "field"),
    [
        ({"choices": [], "usage": {"prompt_tokens": -1}}, "usage.prompt_tokens"),
        ({"choices": [], "usage": {"completion_tokens": "x"}}, "usage.completion_tokens"),
        ({"choices": [], "usage": {"total_tokens": float("nan")}}, "usage.total_tokens"),
        ({"choices": [], "usage": {"prompt_tokens": True}}, "usage.prompt_tokens"),
        ({"choices": [], "usage": [1, 2]}, "usage must be a dict"),
        ({"choices": 5}, "choices"),
        ({"choices": {"index": 0, "delta": {"content": "x"}}}, "choices"),
        ({"choices": ["x"]}, r"choices\[\]"),
        (_chunk("hi"), "delta"),
        (_chunk({"content": 5}), "delta.content"),
        (_chunk({"reasoning_content": ["x"]}), "delta.reasoning_content"),
        (_chunk({"tool_calls": 5}), "delta.tool_calls"),
        (_chunk({"tool_calls": ["x"]}), r"delta.tool_calls\[\]"),
        (_chunk({"tool_calls": [{"index": 0, "function": "f"}]}), r"tool_calls\[\].function"),
        (_chunk({"tool_calls": [{"index": 0, "function": {"name": 5}}]}), "function.name"),
        (_chunk({"tool_calls": [{"index": 0, "id": {"a": 1}, "function": {"name": "f"}}]}), r"tool_calls\[\].id"),
        (_chunk({"tool_calls": [{"index": -1, "function": {"name": "f"}}]}), r"tool_calls\[\].index"),
        (_chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": 5}}]}), "arguments"),
    ],
)
def test_chunk_fields_of_the_wrong_type_are_named_in_the_error(chunk: dict[str, Any], field: str) -> None:
    # These raised bare TypeError/AttributeError/ValueError, or were dropped without a word; then an
    # InvalidOptionError, as if the caller had passed a bad option: a server sent a bad chunk.
    with pytest.raises(MalformedChunkError, match=field):
        aggregate_chunks([chunk])


def test_tolerated_chunk_shapes() -> None:
    message = aggregate_chunks(
        [
            {"choices": [{"index": "0", "delta": {"content": [{"type": "text", "text": "hi"}]}}]},
            _chunk({"tool_calls": [{"index": "0", "id": "c1", "function": {"name": "f", "arguments": {"x": 1}}}]}),
            {"choices": [], "usage": {"prompt_tokens": 3.0, "completion_tokens": "2", "total_tokens": None}},
        ]
    )
    assert message.content == "hi"
    assert message.tool_calls == (ToolCall("c1", "f", {"x": 1}),)  # object arguments were dropped as {}
    assert message.usage == Usage(3, 2, 5)


def test_deeply_nested_arguments_are_kept_raw() -> None:
    raw = "[" * 100_000 + "]" * 100_000  # json.loads raised RecursionError
    message = aggregate_chunks(
        [_chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": raw}}]})]
    )
    assert message.tool_calls[0].arguments is None and message.tool_calls[0].raw_arguments == raw
    assert message_from_wire({"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": raw}}]})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"role": ["user"], "content": "x"}, "'role' must be a string"),
        ({"role": "user", "content": 5}, "'content' must be"),
        ({"role": "user", "content": ["a"]}, "'content' must be"),
        ({"role": "user", "content": [{"type": "text", "text": 5}]}, "'text'"),
        ({"role": "assistant", "tool_calls": "abc"}, "'tool_calls' must be a list"),
        ({"role": "assistant", "tool_calls": ["abc"]}, "a tool call must be a dict"),
        ({"role": "assistant", "tool_calls": [{"function": "f"}]}, "'function' must be a dict"),
        ({"role": "assistant", "tool_calls": [{"id": 5, "function": {"name": "f"}}]}, "'id' must be a string"),
        ({"role": "assistant", "content": "x", "usage": "abc"}, "usage must be a dict"),
        ({"role": "assistant", "content": "x", "reasoning_content": 5}, "'reasoning_content' must be a string"),
        ({"role": "tool", "content": "x", "tool_call_id": 5}, "'tool_call_id' must be a string"),
        ({"role": "user", "content": "x", "name": [1]}, "'name' must be a string"),
    ],
)
def test_message_fields_of_the_wrong_type_are_named_in_the_error(data: dict[str, Any], field: str) -> None:
    # These raised bare AttributeError, or reached the provider unchecked.
    with pytest.raises(InvalidOptionError, match=field):
        message_from_wire(data)


def test_invalid_message_error_quotes_a_huge_message_briefly() -> None:
    with pytest.raises(InvalidOptionError) as info:
        message_from_wire({"role": "wizard", "content": "x" * 1_000_000})
    assert len(str(info.value)) < 1000


def test_bytes_messages_are_a_clear_error() -> None:
    with pytest.raises(InvalidOptionError, match="not bytes"):
        messages_from_input(b"hello")  # type: ignore[arg-type]


def test_the_object_route_follows_the_dict_route_on_every_fixture_chunk() -> None:
    from modelplug.testing.http.suite import STREAM_CASES
    from modelplug.wire import attribute_getter, delta_from_chunk

    chunks = [c for case in STREAM_CASES.values() for c in case["chunks"] if c != "[DONE]"]
    assert len(chunks) > 70
    for chunk in chunks:
        assert delta_from_chunk(as_objects(chunk), attribute_getter) == delta_from_chunk(chunk), chunk


def test_chat_request_rules() -> None:
    from modelplug.types import ChatMessage, GenerationOptions
    from modelplug.wire import chat_request

    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    messages = [ChatMessage(role="user", content="Hi."), ChatMessage(content="Hello.", reasoning_content="hm")]
    plain = chat_request(messages, GenerationOptions(max_tokens=5, temperature=0.0))
    assert plain == {
        "messages": [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}],
        "max_tokens": 5,
        "temperature": 0.0,
    }
    assert "tool_choice" not in chat_request(messages, GenerationOptions(tools=[weather]))  # ck-03: server default
    assert "tool_choice" not in chat_request(messages, GenerationOptions(tools=[weather], tool_choice=None))  # ck-04
    no_tools = chat_request(messages, GenerationOptions(tool_choice="required"))  # ck-05
    assert "tools" not in no_tools and "tool_choice" not in no_tools
    forced = chat_request(messages, GenerationOptions(tools=[weather], tool_choice="required", stop=["x"]))
    assert (forced["tool_choice"], forced["stop"], forced["tools"][0]["function"]["name"]) == (
        "required",
        ["x"],
        "get_weather",
    )
    text = chat_request(messages, GenerationOptions(tools=[weather], tool_choice="required"), native_tools=False)
    assert "tools" in text and "tool_choice" not in text
