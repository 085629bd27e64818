"""Calls written as Python call expressions, read with a literal-only parser (never ``eval``).

- **pythonic** (Llama 3.2, ToolACE; vLLM ``pythonic``): ``[get_weather(city='Paris'), f(x=1)]``,
  a list of calls with keyword arguments, possibly after some prose.
- **llama4_pythonic** (Llama 4; vLLM ``llama4_pythonic``): the same list, optionally between
  ``<|python_start|>`` and ``<|python_end|>``.
- **lfm2** (Liquid LFM2; vLLM ``lfm2``): ``<|tool_call_start|>[f(a=1)]<|tool_call_end|>`` (tuples
  become lists; a JSON list of call objects is accepted there too).
- **olmo3** (AI2 Olmo 3; vLLM ``olmo3``): ``<function_calls>f(a=1)\\ng(b=null)</function_calls>``,
  one call per line, JSON's ``null/true/false`` allowed.
- **llama3_python_tag** (Llama 3.1 built-in tool style): ``<|python_tag|>f(a="x")``, calls
  separated by ``;`` (JSON objects after the tag are read as llama3_json).

A call that cannot be used (a value with no JSON form like ``b'bytes'``, a syntax error inside it)
is an error naming it; the other calls of the list are still read and kept on the error.
"""

from __future__ import annotations

import re
from typing import Final

from modelplug.toolcalls._calls import Done, Fail, OfferedTools, Outcome, Reject, Unusable, decode_value
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._jsoncalls import BlockCalls, markerless_calls, recover_list
from modelplug.toolcalls._literals import (
    LiteralSyntaxError,
    PyCall,
    lines_before_the_fault,
    parse_call_list,
    parse_calls,
    resync_calls,
    unfinished_call,
    written_as_call,
)
from modelplug.toolcalls._pywatch import CallWatcher, watched
from modelplug.toolcalls._scan import ScanStatus, scan_json, scan_loose, split_elements
from modelplug.toolcalls._source import NAME_RE, NEED, Read, Source, accept, at, peek, read_name, skip_ws, until
from modelplug.toolcalls.json_tags import json_payload

__all__ = ["call_list", "emit_python_calls", "function_calls", "python_list", "python_tag", "tagged_python"]


def emit_python_calls(
    calls: BlockCalls, found: list[PyCall], *, strict: bool, watcher: CallWatcher | None = None
) -> Read[Outcome | None]:
    """Events for parsed calls (finishing those the ``watcher`` announced while they were written).
    Returns an outcome when the calls cannot be used (a Reject when not ``strict``), else None."""
    headers = {} if watcher is None else watcher.headers
    usable = [call for call in found if call.arguments is not None]
    if found and not usable:
        if not strict:
            return Reject()
        label = f" ({found[0].name!r})" if found[0].name else ""
        return calls.failed(f"call {calls.number + 1}{label}: {found[0].error}")
    if not strict and (len(usable) < len(found) or any(not calls.ctx.known(call.name) for call in usable)):
        return Reject()  # markerless text naming an unknown tool, or not quite calls, is prose
    for number, call in enumerate(found):
        header = headers.get(number)
        if call.arguments is None or (header is not None and header.name != call.name):
            calls.bad(call.error or "the call cannot be read", call.name or None)
        elif header is not None:
            yield from calls.complete(header, call.name, call.arguments)
        else:
            yield from calls.whole(call.name, call.arguments)
    for number in sorted(headers):
        if number >= len(found):
            calls.bad("the call cannot be read", headers[number].name)
    return None


def python_list(
    src: Source, calls: BlockCalls, *, strict: bool, start: int, stops: tuple[str, ...], named: bool = True
) -> Read[Outcome]:
    """A list of calls: the cursor is on the first element after ``[`` (at block position ``start``).

    Not ``strict`` (format detection), anything unexpected gives the text back as content.
    ``named``: the format was named or the list is between its markers, so a first element that
    is written as a call but is none (``get weather()``) does not make the list prose.
    """
    name_at = src.pos
    name = yield from read_name(src)
    # the first element is not a call expression (``[get weather(), f(a=1)]``): under the named
    # format or inside markers the list is still calls when it is written as one (its first
    # element a name-like run and ``(``) and one of its elements reads as a call
    attempted = not name or not (yield from at(src, "("))
    if attempted:
        if not (strict and named) or not (yield from _written_as_call(src, name_at)):
            return Reject(name_at)
        src.seek(name_at)
    watcher = CallWatcher(calls, start) if strict else None
    result = yield from watched(scan_loose(src, ["]"], stops), src, watcher)
    end: int | None = None
    if result.status != ScanStatus.COMPLETE:
        if not strict:
            return Reject(max(src.pos, name_at))
        recovered = _requoted_list(src.text(start, src.pos), stops) if result.status == ScanStatus.TRUNCATED else None
        if recovered is None:
            # the text ends inside a call (an unclosed string), or its brackets do not match: the
            # calls before it are kept, the error names it, and the calls after it are read where
            # the rest of the list reads as calls from a boundary on (see _after_the_fault)
            if result.status == ScanStatus.INVALID:
                # the attempt runs to the end of its line, or to the closer between markers
                yield from until(src, stops[0] if stops else "\n")
            text = src.text(start, src.pos)
            if stops and (cut := text.find(stops[0])) >= 0:
                text = text[:cut]
            before = _before_the_fault(text, truncated=result.status == ScanStatus.TRUNCATED)
            if before is not None:
                broken_at = _broken_offset(text)
                after, resumed = _after_the_fault(src, start, text, broken_at, ",", "]", markered=bool(stops))
                if attempted and not any(call.arguments is not None for call in (*before, *after)):
                    src.seek(name_at)
                    return Reject(name_at)
                if resumed is not None:
                    src.seek(start + resumed)
                outcome = yield from emit_python_calls(calls, [*before, *after], strict=True, watcher=watcher)
                if outcome is not None:
                    return outcome
            if calls.errors:
                return calls.failed(calls.errors[0])
            return calls.failed(
                "unbalanced brackets" if result.status == ScanStatus.INVALID else "the text ends inside the call list"
            )
        found, length = recovered
        end = start + length
    else:
        try:
            found = parse_call_list(src.text(start, src.pos))
        except LiteralSyntaxError as error:
            recovered = _requoted_list(src.text(start, src.pos), ()) if strict and stops else None
            if recovered is None:
                return calls.failed(str(error)) if strict else Reject()
            found = recovered[0]
        if strict and stops and any(call.arguments is None for call in found):
            recovered = _requoted_list(src.text(start, src.pos), ())
            if recovered is not None and _usable(recovered[0]) > _usable(found):
                found = recovered[0]
        if attempted and not _usable(found):
            return Reject(name_at)  # a bracketed list in prose that holds no call
    outcome = yield from emit_python_calls(calls, found, strict=strict, watcher=watcher)
    if outcome is not None:
        return outcome
    if calls.errors:
        return Unusable(calls.format, calls.errors[0], end)
    return Done(end, calls.format)


def _before_the_fault(text: str, *, truncated: bool) -> list[PyCall] | None:
    """The calls of the list ``text`` that ends at a fault (the end of the text, ``truncated``, or
    a bracket that does not match): those before the call the fault is in, and that one
    (unreadable, named, with why: see :func:`unfinished_call`). None when they do not read."""
    extents = _closed_elements(text)
    rest = text[extents[-1][1] :] if extents else text[text.index("[") + 1 :]
    tail = rest.lstrip().lstrip(",").lstrip()
    try:
        found = parse_call_list("[" + ", ".join(text[a:b] for a, b in extents) + "]")
    except LiteralSyntaxError:
        return None
    if tail:
        found.append(
            unfinished_call(tail, len(text) - len(tail))
            if truncated
            else PyCall(unfinished_call(tail).name, None, f"unbalanced brackets at offset {len(text)}")
        )
    return found


#: How far the first element of a list is looked at for a ``(`` (see :func:`_written_as_call`).
_ATTEMPT_WINDOW: Final = 300


def _written_as_call(src: Source, at_: int) -> Read[bool]:
    """Whether the list element at block position ``at_`` is written as a call (see
    :func:`~modelplug.toolcalls._literals.written_as_call`): decided once a character that ends
    its name-like run (a bracket, quote, comma, line break) or the window's end has arrived."""
    src.seek(at_)
    while True:
        i = src.i
        k = _RUN_END.search(src.s, i, i + _ATTEMPT_WINDOW)
        if k is not None or src.eof or len(src.s) - i >= _ATTEMPT_WINDOW:
            return written_as_call(src.s[i : i + _ATTEMPT_WINDOW], 0)
        yield NEED


_RUN_END: Final = re.compile(r"""[,;()\[\]{}'"=\n]""")


def _closed_elements(text: str) -> list[tuple[int, int]]:
    """The extents of the leading elements of the list ``text`` that a ``,`` closes (not those
    :func:`split_elements` splits where a comma may be missing: before a fault, that is a guess)."""
    extents, _ = split_elements(text)
    closed = []
    for extent in extents:
        if not text[extent[1] :].lstrip().startswith(","):
            break
        closed.append(extent)
    return closed


def _broken_offset(text: str) -> int:
    """Where the element a list ``text`` breaks in starts (after the last element that closed)."""
    extents = _closed_elements(text)
    rest_at = extents[-1][1] if extents else text.index("[") + 1
    rest = text[rest_at:]
    return rest_at + len(rest) - len(rest.lstrip().lstrip(",").lstrip())


def _after_the_fault(
    src: Source, start: int, text: str, broken_at: int, separator: str, closer: str, *, markered: bool
) -> tuple[list[PyCall], int | None]:
    """The calls after a call whose brackets or strings do not match (it starts at offset
    ``broken_at`` of ``text``, which runs from the block's start to the end of what the attempt
    can span): read from the first later boundary (``separator`` + ``NAME(``) from which the rest
    reads as calls ended by ``closer`` (:func:`~modelplug.toolcalls._literals.resync_calls`), and
    the offset in ``text`` after them (None, and no calls, when there is none, or when the re-read
    budget of :meth:`Source.may_reread` is spent). ``markered``: only spaces may follow them up to
    the end of ``text`` (the format's closer), else up to a line break."""
    budget = max(0, 2 * (src.origin + src.pos) + 4096 - src.reread)
    boundary, found, end, cost = resync_calls(text, broken_at + 1, separator, closer, budget)
    src.reread += cost
    if boundary < 0 or (markered and text[end:].strip()):
        return [], None
    back = src.pos - (start + end)  # the text after the calls is read again as content
    if not src.may_reread(max(back, 0)):
        return [], None
    src.reread += max(back, 0)
    return found, end


def _usable(found: list[PyCall]) -> int:
    return sum(call.arguments is not None for call in found)


def _requoted_list(text: str, stops: tuple[str, ...]) -> tuple[list[PyCall], int] | None:
    """Kind 3 of issue 12, in a list between markers (LFM2, Llama 4): the calls of ``text`` read
    with the quotes that cannot end their string escaped (``f(a='It's')``: a quote ends a string
    only before ``,``, ``)``, ``]``, ``}``, ``:`` or the end), and the length of the text used (up
    to and with the first of ``stops``, when given: a stray quote made the scan run past it).
    None when that changes nothing or still does not read."""
    length = len(text)
    if stops:
        cut = min((k for k in (text.find(stop) for stop in stops) if k >= 0), default=-1)
        if cut < 0:
            return None
        stop = next(stop for stop in stops if text.startswith(stop, cut))
        text, length = text[:cut], cut + len(stop)
    fixed = _requote(text.rstrip())
    if fixed is None:
        return None
    try:
        return parse_call_list(fixed), length
    except LiteralSyntaxError:
        return None


#: Characters after which a quote opens a value (``k='``, ``f('``, ``['``, ``, '``, ``: '``).
_OPENS_VALUE: Final = frozenset("=([{,:")


def _requote(text: str) -> str | None:
    """``text`` with each quote inside a one-line string escaped when no ``,`` ``)`` ``]`` ``}``
    ``:`` or end of text follows it (after spaces); None when there is none, with triple quotes,
    or when such a quote stands where a value opens (after ``=``, ``(``, ``[``, ``{``, ``,`` or
    ``:``): then the missing quote may as well be an earlier string's closer, and reading it one
    way could swallow the next argument or call (``[a(k='x), b(k='y')]``)."""
    out: list[str] = []
    i, n, changed = 0, len(text), False
    while i < n:
        c = text[i]
        if c not in "'\"":
            out.append(c)
            i += 1
            continue
        if text.startswith(c * 3, i):
            return None
        out.append(c)
        i += 1
        while i < n:
            d = text[i]
            if d == "\\":
                out.append(text[i : i + 2])
                i += 2
                continue
            if d == c:
                j = i + 1
                while j < n and text[j] in " \t":
                    j += 1
                if j >= n or text[j] in ",)]}:":
                    break
                if text[:i].rstrip(" \t")[-1:] in _OPENS_VALUE:
                    # a quote where a value starts (k='x), b(k='y')): an earlier string may as well
                    # have lost its closing quote, and which one is missing cannot be told
                    return None
                out.append("\\" + c)
                changed = True
            else:
                out.append(d)
            i += 1
        if i < n:
            out.append(c)
            i += 1
    return "".join(out) if changed else None


def call_list(
    src: Source,
    calls: BlockCalls,
    *,
    json: str | None,
    python: str | None,
    markered: bool,
    strict: bool,
    stops: tuple[str, ...] = (),
    named: bool = True,
) -> Read[Outcome]:
    """A ``[...]`` list of calls at the cursor: JSON call objects (``json``: the format to report
    them as) or Python calls (``python``: likewise).

    ``markered``: the list follows a tool-call marker, so a JSON element only needs a name and junk
    elements are skipped; without a marker every element must clearly be a call. ``strict``: a
    list that cannot be read is a failure rather than prose. ``named``: see :func:`python_list`."""
    start = src.pos
    if markered:
        result = yield from scan_json(src)
    else:
        # without a marker, "[" is only a list of calls if "{", "]" or a call name follows
        src.i += 1
        yield from skip_ws(src)
        c = peek(src)
        if c in ("{", "]") and json is not None:
            result = yield from scan_json(src, in_array=True)
        elif python is not None and (NAME_RE.match(src.s, src.i) is not None or (json is None and c not in "]")):
            calls.format = python
            return (yield from python_list(src, calls, strict=strict, start=start, stops=stops, named=named))
        else:
            return Reject()
    if result.status == ScanStatus.COMPLETE:
        if json is None:
            return Reject()
        calls.format = json
        ok, value = decode_value(src.text(start, src.pos))
        if not ok or not isinstance(value, list):
            return calls.failed("not a list of calls") if strict else Reject()
        if markered:
            for element, item in enumerate(value):
                for event in calls.take(element, item):
                    yield event
            return calls.outcome()
        else:
            events = markerless_calls(calls, value)
            if events is None:
                return Reject()
            for event in events:
                yield event
        if calls.errors:
            return Unusable(calls.format, calls.errors[0])
        return Done(None, calls.format)
    failed_at, format = src.pos, calls.format
    if result.status == ScanStatus.INVALID and python is not None:
        src.seek(start + 1)
        yield from skip_ws(src)
        first = src.pos
        if result.at_first_element or (strict and named and (yield from _written_as_call(src, first))):
            calls.format = python
            src.seek(first)
            return (yield from python_list(src, calls, strict=strict, start=start, stops=stops, named=named))
        src.seek(failed_at)
    if json is not None:
        calls.format = json  # one element does not read: the others are still calls (issue 12, kind 1)
        if (yield from recover_list(src, calls, start, result, stops, markerless=not markered)):
            return calls.outcome()
        calls.format = format
    if not strict:
        return Reject(max(failed_at, start + 1))
    if result.status == ScanStatus.TRUNCATED:
        return calls.failed("the text ends inside the call list")
    return calls.failed("expected a list of calls")


def tagged_python(opener: str, closer: str, format: str, *, json: bool = False) -> Reader:
    """``opener`` + a list of calls + optional ``closer`` (Llama 4, LFM2)."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(opener)
        yield from skip_ws(src)
        calls = BlockCalls(ctx, format, src)
        if not peek(src):
            return calls.failed(f"the text ends after {opener}")
        if peek(src) != "[":
            return Reject(len(opener))
        outcome = yield from call_list(
            src, calls, json=format if json else None, python=format, markered=True, strict=True, stops=(closer,)
        )
        return (yield from _close(src, outcome, closer))

    return read


def _close(src: Source, outcome: Outcome, closer: str) -> Read[Outcome]:
    """Consume ``closer`` after the calls (or after a broken list, so the failure includes it)."""
    if isinstance(outcome, Reject):
        return outcome
    if isinstance(outcome, Fail) and (yield from until(src, closer)):
        src.i += len(closer)
        return outcome
    if outcome.end is not None and not isinstance(outcome, Fail):
        return outcome  # it ends where it says (with the closer: see _requoted_list)
    end = src.pos
    yield from skip_ws(src)
    if not (yield from accept(src, closer)):
        outcome.end = end
    return outcome


def function_calls(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Olmo 3: ``<function_calls>`` + calls one per line + ``</function_calls>``."""
    opener, closer = "<function_calls>", "</function_calls>"
    src.i += len(opener)
    calls = BlockCalls(ctx, "olmo3", src)
    start = src.pos
    watcher = CallWatcher(calls, start)
    result = yield from watched(scan_loose(src, [], (closer,), until_stop=True), src, watcher)
    text = src.text(start, src.pos)
    if (cut := text.find(closer)) >= 0:
        text = text[:cut]
    found, broken_at = lines_before_the_fault(text, len(text)) if result.status == ScanStatus.TRUNCATED else ([], 0)
    if result.status == ScanStatus.INVALID or (result.status == ScanStatus.TRUNCATED and text[broken_at:].strip()):
        # a call's brackets do not match, or the text ends inside a call (an unclosed string, which
        # may run past the closer): the calls before it are kept, and those on the lines after it
        # where they read as calls
        fault = src.pos - start
        if result.status == ScanStatus.INVALID:
            yield from until(src, closer)
            text = src.text(start, src.pos)
            if (cut := text.find(closer)) >= 0:
                text = text[:cut]
            found, broken_at = lines_before_the_fault(text, min(fault, len(text)))
        tail = text[broken_at:]
        reason = (
            f"unbalanced brackets at offset {fault}"
            if result.status == ScanStatus.INVALID
            else unfinished_call(tail, broken_at).error or "the text ends inside the call"
        )
        after, resumed = _after_the_fault(src, start, text, broken_at, "\n", "", markered=True)
        src.seek(start + (len(text) if resumed is None else resumed))
        yield from skip_ws(src)
        if (yield from accept(src, closer)) is False and resumed is not None:
            src.seek(start + resumed)
        broken = PyCall(unfinished_call(tail).name, None, reason)
        outcome = yield from emit_python_calls(calls, [*found, broken, *after], strict=True, watcher=watcher)
        return outcome or calls.failed(calls.errors[0])
    body = src.text(start, src.pos)
    if not body.strip():
        return calls.failed("no calls") if result.status == ScanStatus.TRUNCATED else Reject(len(opener))
    try:
        stripped = body.strip()
        found = parse_call_list(stripped) if stripped.startswith("[") else parse_calls(body, ",")
    except LiteralSyntaxError as error:
        if result.status == ScanStatus.COMPLETE:
            src.i += len(closer)
        return calls.failed(str(error))
    if result.status == ScanStatus.COMPLETE:
        src.i += len(closer)
    outcome = yield from emit_python_calls(calls, found, strict=True, watcher=watcher)
    if outcome is not None:
        return outcome
    if calls.errors:
        return Unusable("olmo3", calls.errors[0])
    return Done(None, "olmo3")


def python_tag(*, python: bool, json_format: str = "llama3_json", python_format: str = "llama3_python_tag") -> Reader:
    """Llama 3.1's ``<|python_tag|>``: JSON call objects separated by ``;`` (llama3_json) or, with
    ``python``, call expressions separated by ``;`` (llama3_python_tag)."""
    opener = "<|python_tag|>"

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(opener)
        yield from skip_ws(src)
        c = peek(src)
        if not c:
            return BlockCalls(ctx, json_format, src).failed(f"the text ends after {opener}")
        if c in "{[" and not (python and c == "["):
            return (yield from json_payload(src, ctx, json_format, closer=None, several=True))
        if not python:
            return Reject(len(opener))
        calls = BlockCalls(ctx, python_format, src)
        if c == "[":
            return (
                yield from call_list(src, calls, json=json_format, python=python_format, markered=True, strict=True)
            )
        if NAME_RE.match(src.s, src.i) is None:
            return Reject(len(opener))
        start = src.pos
        end = start
        watcher = CallWatcher(calls, start)
        while True:
            name_at = src.pos
            name = yield from read_name(src)
            if not name or not (yield from accept(src, "(")):
                if end == start:
                    return Reject(len(opener))
                # after ";", an element written as a call (``get weather(...)``) is a call that
                # cannot be read, and the chain goes on after it; anything else is content
                if not (yield from _written_as_call(src, name_at)):
                    src.seek(name_at)
                    break
                src.seek(name_at + src.s.index("(", src.i) - src.i + 1)
            result = yield from watched(scan_loose(src, [")"], ()), src, watcher)
            if result.status != ScanStatus.COMPLETE:  # the calls before this one are kept
                try:
                    found = parse_calls(src.text(start, end), ";") if end > start else []
                except LiteralSyntaxError:
                    found = []
                broken = yield from broken_in_chain(src, start, end, result.status)
                outcome = yield from emit_python_calls(calls, [*found, *broken], strict=True, watcher=watcher)
                return outcome or calls.failed(calls.errors[0])
            end = src.pos
            yield from skip_ws(src)
            if not (yield from accept(src, ";")):
                break
            yield from skip_ws(src)
            if not peek(src):
                break  # the ";" and what follows it are content (text never vanishes)
        try:
            found = parse_calls(src.text(start, end), ";")
        except LiteralSyntaxError as error:
            return calls.failed(str(error))
        outcome = yield from emit_python_calls(calls, found, strict=True, watcher=watcher)
        if outcome is not None:
            return outcome
        if calls.errors:
            return Unusable(python_format, calls.errors[0], end)
        return Done(end, python_format)

    return read


#: The tokens Llama writes after a ``<|python_tag|>`` chain (they end what a broken call can span).
_CHAIN_ENDS: Final = ("<|eom_id|>", "<|eot_id|>")


def broken_in_chain(src: Source, start: int, end: int, status: ScanStatus, builtin: bool = False) -> Read[list[PyCall]]:
    """A call of a ``;``-separated chain (from block position ``start``; the calls before it end
    at ``end``) whose scan failed (``status``: the text ended inside it, or its brackets do not
    match), with the calls after it that can be told apart from its text (read from a later
    ``; NAME(`` when the rest of its line reads as calls, see :func:`_after_the_fault`; the cursor
    is then after them, else at the end of the line or of the text). ``builtin``: a name written
    ``NAME.call`` is the tool ``NAME`` (Llama 3.1's built-in tools)."""
    if status == ScanStatus.INVALID:
        yield from until(src, "\n")
    text = src.text(start, src.pos)
    cuts = [k for k in (text.find(token, end - start) for token in _CHAIN_ENDS) if k >= 0]
    if cuts:
        text = text[: min(cuts)]
    tail = text[end - start :].lstrip().lstrip(";").lstrip()
    broken_at = len(text) - len(tail)
    if status == ScanStatus.TRUNCATED:
        broken = unfinished_call(tail, broken_at)
    else:
        broken = PyCall(unfinished_call(tail).name, None, f"unbalanced brackets at offset {src.pos - start}")
    after, resumed = _after_the_fault(src, start, text, broken_at, ";", "", markered=True)
    if resumed is not None:
        src.seek(start + resumed)
    if builtin:
        for call in (broken, *after):
            call.name = call.name.removesuffix(".call")
    return [broken, *after]
