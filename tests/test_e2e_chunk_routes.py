"""The one chunk reader on every route: dicts, client objects, aggregation, the replay provider."""

from __future__ import annotations

import copy
import json
import pickle
import sys
import threading
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import modelplug
from modelplug import errors
from modelplug._aggregation import StreamAggregator, aggregate_chunks
from modelplug.types import ChatMessage, ChatMessageStreamDelta, ToolCallDelta, Usage
from modelplug.wire import (
    attribute_getter,
    delta_from_chunk,
    delta_to_chunk,
    error_from_wire,
    message_from_wire,
    message_to_wire,
    response_to_message,
)
from tests.conftest import as_objects, load_jsonl

#: The recorded shapes, and chunks with a field of the wrong type (a broken server: MalformedChunkError).
WIRE_CASES = load_jsonl("wire_cases.jsonl") + load_jsonl("bad_chunk_cases.jsonl")
STREAM_CASES = load_jsonl("stream_cases.jsonl")


def _routes(chunks: list[Any]) -> dict[str, Any]:
    return {
        "dict": lambda: aggregate_chunks(chunks),
        "object": lambda: aggregate_chunks([as_objects(c) for c in chunks], attribute_getter),
    }


def _check(message: ChatMessage, expected: dict[str, Any]) -> None:
    assert message.content == expected["content"]
    assert message.reasoning_content == expected["reasoning_content"]
    assert message.refusal == expected["refusal"]
    assert message.finish_reason == expected["finish_reason"]
    assert [(c.name, c.arguments) for c in message.tool_calls] == [
        (c["name"], c["arguments"]) for c in expected["tool_calls"]
    ]
    for call, want in zip(message.tool_calls, expected["tool_calls"], strict=True):
        assert call.id == want["id"] if want["id"] is not None else call.id.startswith("call_")
    assert len({c.id for c in message.tool_calls}) == len(message.tool_calls)


@pytest.mark.parametrize("route", ["dict", "object"])
@pytest.mark.parametrize("case", WIRE_CASES, ids=[c["id"] for c in WIRE_CASES])
def test_wire_case_on_the_reader_routes(case: dict[str, Any], route: str) -> None:
    run = _routes(case["chunks"])[route]
    error = case.get("expected_error")
    if error is None:
        _check(run(), case["expected"])
        return
    with pytest.raises(getattr(errors, error["class"]), match=error["match"]) as raised:
        run()
    assert type(raised.value) is getattr(errors, error["class"])


@pytest.mark.parametrize("case", WIRE_CASES, ids=[c["id"] for c in WIRE_CASES])
def test_wire_case_through_the_replay_provider(case: dict[str, Any]) -> None:
    error = case.get("expected_error")
    if error is not None and error["class"] == "MalformedChunkError":
        # a script is the user's option: the replay provider refuses it at load, naming the chunk
        with pytest.raises(errors.InvalidOptionError, match=f"chunk 1: .*{error['match']}"):
            modelplug.load_model(f"replay:{case['id']}", responses=[case["chunks"]])
        return
    model = modelplug.load_model(f"replay:{case['id']}", responses=[case["chunks"]])
    stream = model.stream("Hi.")
    if error is None:
        for _ in stream:
            pass
        _check(stream.message, case["expected"])
        return
    with pytest.raises(getattr(errors, error["class"]), match=error["match"]) as raised:
        for _ in stream:
            pass
    assert type(raised.value) is getattr(errors, error["class"])
    assert (stream.message.content or None) == case["expected"]["content"]  # what arrived is kept


@pytest.mark.parametrize("case", STREAM_CASES, ids=[c["id"] for c in STREAM_CASES])
def test_every_stream_fixture_reads_the_same_as_objects(case: dict[str, Any]) -> None:
    chunks = [c for c in case["chunks"] if c != "[DONE]"]
    for chunk in chunks:
        assert delta_from_chunk(as_objects(chunk), attribute_getter) == delta_from_chunk(chunk), chunk
    dict_message = aggregate_chunks(case["chunks"])
    object_message = aggregate_chunks([as_objects(c) for c in chunks], attribute_getter)
    assert attrs.evolve(object_message, tool_calls=()) == attrs.evolve(dict_message, tool_calls=())
    assert [(c.name, c.arguments, c.raw_arguments) for c in object_message.tool_calls] == [
        (c.name, c.arguments, c.raw_arguments) for c in dict_message.tool_calls
    ]


# -- generated chunks of every shape: the dict and object routes agree field for field --

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-100, 100) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=5,
)
_parts = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _text),
    st.builds(lambda t: {"type": "thinking", "thinking": t}, _text),
    st.builds(lambda t: {"type": "reasoning", "summary": [{"type": "summary_text", "text": t}]}, _text),
    st.builds(lambda t: {"type": "thinking", "thinking": [{"type": "text", "text": t}]}, _text),
    st.builds(lambda t: {"type": "refusal", "refusal": t}, _text),
    st.builds(lambda t, v: {"type": "image_url", "image_url": {"url": t, "detail": v}}, _text, _json_values),
)
_arguments = st.none() | _text | st.dictionaries(_text, _json_values, max_size=3)
_calls = st.lists(
    st.fixed_dictionaries(
        {"index": st.integers(0, 3), "function": st.fixed_dictionaries({"name": _text, "arguments": _arguments})},
        optional={"id": _text, "type": st.just("function")},
    ),
    max_size=3,
)
_deltas = st.fixed_dictionaries(
    {},
    optional={
        "role": st.just("assistant"),
        "content": st.none() | _text | st.lists(_parts, max_size=4),
        "reasoning_content": st.none() | _text,
        "reasoning": st.none() | _text,
        "refusal": st.none() | _text,
        "tool_calls": st.none() | _calls | _calls.filter(bool).map(lambda calls: calls[0]),
        "function_call": st.none() | st.fixed_dictionaries({"name": _text, "arguments": _arguments}),
    },
)
_usage = st.none() | st.fixed_dictionaries(
    {"prompt_tokens": st.integers(0, 99), "completion_tokens": st.integers(0, 99)},
    optional={"total_tokens": st.integers(0, 999)},
)
_choice_chunks = st.fixed_dictionaries(
    {
        "choices": st.lists(
            st.fixed_dictionaries(
                {"delta": _deltas},
                optional={
                    "index": st.integers(0, 1),
                    "finish_reason": st.none() | st.sampled_from(["stop", "length", "tool_calls", "eos_token", ""]),
                },
            ),
            max_size=2,
        )
    },
    optional={"usage": _usage, "model": _text},
)
_chunks = st.one_of(
    _choice_chunks,
    st.builds(lambda m: {"choices": [], "error": {"message": m, "type": "server_error"}}, _text),
    st.builds(lambda m: {"error": m, "error_type": "validation"}, _text),
)


def _read(chunk: Any, get: Any = None) -> Any:
    try:
        return delta_from_chunk(chunk, get)
    except errors.ModelplugError as error:
        return (type(error), str(error).split(": got ")[0])


@given(_chunks)
def test_generated_chunks_give_the_same_delta_on_the_dict_and_object_routes(chunk: dict[str, Any]) -> None:
    assert _read(as_objects(chunk), attribute_getter) == _read(chunk)


@given(st.lists(_choice_chunks, max_size=6))
def test_generated_streams_aggregate_the_same_on_both_routes(chunks: list[dict[str, Any]]) -> None:
    def run(get: Any, items: list[Any]) -> Any:
        try:
            message = aggregate_chunks(items, get)
        except errors.ModelplugError as error:
            return type(error)
        return attrs.evolve(message, tool_calls=()), [
            (c.name, c.raw_arguments, c.arguments) for c in message.tool_calls
        ]

    assert run(attribute_getter, [as_objects(c) for c in chunks]) == run(None, chunks)


# -- each kind of fault, directly --


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_refusal_reads_writes_and_round_trips() -> None:
    delta = delta_from_chunk(_chunk({"refusal": "No."}))
    assert delta == ChatMessageStreamDelta(refusal="No.")
    assert delta_from_chunk(delta_to_chunk(delta)) == delta
    message = message_from_wire({"role": "assistant", "content": None, "refusal": "No."})
    assert message.refusal == "No." and message_to_wire(message)["refusal"] == "No."
    assert response_to_message({"choices": [{"message": {"content": None, "refusal": "No."}}]}).refusal == "No."


def test_content_parts_are_sorted_and_unknown_parts_kept_in_responses_too() -> None:
    image = {"type": "image_url", "image_url": {"url": "u"}}
    content = [{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "A"}, image]
    delta = delta_from_chunk(_chunk({"content": content}))
    assert delta == ChatMessageStreamDelta(content="A", reasoning_content="hm", content_parts=(image,))
    assert delta_from_chunk(delta_to_chunk(delta)) == delta
    message = response_to_message({"choices": [{"message": {"content": content}}]})
    assert message.content == [{"type": "text", "text": "A"}, image] and message.reasoning_content == "hm"


def test_a_thinking_part_without_text_is_kept_not_dropped() -> None:
    redacted = {"type": "thinking", "signature": "abc"}
    assert delta_from_chunk(_chunk({"content": [redacted]})) == ChatMessageStreamDelta(content_parts=(redacted,))


@pytest.mark.parametrize("arguments", [{"a": [1, {"b": None}]}, {}])
def test_object_arguments_are_encoded_once(arguments: dict[str, Any]) -> None:
    chunk = _chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": arguments}}]})
    for route in (delta_from_chunk(chunk), delta_from_chunk(as_objects(chunk), attribute_getter)):
        assert route is not None and json.loads(route.tool_calls[0].arguments or "") == arguments
    assert aggregate_chunks([chunk]).tool_calls[0].arguments == arguments


def test_legacy_function_call_in_a_response_is_one_tool_call() -> None:
    response = {"choices": [{"message": {"content": None, "function_call": {"name": "f", "arguments": '{"x": 1}'}}}]}
    (call,) = response_to_message(response).tool_calls
    assert (call.name, call.arguments) == ("f", {"x": 1}) and call.id.startswith("call_")


def test_a_repeated_name_without_arguments_does_not_start_a_call() -> None:
    fragments = [
        ToolCallDelta(index=0, name="f", arguments='{"a": 1}'),
        ToolCallDelta(index=0, name="f"),  # some servers repeat the name on the last fragment
    ]
    aggregator = StreamAggregator()
    aggregator.add(ChatMessageStreamDelta(tool_calls=fragments))
    assert [c.arguments for c in aggregator.message.tool_calls] == [{"a": 1}]


def test_a_call_whose_arguments_are_incomplete_is_continued_not_split() -> None:
    aggregator = StreamAggregator()
    aggregator.add(ChatMessageStreamDelta(tool_calls=[ToolCallDelta(index=0, name="f", arguments='{"a": ')]))
    aggregator.add(ChatMessageStreamDelta(tool_calls=[ToolCallDelta(index=0, name="f", arguments="1}")]))
    assert [c.arguments for c in aggregator.message.tool_calls] == [{"a": 1}]


@pytest.mark.parametrize(
    ("data", "status", "cls"),
    [
        ({"error": {"message": "bad schema", "type": "invalid_request_error"}}, None, errors.BadRequestError),
        ({"object": "error", "message": "bad", "type": "BadRequestError", "code": 400}, None, errors.BadRequestError),
        ({"error": "Input validation error: top_p", "error_type": "validation"}, None, errors.BadRequestError),
        ({"error": "Model is overloaded", "error_type": "overloaded"}, None, errors.ServerError),
        ({"error": {"message": "Overloaded", "type": "overloaded_error"}}, None, errors.ServerError),
        ({"error": {"message": "boom", "code": 503}}, None, errors.ServerError),
        ({"error": {"message": "slow", "type": "rate_limit_error"}}, None, errors.RateLimitError),
        ({"error": {"message": "no key", "type": "authentication_error"}}, None, errors.AuthenticationError),
        ({"error": {"message": "x", "code": "context_length_exceeded"}}, None, errors.ContextLengthError),
        ({"error": {"message": "flagged", "code": "content_filter"}}, None, errors.ContentFilterError),
        ({"error": {"message": "maximum context length is 8192"}}, 400, errors.ContextLengthError),
        ({"error": {"message": "who knows"}}, None, errors.ServerError),
        ({"detail": "Not Found"}, 404, errors.BadRequestError),
        ("plain text", 502, errors.ServerError),
    ],
)
def test_error_from_wire_picks_the_class(data: Any, status: int | None, cls: type[Exception]) -> None:
    error = error_from_wire(data, status=status, provider="p")
    assert type(error) is cls
    assert error.provider == "p" and str(error).startswith("p: ")


def test_error_messages_keep_the_server_text_and_redact_secrets() -> None:
    from modelplug.secrets import register_secret

    register_secret("sk-wire-routes-secret-1234")
    error = error_from_wire({"error": {"message": "bad key sk-wire-routes-secret-1234 given"}})
    assert "bad key" in str(error) and "sk-wire-routes-secret-1234" not in str(error)


# -- the live message: a snapshot view, O(1) to read, thread-safe --


def test_the_message_is_a_snapshot_that_later_deltas_do_not_change() -> None:
    aggregator = StreamAggregator()
    aggregator.add(ChatMessageStreamDelta(content="a", tool_calls=[ToolCallDelta(index=0, name="f", arguments="{")]))
    first = aggregator.message
    aggregator.add(ChatMessageStreamDelta(content="b", tool_calls=[ToolCallDelta(index=0, arguments="}")]))
    second = aggregator.message
    assert (first.content, first.tool_calls[0].raw_arguments) == ("a", "{")
    assert (second.content, second.tool_calls[0].arguments) == ("ab", {})
    assert first.tool_calls[0].id == second.tool_calls[0].id
    assert first.content == "a"  # an older snapshot read after a newer one
    plain = ChatMessage(content="ab", tool_calls=second.tool_calls, finish_reason=None)
    assert second == plain and plain == second and repr(second) == repr(plain)
    for same in (copy.copy(second), copy.deepcopy(second), pickle.loads(pickle.dumps(second))):
        assert type(same) is ChatMessage and same == second
    assert type(attrs.evolve(second, content="x")) is ChatMessage
    assert message_to_wire(second)["content"] == "ab"


def test_a_reader_thread_never_loses_a_piece() -> None:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        aggregator = StreamAggregator()
        pieces = [f"<{i}>" for i in range(4000)]
        seen: list[tuple[str, str, str]] = []
        done = threading.Event()

        def read() -> None:
            while not done.is_set():
                message = aggregator.message
                seen.append(
                    (
                        message.content or "",
                        message.reasoning_content or "",
                        message.tool_calls[0].raw_arguments
                        if message.tool_calls and message.tool_calls[0].raw_arguments
                        else "",
                    )
                )

        reader = threading.Thread(target=read)
        reader.start()
        for piece in pieces:
            aggregator.add(
                ChatMessageStreamDelta(
                    content=piece,
                    reasoning_content=piece,
                    tool_calls=[ToolCallDelta(index=0, name="f", arguments=piece)],
                )
            )
        done.set()
        reader.join()
    finally:
        sys.setswitchinterval(interval)
    whole = "".join(pieces)
    assert len(seen) > 10
    for content, reasoning, arguments in seen:  # each snapshot is a prefix of the whole, never a gap
        assert whole.startswith(content) and whole.startswith(reasoning) and whole.startswith(arguments)
    final = aggregator.message
    assert final.content == final.reasoning_content == final.tool_calls[0].raw_arguments == whole


def test_a_snapshot_read_while_a_delta_is_folded_is_not_kept_as_the_final_message() -> None:
    # the interleaving the threaded test above hits rarely, made certain: another thread reads
    # .message while add() is between taking the delta and storing its text
    aggregator = StreamAggregator()
    aggregator.add(ChatMessageStreamDelta(content="a"))

    class ReadWhileAppending(list[str]):
        def append(self, piece: str) -> None:
            assert aggregator.message.content == "a"  # the reader's snapshot, without the piece
            super().append(piece)

    aggregator._content.parts = ReadWhileAppending(aggregator._content.parts)
    aggregator.add(ChatMessageStreamDelta(content="b"))
    assert aggregator.message.content == "ab"


def test_usage_of_a_client_object_is_read_like_a_dict() -> None:
    chunk = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
    assert delta_from_chunk(as_objects(chunk), attribute_getter) == ChatMessageStreamDelta(usage=Usage(3, 4))
