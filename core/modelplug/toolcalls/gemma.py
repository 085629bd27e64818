"""Google Gemma 4's tool-call syntax (vLLM ``gemma4``)::

    <|tool_call>call:get_weather{location:<|"|>Paris, FR<|"|>,days:3}<tool_call|>

Keys are bare, strings are wrapped in the ``<|"|>`` token, numbers and ``true``/``false``/``null``
are bare, objects ``{...}`` and lists ``[...]`` nest. Calls follow each other without separators.
"""

from __future__ import annotations

import re
from typing import Any, Final

from modelplug.toolcalls._calls import Done, Error, OfferedTools, Outcome, Reject
from modelplug.toolcalls._jsoncalls import BlockCalls
from modelplug.toolcalls._source import Read, Source, accept, peek, read_name, skip_ws, until, until_re

__all__ = ["OPENER", "gemma4", "parse_gemma_arguments"]

OPENER: Final = "<|tool_call>"
_CLOSER: Final = "<tool_call|>"
_QUOTE: Final = '<|"|>'
_STRUCTURE: Final = re.compile(r'[{}\[\]]|<\|"\|>')
_BARE_END: Final = re.compile(r"[,}\]]")


class GemmaSyntaxError(ValueError):
    """Gemma 4 arguments that cannot be read."""


def _scalar(text: str) -> Any:
    value = text.strip()
    if value == "true":
        return True
    if value == "false":
        return False
    if value in ("null", "none", "None"):
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def _value(t: str, i: int, depth: int) -> tuple[Any, int]:
    while i < len(t) and t[i].isspace():
        i += 1
    if depth > 100:
        raise GemmaSyntaxError("nesting too deep")
    if t.startswith(_QUOTE, i):
        j = t.find(_QUOTE, i + len(_QUOTE))
        if j < 0:
            raise GemmaSyntaxError("unterminated string")
        return t[i + len(_QUOTE) : j], j + len(_QUOTE)
    if t.startswith("{", i):
        return _object(t, i + 1, depth + 1)
    if t.startswith("[", i):
        items: list[Any] = []
        i += 1
        while True:
            while i < len(t) and (t[i].isspace() or t[i] == ","):
                i += 1
            if i >= len(t):
                raise GemmaSyntaxError("unterminated list")
            if t[i] == "]":
                return items, i + 1
            item, i = _value(t, i, depth + 1)
            items.append(item)
    m = _BARE_END.search(t, i)
    j = m.start() if m is not None else len(t)
    if j == i:
        raise GemmaSyntaxError("expected a value")
    return _scalar(t[i:j]), j


def _object(t: str, i: int, depth: int, *, top: bool = False) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    while True:
        while i < len(t) and (t[i].isspace() or t[i] == ","):
            i += 1
        if i >= len(t):
            if top:
                return result, i
            raise GemmaSyntaxError("unterminated object")
        if t[i] == "}" and not top:
            return result, i + 1
        if t.startswith(_QUOTE, i):
            j = t.find(_QUOTE, i + len(_QUOTE))
            if j < 0:
                raise GemmaSyntaxError("unterminated key")
            key, i = t[i + len(_QUOTE) : j], j + len(_QUOTE)
            while i < len(t) and t[i].isspace():
                i += 1
            if not t.startswith(":", i):
                raise GemmaSyntaxError("expected ':'")
        else:
            j = t.find(":", i)
            if j < 0:
                raise GemmaSyntaxError("expected ':'")
            key, i = t[i:j].strip(), j
        if not key:
            raise GemmaSyntaxError("empty key")
        result[key], i = _value(t, i + 1, depth)


def parse_gemma_arguments(text: str) -> dict[str, Any]:
    """The arguments between the outer braces of a Gemma 4 call (``k:<|"|>v<|"|>,n:1``)."""
    return _object(text, 0, 0, top=True)[0]


def gemma4(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Read one Gemma 4 call (cursor on ``<|tool_call>``)."""
    src.i += len(OPENER)
    calls = BlockCalls(ctx, "gemma4", src)
    if not (yield from accept(src, "call:")):
        return Reject(len(OPENER)) if peek(src) else calls.failed(f"the text ends after {OPENER}")
    name = yield from read_name(src)
    if not name or not (yield from accept(src, "{")):
        return calls.failed("expected a name and '{' after 'call:'") if src.eof else Reject(len(OPENER))
    header = calls.announce(name)
    if header is not None:
        yield header
    a = src.pos
    depth = 1
    while depth:
        m = yield from until_re(src, _STRUCTURE, len(_QUOTE))
        if m is None:
            return calls.failed("the text ends inside the arguments")
        token = m.group()
        src.i += len(token)
        if token == _QUOTE:
            if not (yield from until(src, _QUOTE)):
                return calls.failed("the text ends inside a string")
            src.i += len(_QUOTE)
        elif token in "{[":
            depth += 1
        else:
            depth -= 1
    body = src.text(a, src.pos - 1)
    try:
        arguments = parse_gemma_arguments(body)
    except GemmaSyntaxError as error:
        return calls.failed(str(error))
    end = src.pos
    yield from skip_ws(src)
    closed = yield from accept(src, _CLOSER)
    yield from calls.complete(header, name, arguments)
    if calls.errors:
        return Error("gemma4", calls.errors[0])
    return Done(None if closed else end, "gemma4")
