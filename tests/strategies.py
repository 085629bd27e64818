"""Hypothesis strategies shared by the core tests."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from modelplug.types import ChatMessageStreamDelta, ToolCallDelta, Usage

__all__ = ["json_objects", "rechunk", "splits", "streams"]

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
