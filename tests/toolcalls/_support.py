"""Helpers for the tool-call parser tests: run the stream parser and merge its deltas."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import ParseResult, StreamParser, parse
from modelplug.toolcalls._source import NEED, Read, Source
from modelplug.types import ChatMessageStreamDelta
from tests.strategies import every_split

__all__ = [
    "REASONING_OPENERS",
    "Outcome",
    "check",
    "joined_arguments",
    "merge",
    "norm",
    "reasoning",
    "run_reader",
    "same",
    "stream",
    "whole",
]

#: (content, [(name, arguments)], error or None): what a parse gives, comparable across runs.
Outcome = tuple[str | None, list[tuple[str, Any]], ToolCallParseError | None]


def norm(content: str | None) -> str:
    """The fixture README's content comparison: whitespace runs collapsed, stripped; None is ""."""
    return re.sub(r"\s+", " ", content or "").strip()


def merge(deltas: Iterable[ChatMessageStreamDelta]) -> tuple[str | None, list[dict[str, Any]], str | None]:
    """Join content, merge tool-call deltas by index (id/name first seen, arguments concatenated;
    ``raw`` keeps the joined arguments text, ``arguments`` is its decoding or None if incomplete)."""
    content: list[str] = []
    reasoning: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    for delta in deltas:
        if delta.content:
            content.append(delta.content)
        if delta.reasoning_content:
            reasoning.append(delta.reasoning_content)
        for piece in delta.tool_calls:
            assert piece.index is not None
            record = calls.setdefault(piece.index, {"id": None, "name": None, "arguments": ""})
            if piece.id and record["id"] is None:
                record["id"] = piece.id
            if piece.name and record["name"] is None:
                record["name"] = piece.name
            if piece.arguments:
                record["arguments"] += piece.arguments
    assert sorted(calls) == list(range(len(calls))), "tool-call indexes must be 0, 1, 2, ..."
    merged = []
    for index in sorted(calls):
        record = calls[index]
        text = record["arguments"]
        record["raw"] = text
        try:
            record["arguments"] = json.loads(text) if text else None
        except json.JSONDecodeError:
            record["arguments"] = None  # streamed in part, never completed (an error says why)
        merged.append(record)
    return "".join(content) or None, merged, "".join(reasoning) or None


def feed_all(parser: StreamParser, pieces: Sequence[str]) -> tuple[list[ChatMessageStreamDelta], Any]:
    """Feed ``pieces`` to ``parser`` and finish it: every delta (those an error carries included)
    and the ToolCallParseError it ended with, or None."""
    deltas: list[ChatMessageStreamDelta] = []
    error = None
    for piece in pieces:
        deltas += parser.feed(piece)
    try:
        deltas += parser.finish()
    except ToolCallParseError as exc:
        error = exc
        deltas += exc.deltas  # type: ignore[attr-defined]
    return deltas, error


def stream(pieces: Sequence[str], format: str | None = None, tools: Any = None) -> Outcome:
    """Feed ``pieces`` to a StreamParser; the merged result (complete calls only) and the error."""
    deltas, error = feed_all(StreamParser(format, tools), pieces)
    content, calls, _ = merge(deltas)
    if any(c["arguments"] is None and c["raw"] for c in calls):
        assert error is not None, "a call whose arguments stopped half-way must end in an error"
    return content, [(c["name"], c["arguments"]) for c in calls if c["arguments"] is not None], error


def whole(text: str, format: str | None = None, tools: Any = None) -> Outcome:
    """``parse(text)`` as an Outcome (an error's content and recovered calls)."""
    try:
        result: ParseResult = parse(text, format, tools)
    except ToolCallParseError as exc:
        return exc.content, [(c.name, c.arguments) for c in exc.tool_calls], exc
    return result.content, [(c.name, c.arguments) for c in result.tool_calls], None


def same(a: Outcome, b: Outcome) -> bool:
    """Exactly the same content and calls, and both or neither an error."""
    return a[0] == b[0] and a[1] == b[1] and (a[2] is None) == (b[2] is None)


#: The openers of reasoning spans (``reasoning_content``), for tests that check where it goes.
REASONING_OPENERS = (
    *("<think>", "<seed:think>", "<|channel>thought", "<|channel|>analysis", "<|START_THINKING|>"),
    *("to=self<|message|>", "<|content_thinking|>"),
)


def reasoning(pieces: Sequence[str], format: str | None = None, tools: Any = None) -> str | None:
    """The reasoning a StreamParser fed ``pieces`` collects (joined deltas), errors or not; with one
    piece, what :func:`parse` reads (the same engine fed the whole text)."""
    parser = StreamParser(format, tools)
    deltas: list[ChatMessageStreamDelta] = []
    for piece in pieces:
        deltas += parser.feed(piece)
    try:
        deltas += parser.finish()
    except ToolCallParseError as exc:
        deltas += exc.deltas  # type: ignore[attr-defined]
    streamed = merge(deltas)[2]
    assert streamed == parser.result.reasoning_content, "reasoning deltas joined must equal the result"
    return streamed


def joined_arguments(pieces: Sequence[str], format: str | None = None, tools: Any = None) -> list[str]:
    """Each call's streamed argument pieces, joined, in call order."""
    parser = StreamParser(format, tools)
    joined: dict[int, str] = {}
    for delta in [d for piece in pieces for d in parser.feed(piece)] + parser.finish():
        for call in delta.tool_calls:
            assert call.index is not None
            joined[call.index] = joined.get(call.index, "") + (call.arguments or "")
    return [joined[index] for index in sorted(joined)]


def check(text: str, format: str | None, content: str | None, calls: list[tuple[str, Any]], tools: Any = None) -> None:
    """``parse(text)`` gives ``content`` and ``calls`` ((name, arguments) pairs), and streaming
    ``text`` in every way :func:`tests.strategies.every_split` cuts it gives the same, each call's
    argument pieces joining to the JSON of its final arguments."""
    result = parse(text, format, tools)
    assert [(call.name, call.arguments) for call in result.tool_calls] == calls
    assert result.content == content
    expected = whole(text, format, tools)
    final = [json.dumps(call.arguments, ensure_ascii=False) for call in result.tool_calls]
    for pieces in every_split(text):
        assert same(stream(pieces, format, tools), expected), pieces
        assert joined_arguments(pieces, format, tools) == final, pieces


def run_reader(make: Callable[[Source], Read[Any]], pieces: list[str]) -> tuple[Any, int]:
    """Run a reader step over ``pieces``; its result and the cursor's block position."""
    src = Source(pieces[0], 0, len(pieces) == 1)
    gen = make(src)
    rest = pieces[1:]
    while True:
        try:
            item = gen.send(None)
        except StopIteration as stop:
            return stop.value, src.pos
        assert item is NEED
        piece = rest.pop(0)
        src.feed(piece, not rest)
