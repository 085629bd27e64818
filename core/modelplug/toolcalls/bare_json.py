"""Calls written without any marker: bare JSON, JSON in a Markdown fence, bare Python lists.

- **bare_json** (small models prompted for JSON, smolagents' text tool calls): a call object
  ``{"name": "f", "arguments": {...}}``, a list of them, or either inside a ```` ```json ```` fence,
  anywhere in the text.
- **llama3_json** (Llama 3.1/3.2/3.3/4 JSON tool calling; vLLM ``llama3_json``):
  ``{"name": "f", "parameters": {...}}``, several separated by ``;``, optionally after
  ``<|python_tag|>``.
- **xlam** (Salesforce xLAM; vLLM ``xlam``): a JSON list of calls, bare, fenced, after
  ``[TOOL_CALLS]`` or inside ``<tool_call>``.

Without a marker only what is clearly a call counts: an object with a string ``name`` and an
``arguments`` or ``parameters`` object, or a list made only of such objects, naming an offered tool
when tools are given. Anything else (a JSON example, ``{braces}`` in prose, broken JSON) is content,
never an error. Text that starts like JSON is held only until the JSON is complete or cannot be.
"""

from __future__ import annotations

import re
from typing import Final

from modelplug.toolcalls._calls import OfferedTools, Outcome, Reject, decode_value
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._jsoncalls import BlockCalls, markerless_calls, recover_list
from modelplug.toolcalls._scan import ScanStatus, scan_json
from modelplug.toolcalls._source import Read, Source, accept, peek, read_run, skip_ws
from modelplug.toolcalls.pythonic import call_list

__all__ = ["brace", "bracket", "fence"]

_LANGUAGES: Final = frozenset({"", "json", "jsonc", "json5", "tool_call", "tool_calls", "tool_code"})
_LANGUAGE_RUN: Final = re.compile(r"[A-Za-z0-9_+\-]*")


def _quick(reader: Reader, pattern: str) -> Reader:
    """Attach the engine's shortcut (see :class:`~modelplug.toolcalls._engine.Table`): ``pattern``
    matches exactly where ``reader`` would give its one-character opener back as content."""
    reader.quick = re.compile(pattern)  # type: ignore[attr-defined]
    return reader


def brace(format: str) -> Reader:
    """A reader for a bare JSON call object at ``{``; a following ``;`` (Llama 3) is consumed."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        result = yield from scan_json(src)
        if result.status != ScanStatus.COMPLETE:
            return Reject(max(src.pos, 1))
        value_end = src.pos
        ok, value = decode_value(src.text(0, value_end))
        calls = BlockCalls(ctx, format, src)
        events = markerless_calls(calls, [value]) if ok and isinstance(value, dict) else None
        if events is None:
            return Reject(value_end)
        yield from events
        yield from skip_ws(src)
        if (yield from accept(src, ";")):
            return calls.outcome(None)
        return calls.outcome(value_end)

    return _quick(read, r'\{[ \t\r\n]*[^ \t\r\n"}]')


def bracket(*, json_format: str | None, python_format: str | None, strict: bool | None) -> Reader:
    """A reader for a bare list at ``[``: JSON call objects (if ``json_format``) or Python calls
    (if ``python_format``). ``strict`` (the pythonic format chosen explicitly): a Python call list
    that cannot be read is an error instead of prose; None: only when the list opens the text."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        calls = BlockCalls(ctx, json_format or python_format or "bare_json", src)
        return (
            yield from call_list(
                src,
                calls,
                json=json_format,
                python=python_format,
                markered=False,
                strict=src.leading if strict is None else strict,
                named=strict is True,
            )
        )

    if json_format is None:  # a first element written as a call may start with any word character
        return _quick(read, r"\[\s*[^\s\w.\-]")
    if python_format is None:
        return _quick(read, r"\[\s*[^\s{\]]")
    return _quick(read, r"\[\s*[^\s{\]A-Za-z_]")


def fence(format: str) -> Reader:
    """A reader for a Markdown code fence holding a JSON call or list of calls."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += 3
        language = yield from read_run(src, _LANGUAGE_RUN, 32)
        if language is None or language.lower() not in _LANGUAGES:
            return Reject(3)
        language_end = src.pos
        yield from skip_ws(src)
        if peek(src) not in ("{", "["):
            return Reject(language_end)
        start = src.pos
        result = yield from scan_json(src)
        if result.status != ScanStatus.COMPLETE:
            failed_at = src.pos
            calls = BlockCalls(ctx, format, src)
            if not (yield from recover_list(src, calls, start, result, ("```",), markerless=True)):
                return Reject(failed_at)
            value_end = src.pos
            yield from skip_ws(src)
            closed = yield from accept(src, "```")
            return calls.outcome(None if closed else value_end)
        value_end = src.pos
        ok, value = decode_value(src.text(start, value_end))
        calls = BlockCalls(ctx, format, src)
        events = markerless_calls(calls, value if isinstance(value, list) else [value]) if ok else None
        yield from skip_ws(src)
        closed = yield from accept(src, "```")
        end = None if closed else value_end
        if events is None:
            return Reject(end)
        yield from events
        return calls.outcome(end)

    return read
