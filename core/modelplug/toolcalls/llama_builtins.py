"""Llama 3.1's built-in tools after ``<|python_tag|>`` (llama3_json, llama3_python_tag, detection).

- ``<|python_tag|>brave_search.call(query="...")<|eom_id|>``: a call to ``brave_search``; any
  ``NAME.call(k=v, ...)`` is a call to ``NAME`` (``wolfram_alpha`` too), read with the literal-only
  call parser; several such calls separated by ``;`` are each a call.
- ``<|python_tag|>import math\\nprint(math.pi)<|eom_id|>``: raw Python for ``code_interpreter``,
  a call ``code_interpreter({"code": ...})``. Raw text is code only when it is unambiguous: the
  ``code_interpreter`` tool was offered, or the code ends with ``<|eom_id|>`` (the token Llama
  writes after a built-in call). Otherwise it is what :func:`~modelplug.toolcalls.pythonic.python_tag`
  makes of it (JSON calls, call expressions, or content).

``<|eom_id|>`` / ``<|eot_id|>`` right after such a call is consumed with it.
"""

from __future__ import annotations

import re
from typing import Final

from modelplug.toolcalls._calls import Done, OfferedTools, Outcome, Reject, Unusable
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._jsoncalls import BlockCalls
from modelplug.toolcalls._literals import LiteralSyntaxError, parse_calls
from modelplug.toolcalls._pywatch import CallWatcher, watched
from modelplug.toolcalls._scan import ScanStatus, scan_loose
from modelplug.toolcalls._source import NEED, Read, Source, accept, skip_ws, until_re
from modelplug.toolcalls.pythonic import broken_in_chain, emit_python_calls, python_tag

__all__ = ["CODE_INTERPRETER", "llama_python_tag"]

OPENER: Final = "<|python_tag|>"
#: The tool that receives raw Python written after the tag.
CODE_INTERPRETER: Final = "code_interpreter"
_END_TOKENS: Final = re.compile(r"<\|eom_id\|>|<\|eot_id\|>")
_EOM: Final = "<|eom_id|>"
#: Where raw code that needs ``<|eom_id|>`` is given up: an end token, or the next tag (looking past
#: it for every tag of ``'<|python_tag|>' * n`` was quadratic).
_CODE_END: Final = re.compile(r"<\|eom_id\|>|<\|eot_id\|>|<\|python_tag\|>")
_HEAD: Final = re.compile(r"\s*(?:([A-Za-z_]\w*)(\s*))?")
_CALL_SUFFIX: Final = ".call("
_LOOKAHEAD: Final = 512
#: A further built-in call after ``;`` (``wolfram_alpha.call(``), and what can still become one.
_NEXT: Final = re.compile(r"([A-Za-z_]\w*)\.call\(")
#: The same under llama3_python_tag, where a call expression (``f(a=1)``) may follow too.
_NEXT_PYTHON: Final = re.compile(r"([A-Za-z_]\w*)(?:\.call)?\(")
_NEXT_PREFIX: Final = re.compile(r"[A-Za-z_]\w*(?:\.(?:c(?:a(?:l(?:l)?)?)?)?)?")


def _classify(src: Source, python: bool) -> Read[tuple[str, str]]:
    """Look past the tag without consuming: ``("builtin", name)``, ``("inner", name)`` (JSON, call
    expressions or nothing at all, read by python_tag) or ``("raw", "")``."""
    while True:
        j = src.i + len(OPENER)
        m = _HEAD.match(src.s, j)
        assert m is not None
        k = m.end()
        if k - j > _LOOKAHEAD:
            return "inner", ""
        if k == len(src.s) and not src.eof:
            yield NEED
            continue
        name = m.group(1) or ""
        rest = src.s[k : k + len(_CALL_SUFFIX)]
        if not name and not rest:
            return "inner", ""  # the text ends after the tag
        if name and not m.group(2):
            if rest == _CALL_SUFFIX:
                return "builtin", name
            if rest and _CALL_SUFFIX.startswith(rest) and not src.eof and len(rest) < len(_CALL_SUFFIX):
                yield NEED
                continue
        first = src.s[k : k + 1] if not name else ""
        if first and first in "{[":
            return "inner", ""
        if python and name and rest.startswith("("):
            return "inner", name
        return "raw", ""


def _end_token(src: Source) -> Read[None]:
    end = src.pos
    yield from skip_ws(src)
    m = _END_TOKENS.match(src.s, src.i)
    if m is None and not src.eof and any(t.startswith(src.s[src.i :]) for t in ("<|eom_id|>", "<|eot_id|>")):
        # wait for the whole token (a prefix of it at the end of what arrived)
        while not src.eof and len(src.s) - src.i < len(_EOM):
            yield NEED
        m = _END_TOKENS.match(src.s, src.i)
    if m is not None:
        src.i = m.end()
    else:
        src.i = end - src.base


def _builtin(src: Source, ctx: OfferedTools, format: str, name: str, *, python: bool) -> Read[Outcome]:
    src.i += len(OPENER)
    yield from skip_ws(src)
    calls = BlockCalls(ctx, format, src)
    chain = src.pos
    end = chain
    opening = len(name) + len(_CALL_SUFFIX)
    while name:  # each call of a ``;``-separated chain
        src.i += opening
        start = src.pos
        watcher = CallWatcher(calls, start)  # the arguments stream as they are written
        watcher.inside(name)
        result = yield from watched(scan_loose(src, [")"], ()), src, watcher)
        if result.status != ScanStatus.COMPLETE:
            # the text ends inside the call, or its brackets do not match: the calls after it are
            # read where they can be told apart from its text (see broken_in_chain)
            found = yield from broken_in_chain(src, chain, end, result.status, builtin=True)
            found[0].name = name
            outcome = yield from emit_python_calls(calls, found, strict=True, watcher=watcher)
            return outcome or calls.failed(calls.errors[0])
        try:
            found = parse_calls(f"{name}({src.text(start, src.pos)}", ";")
        except LiteralSyntaxError as error:  # pragma: no cover - parse_calls records broken calls
            return calls.failed(f"call to {name!r}: {error}")
        outcome = yield from emit_python_calls(calls, found, strict=True, watcher=watcher)
        if outcome is not None:
            return outcome
        end = src.pos
        name, opening = yield from _next_call(src, python)
    yield from _end_token(src)
    if calls.errors:
        return Unusable(format, calls.errors[0])
    return Done(None, format)


def _next_call(src: Source, python: bool) -> Read[tuple[str, int]]:
    """The name of the call after ``;`` at the cursor (cursor on that name) and the length of its
    opening (``NAME.call(``, or with ``python`` also ``NAME(``), or ``("", 0)`` (cursor left where
    it was) when no call follows a ``;``."""
    back = src.pos
    yield from skip_ws(src)
    if (yield from accept(src, ";")):
        yield from skip_ws(src)
        pattern = _NEXT_PYTHON if python else _NEXT
        while True:
            m = pattern.match(src.s, src.i)
            if m is not None:
                return m.group(1), m.end() - m.start()
            rest = src.s[src.i :]
            if src.eof or len(rest) > _LOOKAHEAD or not _NEXT_PREFIX.fullmatch(rest):
                break
            yield NEED
    src.i = back - src.base
    return "", 0


def _code(src: Source, ctx: OfferedTools, format: str, *, need_eom: bool) -> Read[Outcome]:
    """Raw code after the tag as a code_interpreter call; with ``need_eom``, only when it ends
    with ``<|eom_id|>`` before any other tag (else the tag is given back as content, as
    python_tag would)."""
    src.i += len(OPENER)
    yield from skip_ws(src)
    calls = BlockCalls(ctx, format, src)
    start = src.pos
    m = yield from until_re(src, _CODE_END if need_eom else _END_TOKENS, len(OPENER) if need_eom else len(_EOM))
    if need_eom and (m is None or m.group() != _EOM):
        return Reject(len(OPENER))
    code = src.text(start, src.pos).rstrip()
    if m is not None:
        src.i += len(m.group())
    yield from calls.whole(CODE_INTERPRETER, {"code": code})
    if calls.errors:
        return Unusable(format, calls.errors[0])
    return Done(None, format)


def llama_python_tag(*, python: bool) -> Reader:
    """A reader for ``<|python_tag|>``: built-in tool calls and code_interpreter code (see the
    module docstring), else :func:`~modelplug.toolcalls.pythonic.python_tag` (JSON calls for
    llama3_json; with ``python``, call expressions too)."""
    inner = python_tag(python=python)
    format = "llama3_python_tag" if python else "llama3_json"

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        kind, name = yield from _classify(src, python)
        if kind == "builtin":
            return (yield from _builtin(src, ctx, format, name, python=python))
        offered = ctx.tools is not None and CODE_INTERPRETER in ctx.tools
        if kind == "raw" or (kind == "inner" and name and offered and not ctx.known(name)):
            return (yield from _code(src, ctx, format, need_eom=not offered))
        return (yield from inner(src, ctx))

    return read
