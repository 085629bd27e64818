"""Google Gemma's tool-call syntax: Gemma 4 (vLLM ``gemma4``)::

    <|tool_call>call:get_weather{location:<|"|>Paris, FR<|"|>,days:3}<tool_call|>

and FunctionGemma (vLLM ``functiongemma``), the same syntax with other tokens::

    <start_function_call>call:get_weather{location:<escape>Paris, FR<escape>}<end_function_call>

Keys are bare, strings are wrapped in the quote token (``<|"|>``, ``<escape>``), numbers and
``true``/``false``/``null`` are bare, objects ``{...}`` and lists ``[...]`` nest. Calls follow each
other without separators.
"""

from __future__ import annotations

import re
from typing import Any, Final

from modelplug.toolcalls._calls import Done, Header, OfferedTools, Outcome, Reject, Unusable
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._jsoncalls import BlockCalls
from modelplug.toolcalls._source import Read, Source, accept, peek, read_name, skip_ws, until, until_re

__all__ = ["FUNCTIONGEMMA_OPENER", "OPENER", "functiongemma", "gemma4", "parse_gemma_arguments"]

OPENER: Final = "<|tool_call>"
_CLOSER: Final = "<tool_call|>"
_QUOTE: Final = '<|"|>'
FUNCTIONGEMMA_OPENER: Final = "<start_function_call>"
_FG_CLOSER: Final = "<end_function_call>"
_FG_QUOTE: Final = "<escape>"
_BARE_END: Final = re.compile(r"[,}\]]")
#: How long a top-level member may grow without reading before its call stops streaming.
_MEMBER_LIMIT: Final = 1024


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


def _value(t: str, i: int, depth: int, quote: str) -> tuple[Any, int]:
    while i < len(t) and t[i].isspace():
        i += 1
    if depth > 100:
        raise GemmaSyntaxError("nesting too deep")
    if t.startswith(quote, i):
        j = t.find(quote, i + len(quote))
        if j < 0:
            raise GemmaSyntaxError("unterminated string")
        return t[i + len(quote) : j], j + len(quote)
    if t.startswith("{", i):
        return _object(t, i + 1, depth + 1, quote)
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
            item, i = _value(t, i, depth + 1, quote)
            items.append(item)
    m = _BARE_END.search(t, i)
    j = m.start() if m is not None else len(t)
    if j == i:
        raise GemmaSyntaxError("expected a value")
    return _scalar(t[i:j]), j


def _object(t: str, i: int, depth: int, quote: str, *, top: bool = False) -> tuple[dict[str, Any], int]:
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
        if t.startswith(quote, i):
            j = t.find(quote, i + len(quote))
            if j < 0:
                raise GemmaSyntaxError("unterminated key")
            key, i = t[i + len(quote) : j], j + len(quote)
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
        result[key], i = _value(t, i + 1, depth, quote)


def parse_gemma_arguments(text: str, quote: str = _QUOTE) -> dict[str, Any]:
    """The arguments between the outer braces of a Gemma call (``k:<|"|>v<|"|>,n:1``), strings
    wrapped in ``quote``. Raises GemmaSyntaxError (a ValueError) when they cannot be read."""
    return _object(text, 0, 0, quote, top=True)[0]


def _string_key(member: str, quote: str) -> str | None:
    """The key of a top-level member whose string value just opened (``member`` is its text up to and
    with the opening quote), or None when the quote opens something else (a quoted key)."""
    q = re.escape(quote)
    m = re.match(
        r"[\s,]*(?:" + q + r"(?P<quoted>.*?)" + q + r"|(?P<bare>[^:<]+?))\s*:\s*" + q + r"\Z", member, re.DOTALL
    )
    if m is None:
        return None
    key = m.group("quoted") if m.group("quoted") is not None else m.group("bare").strip()
    return key or None


def _string_value(src: Source, calls: BlockCalls, header: Header | None, key: str, quote: str) -> Read[bool]:
    """:func:`until` the closing quote of a string argument, handing out its text while it is written."""
    done = src.pos
    scan = until(src, quote)
    while True:
        try:
            item = scan.send(None)
        except StopIteration as stop:
            found: bool = stop.value
            break
        events = calls.text_piece(header, key, src.text(done, src.pos)) if src.pos > done else []
        done = src.pos
        yield events if events else item
    if found:
        yield from calls.text_piece(header, key, src.text(done, src.pos))
    return found


def _member(src: Source, calls: BlockCalls, header: Header | None, start: int, end: int, quote: str) -> Read[int]:
    """Hand out the top-level members written in ``src.text(start, end)`` once they read; returns where
    the next member starts (``start`` when they do not read yet)."""
    if header is None or not header.streaming or end <= start:
        return start
    try:
        members = parse_gemma_arguments(src.text(start, end), quote)
    except GemmaSyntaxError:
        if end - start > _MEMBER_LIMIT:  # stop trying, so that reading stays linear
            header.streaming = False
        return start
    for key, value in members.items():
        yield from calls.argument(header, key, value)
    return end


def _reader(format: str, opener: str, closer: str, quote: str) -> Reader:
    structure = re.compile(r"[{}\[\],]|" + re.escape(quote))

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(opener)
        calls = BlockCalls(ctx, format, src)
        if not (yield from accept(src, "call:")):
            return Reject(len(opener)) if peek(src) else calls.failed(f"the text ends after {opener}")
        name = yield from read_name(src)
        if not name or not (yield from accept(src, "{")):
            return calls.failed("expected a name and '{' after 'call:'") if src.eof else Reject(len(opener))
        header = calls.announce(name)
        if header is not None:
            yield header
        a = src.pos
        member = a  # where the top-level member being written starts (its arguments stream one by one)
        depth = 1
        while depth:
            m = yield from until_re(src, structure, len(quote))
            if m is None:
                calls.bad("the text ends inside the arguments", name)
                return calls.failed(calls.errors[-1])
            token = m.group()
            src.i += len(token)
            if token == quote:
                key = None
                if depth == 1 and header is not None and header.streaming:
                    if src.pos - member > _MEMBER_LIMIT:
                        header.streaming = False  # a member that does not read: stop, so that reading stays linear
                    else:
                        key = _string_key(src.text(member, src.pos), quote)
                opened = src.pos - len(quote) - a  # where the string opens in the arguments
                if key is None:
                    found = yield from until(src, quote)
                else:
                    found = yield from _string_value(src, calls, header, key, quote)
                if not found:
                    calls.bad(f"the string opened at offset {opened} of the arguments is not closed", name)
                    return calls.failed(calls.errors[-1])
                src.i += len(quote)
                if key is not None:
                    member = yield from _member(src, calls, header, member, src.pos, quote)
            elif token in "{[":
                depth += 1
            elif token == ",":
                if depth == 1:
                    member = yield from _member(src, calls, header, member, src.pos - 1, quote)
            else:
                depth -= 1
                if depth <= 1:
                    member = yield from _member(src, calls, header, member, src.pos - (1 - depth), quote)
        body = src.text(a, src.pos - 1)
        try:
            arguments = parse_gemma_arguments(body, quote)
        except GemmaSyntaxError as error:
            calls.bad(str(error), name)
            return calls.failed(calls.errors[-1])
        end = src.pos
        yield from skip_ws(src)
        closed = yield from accept(src, closer)
        yield from calls.complete(header, name, arguments)
        if calls.errors:
            return Unusable(format, calls.errors[0])
        return Done(None if closed else end, format)

    return read


#: Read one Gemma 4 call (cursor on ``<|tool_call>``).
gemma4: Final = _reader("gemma4", OPENER, _CLOSER, _QUOTE)
#: Read one FunctionGemma call (cursor on ``<start_function_call>``).
functiongemma: Final = _reader("functiongemma", FUNCTIONGEMMA_OPENER, _FG_CLOSER, _FG_QUOTE)
