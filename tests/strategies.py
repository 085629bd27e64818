"""Hypothesis strategies shared by the core tests."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from modelplug.types import ChatMessageStreamDelta, ToolCallDelta, Usage

__all__ = ["json_objects", "near_common_chunks", "rechunk", "splits", "streams"]

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), text)
json_objects = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.recursive(
        json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6
    ),
    max_size=4,
)


@st.composite
def splits(draw: st.DrawFn, value: str) -> list[str]:
    """``value`` cut into pieces at arbitrary points (possibly in the middle of an escape)."""
    if not value:
        return []
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(value) - 1)), max_size=min(12, len(value)))))
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(value[start:cut])
        start = cut
    pieces.append(value[start:])
    return [p for p in pieces if p]


@st.composite
def streams(draw: st.DrawFn) -> dict[str, Any]:
    """An expected message (content, reasoning, calls, usage) — the ground truth a stream must aggregate to."""
    calls = draw(st.lists(st.tuples(st.from_regex(r"[a-z_]{1,10}", fullmatch=True), json_objects), max_size=3))
    return {
        "content": draw(st.one_of(st.none(), st.text(min_size=1, max_size=80))),
        "reasoning": draw(st.one_of(st.none(), st.text(min_size=1, max_size=40))),
        "calls": [(f"call_{i}", name, args) for i, (name, args) in enumerate(calls)],
        "usage": draw(st.one_of(st.none(), st.tuples(st.integers(0, 5000), st.integers(1, 5000)))),
    }


@st.composite
def rechunk(draw: st.DrawFn, expected: dict[str, Any], cumulative_usage: bool = False) -> list[ChatMessageStreamDelta]:
    """One of the many delta sequences that carry ``expected``: every string split at random
    points, fragments interleaved in a random order that keeps each field's own order."""
    queues: list[list[ChatMessageStreamDelta]] = []
    if expected["content"]:
        queues.append([ChatMessageStreamDelta(content=p) for p in draw(splits(expected["content"]))])
    if expected["reasoning"]:
        queues.append([ChatMessageStreamDelta(reasoning_content=p) for p in draw(splits(expected["reasoning"]))])
    for index, (call_id, name, args) in enumerate(expected["calls"]):
        raw = json.dumps(args)
        pieces = draw(splits(raw))
        first = ToolCallDelta(index=index, id=call_id, name=name, arguments=pieces[0] if pieces else None)
        queue = [ChatMessageStreamDelta(tool_calls=(first,))]
        queue += [ChatMessageStreamDelta(tool_calls=(ToolCallDelta(index=index, arguments=p),)) for p in pieces[1:]]
        queues.append(queue)
    deltas: list[ChatMessageStreamDelta] = []
    while any(queues):
        live = [q for q in queues if q]
        deltas.append(draw(st.sampled_from(live)).pop(0))
    if expected["usage"] is not None:
        prompt, completion = expected["usage"]
        if cumulative_usage:
            # cumulative snapshots: growing completion counts, the last one is the truth
            steps = sorted(draw(st.lists(st.integers(0, completion), max_size=4)))
            for count in steps:
                position = draw(st.integers(0, len(deltas)))
                deltas.insert(position, ChatMessageStreamDelta(usage=Usage(prompt, count)))
        deltas.append(ChatMessageStreamDelta(usage=Usage(prompt, completion)))
    return deltas


# -- chunk dicts of the common shapes, and their near misses (wire.delta_from_chunk's fast path) --

_odd = st.sampled_from([None, "", 0, 1, -1, True, 1.0, "0", " 1", [], {}, ["x"], {"x": 1}])
_short_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6)
_fragment = st.fixed_dictionaries(
    {},
    optional={
        "index": st.integers(0, 2) | _odd,
        "id": _short_text | _odd,
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {}, optional={"name": _short_text | _odd, "arguments": _short_text | _odd | json_objects}
        )
        | _odd,
    },
)
_common_delta = st.fixed_dictionaries(
    {},
    optional={
        "role": st.just("assistant"),
        "content": st.none() | _short_text | _odd | st.just([{"type": "text", "text": "x"}]),
        "reasoning_content": st.none() | _short_text | _odd,
        "reasoning": st.none() | _short_text,
        "refusal": st.none() | _short_text | _odd,
        "tool_calls": st.lists(_fragment, max_size=2) | _fragment | _odd,
        "function_call": st.none() | st.fixed_dictionaries({"name": _short_text, "arguments": _short_text}),
        "annotations": st.just([]),
    },
)
_choice = st.fixed_dictionaries(
    {},
    optional={
        "index": st.just(0) | _odd,
        "delta": _common_delta | _odd,
        "message": st.fixed_dictionaries({"content": _short_text}),
        "finish_reason": st.none() | st.sampled_from(["stop", "tool_calls", ""]) | _odd,
    },
)
_usage_node = st.fixed_dictionaries(
    {}, optional={"prompt_tokens": st.integers(0, 9) | _odd, "completion_tokens": st.integers(0, 9)}
)


@st.composite
def near_common_chunks(draw: st.DrawFn) -> Any:
    """A ``chat.completion.chunk`` dict, mostly one choice with a delta of one field (text, reasoning,
    refusal, one tool-call fragment), with odd values, extra fields, several or no choices, usage
    and error objects mixed in: the shapes a fast path must read exactly as the general reader."""
    chunk: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk"}
    choices = draw(st.lists(_choice, min_size=1, max_size=2) | st.just([]) | _odd)
    chunk["choices"] = choices
    if draw(st.booleans()):
        chunk["usage"] = draw(st.none() | _usage_node | _odd)
    if draw(st.integers(0, 9)) == 0:
        chunk["error"] = draw(st.just({"message": "overloaded", "type": "server_error"}) | _short_text)
    return chunk
