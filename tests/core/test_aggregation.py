"""Aggregation of deltas and raw chunks: the shared real-world fixtures and property tests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import load_jsonl
from tests.strategies import json_objects, rechunk, splits, streams

from modelplug import ChatMessageStreamDelta, ToolCallDelta, Usage, aggregate, aggregate_chunks
from modelplug._aggregation import StreamAggregator, decode_arguments
from modelplug.errors import InvalidOptionError
from modelplug.wire import delta_from_chunk

STREAM_CASES = load_jsonl("stream_cases.jsonl")
BEHAVIOUR = json.loads((__import__("tests.conftest").conftest.DATA / "behaviour_cases.json").read_text())
AGGREGATE_CASES = [c for c in BEHAVIOUR if c["kind"] in ("aggregate_stream", "aggregate_deltas")]


def _usage(data: dict[str, int] | None) -> Usage | None:
    if data is None:
        return None
    prompt = data.get("prompt_tokens", data.get("input_tokens", 0))
    completion = data.get("completion_tokens", data.get("output_tokens", 0))
    return Usage(prompt, completion, data.get("total_tokens", prompt + completion))


@pytest.mark.parametrize("case", STREAM_CASES, ids=[c["id"] for c in STREAM_CASES])
def test_stream_fixture(case: dict[str, Any]) -> None:
    message = aggregate_chunks(case["chunks"])
    expected = case["expected"]
    assert message.content == expected["content"]
    assert message.reasoning_content == expected["reasoning_content"]
    assert message.finish_reason == expected["finish_reason"]
    assert message.usage == _usage(expected["usage"])
    assert len(message.tool_calls) == len(expected["tool_calls"])
    for call, want in zip(message.tool_calls, expected["tool_calls"], strict=True):
        assert call.name == want["name"]
        assert call.arguments == want["arguments"]
        assert call.raw_arguments == want.get("raw_arguments")
        if want["id"] is not None:
            assert call.id == want["id"]
        else:
            assert call.id.startswith("call_")  # minted


@pytest.mark.parametrize("case", AGGREGATE_CASES, ids=[c["id"] for c in AGGREGATE_CASES])
def test_behaviour_case(case: dict[str, Any]) -> None:
    if case["kind"] == "aggregate_deltas":
        message = aggregate(delta_from_chunk({"choices": [{"delta": d}]}) for d in case["input"]["deltas"])
    else:
        message = aggregate_chunks(case["input"]["chunks"])
    expected = case["expected"]
    assert (message.content or "") == expected["content"]
    assert len(message.tool_calls) == len(expected["tool_calls"])
    for call, want in zip(message.tool_calls, expected["tool_calls"], strict=True):
        assert call.name == want["name"]
        assert call.arguments == json.loads(want["arguments"])
        if "id" in want:
            assert call.id == want["id"]
    usage = expected.get("usage")
    if usage and usage["total_tokens"]:
        assert message.usage == _usage(usage)
    else:
        assert message.usage is None  # "unknown" rather than invented zeros


def test_reasoning_never_leaks_into_content() -> None:
    message = aggregate_chunks(
        [
            {"choices": [{"delta": {"reasoning": "think "}}]},
            {"choices": [{"delta": {"reasoning_content": "more"}}]},
            {"choices": [{"delta": {"content": "answer"}}]},
        ]
    )
    assert message.reasoning_content == "think more"
    assert message.content == "answer"


def test_new_id_with_name_on_used_index_starts_a_new_call() -> None:
    deltas = [
        ChatMessageStreamDelta(tool_calls=[ToolCallDelta(0, "a", "f", '{"x": 1}')]),
        ChatMessageStreamDelta(tool_calls=[ToolCallDelta(0, "b", "g", '{"y": 2}')]),
    ]
    message = aggregate(deltas)
    assert [(c.id, c.name, c.arguments) for c in message.tool_calls] == [("a", "f", {"x": 1}), ("b", "g", {"y": 2})]


def test_indexless_fragments_continue_the_current_call_until_a_new_id() -> None:
    deltas = [
        ChatMessageStreamDelta(tool_calls=[ToolCallDelta(None, "a", "f", '{"x"')]),
        ChatMessageStreamDelta(tool_calls=[ToolCallDelta(None, None, None, ": 1}")]),
        ChatMessageStreamDelta(tool_calls=[ToolCallDelta(None, "b", "g", "{}")]),
    ]
    assert [(c.id, c.arguments) for c in aggregate(deltas).tool_calls] == [("a", {"x": 1}), ("b", {})]


def test_indices_are_sorted_and_compacted() -> None:
    deltas = [
        ChatMessageStreamDelta(tool_calls=[ToolCallDelta(5, "b", "g", "{}")]),
        ChatMessageStreamDelta(tool_calls=[ToolCallDelta(2, "a", "f", "{}")]),
    ]
    assert [c.id for c in aggregate(deltas).tool_calls] == ["a", "b"]


def test_minted_ids_are_stable_across_reads() -> None:
    aggregator = StreamAggregator()
    aggregator.add(ChatMessageStreamDelta(tool_calls=[ToolCallDelta(0, None, "f", "{")]))
    first = aggregator.message.tool_calls[0].id
    aggregator.add(ChatMessageStreamDelta(tool_calls=[ToolCallDelta(0, None, None, "}")]))
    assert aggregator.message.tool_calls[0].id == first
    assert aggregator.message.tool_calls[0].arguments == {}


def test_message_on_a_live_stream_reflects_each_delta() -> None:
    aggregator = StreamAggregator()
    seen = []
    for piece in ["a", "b", "c"]:
        aggregator.add(ChatMessageStreamDelta(content=piece))
        seen.append(aggregator.message.content)
    assert seen == ["a", "ab", "abc"]
    assert aggregator.message is aggregator.message  # cached until the next delta


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ("  ", {}),
        ('{"a": 1}', {"a": 1}),
        ('"{\\"a\\": 1}"', {"a": 1}),
        ('{"a": ', None),
        ("[1]", None),
        ("3", None),
    ],
)
def test_decode_arguments(raw: str, expected: dict[str, Any] | None) -> None:
    assert decode_arguments(raw) == expected


def test_bad_chunk_is_a_clear_error() -> None:
    with pytest.raises(InvalidOptionError, match="dict or '\\[DONE\\]'"):
        aggregate_chunks(["not a chunk"])
    with pytest.raises(InvalidOptionError, match="list"):
        aggregate_chunks([["list"]])


@given(streams().flatmap(lambda expected: st.tuples(st.just(expected), rechunk(expected))))
def test_any_rechunking_aggregates_to_the_same_message(
    case: tuple[dict[str, Any], list[ChatMessageStreamDelta]],
) -> None:
    expected, deltas = case
    message = aggregate(deltas)
    assert message.content == expected["content"]
    assert message.reasoning_content == expected["reasoning"]
    assert [(c.id, c.name, c.arguments) for c in message.tool_calls] == expected["calls"]
    assert message.usage == (None if expected["usage"] is None else Usage(*expected["usage"]))


@given(streams().flatmap(lambda expected: st.tuples(st.just(expected), rechunk(expected, cumulative_usage=True))))
def test_cumulative_usage_is_never_double_counted(case: tuple[dict[str, Any], list[ChatMessageStreamDelta]]) -> None:
    expected, deltas = case
    usage = aggregate(deltas).usage
    assert usage == (None if expected["usage"] is None else Usage(*expected["usage"]))


@given(json_objects, st.data())
def test_arguments_split_anywhere_decode_once(arguments: dict[str, Any], data: st.DataObject) -> None:
    raw = json.dumps(arguments)  # \uXXXX escapes and surrogate pairs may be cut in the middle
    pieces = data.draw(splits(raw))
    chunks = [{"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f"}}]}}]}]
    chunks += [{"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": p}}]}}]} for p in pieces]
    assert aggregate_chunks(chunks).tool_calls[0].arguments == arguments


@pytest.mark.parametrize(
    ("delta", "field"),
    [
        (ChatMessageStreamDelta(content=5), "delta.content"),  # type: ignore[arg-type]  # came out as content=5
        (ChatMessageStreamDelta(reasoning_content=["x"]), "delta.reasoning_content"),  # type: ignore[arg-type]
        (ChatMessageStreamDelta(usage={"prompt_tokens": 1}), "delta.usage"),  # type: ignore[arg-type]
        (ChatMessageStreamDelta(finish_reason=5), "delta.finish_reason"),  # type: ignore[arg-type]
        (ChatMessageStreamDelta(tool_calls=["ab"]), r"delta.tool_calls\[\] must be"),  # type: ignore[list-item]
        (ChatMessageStreamDelta(tool_calls=[ToolCallDelta(index="x")]), r"tool_calls\[\].index"),  # type: ignore[arg-type]
        (ChatMessageStreamDelta(tool_calls=[ToolCallDelta(0, arguments={"a": 1})]), r"tool_calls\[\].arguments"),  # type: ignore[arg-type]
        (ChatMessageStreamDelta(tool_calls=[ToolCallDelta(0, name=5)]), r"tool_calls\[\].name"),  # type: ignore[arg-type]
    ],
)
def test_deltas_with_fields_of_the_wrong_type_are_named_errors(delta: ChatMessageStreamDelta, field: str) -> None:
    # Were kept as they came (a ChatMessage with content=5 or usage={...}) or raised a bare
    # TypeError/AttributeError (an index 'x' beside 0, dict arguments, a string fragment).
    start = ChatMessageStreamDelta(content="ok", tool_calls=[ToolCallDelta(0, "c", "f")])
    with pytest.raises(InvalidOptionError, match=field):
        aggregate([start, delta])
