"""Collecting the calls of one block, and reading JSON calls and JSON arguments inside it.

:class:`BlockCalls` keeps what a block has announced (so that a later failure is an error, not a
mention) and the problems met with single calls. :func:`read_json_calls` reads one JSON value
holding a call object or a list of them: a call's :class:`~modelplug.toolcalls._calls.Header` goes
out as soon as its ``"name"`` is read, and each call is finished as soon as its own object closes,
so a long list streams call by call. An element that is not a usable call object is an error that
names it; the other elements are still read. Values that are not objects at all (``5``, ``"x"``)
are not attempts and are skipped next to calls; a value holding only such junk is not a call. A value
that is not strict JSON (single quotes, ``True``) is read to its end by bracket matching and decoded
as a Python literal; a list that reads neither way is read element by element
(:func:`read_elements`), so a syntax error loses only its own call. :func:`read_json_arguments`
reads the JSON object of arguments that follows a name (Mistral v11, DeepSeek, Kimi).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any, Final, final

from modelplug.toolcalls._calls import (
    Args,
    ArgsPart,
    BadCall,
    Call,
    Done,
    Fail,
    Header,
    OfferedTools,
    Outcome,
    Twice,
    Unusable,
    as_arguments,
    decode_value,
    read_call,
)
from modelplug.toolcalls._scan import (
    ARR,
    OBJ,
    ScanResult,
    ScanStatus,
    scan_json,
    scan_loose,
    split_elements,
    split_from,
    unclosed_string,
)
from modelplug.toolcalls._source import Read, Source

__all__ = [
    "BlockCalls",
    "bad_value",
    "markerless_calls",
    "read_elements",
    "read_json_arguments",
    "read_json_calls",
    "recover_list",
    "truncated",
]

#: JSON string text that ``json.dumps(..., ensure_ascii=False)`` writes the same way after decoding:
#: no raw control character, and only the short escapes it uses itself.
_CANONICAL: Final = re.compile(r'(?:[^\\\x00-\x1f]|\\["\\bfnrt])*')


@final
class BlockCalls:
    """The calls of one block: announces, finishes, and remembers what went wrong.

    Also the :class:`~modelplug.toolcalls._scan.ScanHooks` of :func:`read_json_calls`.
    """

    __slots__ = (
        "_done",
        "_headers",
        "ctx",
        "emitted",
        "errors",
        "format",
        "keyed",
        "number",
        "skipped",
        "src",
        "unreadable",
    )

    def __init__(self, ctx: OfferedTools, format: str, src: Source, *, keyed: bool = False) -> None:
        self.ctx = ctx
        self.format = format
        self.src = src
        #: Call objects are written ``{"NAME": {arguments}}`` (see :func:`read_call`).
        self.keyed = keyed
        self.emitted = False
        self.errors: list[str] = []
        #: Calls attempted in this block so far (the number errors name calls by, from 1).
        self.number = 0
        #: Elements of a list that were not call objects at all (a number, a string): not attempts.
        self.skipped = 0
        #: Values of the block whose brackets match but which do not read (skipped, in ``errors``).
        self.unreadable = 0
        self._headers: dict[int, Header] = {}
        self._done: set[int] = set()

    # calls whose name comes first -----------------------------------------------------------------

    def announce(self, name: str, call_id: str | None = None) -> Header | None:
        """A header for a call whose name was just read; None for a tool that was not offered."""
        if not self.ctx.known(name):
            return None
        self.emitted = True
        return Header(name, call_id, self.format)

    def bad(self, reason: str, name: str | None = None) -> None:
        """Record that the next call of the block cannot be used, naming it (number and name)."""
        self.number += 1
        label = f"call {self.number}" + (f" ({name!r})" if name else "")
        self.errors.append(f"{label}: {reason}")

    def argument(self, header: Header | None, key: str, value: Any) -> list[object]:
        """The :class:`ArgsPart` for argument ``key`` of the call, once its ``value`` (decoded) is
        certain: its JSON rendering after schema coercion, as it will appear in the final
        arguments JSON. Nothing once the call stopped streaming (a key given twice, a value that
        is not valid JSON); the rest of its arguments then go out with :meth:`complete`."""
        if header is None:
            return []
        if key in header.seen:  # an error when the call ends (see complete)
            header.twice = header.twice or key
            header.streaming = False
            return []
        header.seen.add(key)
        if not header.streaming:
            return []
        if key in header.keys or bad_value(value) is not None:
            header.streaming = False
            return []
        partial, header.partial = "".join(header.partial), []
        coerced = self.ctx.arguments(header.name, {key: value})
        if key not in coerced:
            if partial:
                header.streaming = False
            return []  # left out by the schema (an empty non-string value): also left out at the end
        first = not header.keys
        header.keys.add(key)
        rendered = ("{" if first else ", ") + json.dumps(key, ensure_ascii=False) + ": "
        rendered += json.dumps(coerced[key], ensure_ascii=False)
        if not rendered.startswith(partial):  # the engine reports the difference when the call ends
            header.streaming = False
            return []
        rest = rendered[len(partial) :]
        return [ArgsPart(header, rest)] if rest else []

    def string_piece(self, header: Header | None, key: str, raw: str) -> tuple[list[object], int] | None:
        """The next piece of string argument ``key`` while it is written. ``raw`` is the JSON text
        of the string (no quotes) read since the last piece. Returns the events and how much of
        ``raw`` they used (an escape at the end may be incomplete and waits), or None when this
        argument goes out whole when it ends (a ``\\u`` or ``\\/`` escape, which a Python-literal
        reading of a broken call would decode otherwise; a schema that converts the string)."""
        if header is None or not header.streaming or key in header.keys:
            return None
        if not header.partial and not self.ctx.keeps_strings(header.name, key):
            return None
        cut = len(raw)
        if raw[-1] == "\\" and (cut - len(raw.rstrip("\\"))) % 2:
            cut -= 1  # a backslash whose escaped character has not arrived
        held = -1
        if "\\" in raw:
            u, slash = raw.find("\\u", 0, cut), raw.find("\\/", 0, cut)
            held = u if slash < 0 or 0 <= u < slash else slash
            if held >= 0:
                cut = held
        part = raw[:cut]
        events: list[object] = []
        if part:
            if surrogate(part) is not None:  # not Unicode text: the call fails when it ends
                header.streaming = False
                return None
            if _CANONICAL.fullmatch(part) is not None:
                rendered = part  # already written as json.dumps writes it (no \\u, no raw control character)
            else:
                try:
                    text = json.loads('"' + part + '"', strict=False)
                except ValueError:
                    return None
                rendered = json.dumps(text, ensure_ascii=False)[1:-1]
            events.append(self._piece(header, key, rendered))
        if held >= 0:
            return (events, cut) if events else None
        return events, cut

    def text_piece(self, header: Header | None, key: str, text: str) -> list[object]:
        """The next piece of argument ``key`` written as plain text (XML formats), when its value
        stays a string; nothing when it does not (it then goes out whole when it ends)."""
        if header is None or not header.streaming or key in header.keys or not text:
            return []
        if not header.partial and not self.ctx.keeps_strings(header.name, key):
            return []
        if surrogate(text) is not None:  # not Unicode text: the call fails when it ends
            header.streaming = False
            return []
        return [self._piece(header, key, json.dumps(text, ensure_ascii=False)[1:-1])]

    def _piece(self, header: Header, key: str, rendered: str) -> ArgsPart:
        if not header.partial:
            rendered = ("{" if not header.keys else ", ") + json.dumps(key, ensure_ascii=False) + ': "' + rendered
        header.partial.append(rendered)
        return ArgsPart(header, rendered)

    def complete(self, header: Header | None, name: str, arguments: dict[str, Any]) -> list[object]:
        """The event finishing a call started with :meth:`announce`."""
        if header is None:
            self.bad(self.ctx.unknown(name), name)
            return []
        problem = bad_value(arguments) if header.twice is None else _given_twice(header.twice)
        if problem is not None:
            self.bad(problem, name)
            return []
        self.number += 1
        return [Args(header, self.ctx.arguments(name, arguments))]

    def whole(self, name: str, arguments: dict[str, Any], call_id: str | None = None) -> list[object]:
        """The event for a call read all at once."""
        if not self.ctx.known(name):
            self.bad(self.ctx.unknown(name), name)
            return []
        problem = bad_value(arguments)
        if problem is not None:
            self.bad(problem, name)
            return []
        self.number += 1
        self.emitted = True
        return [Call(name, call_id, self.ctx.arguments(name, arguments), self.format)]

    def outcome(self, end: int | None = None) -> Outcome:
        """How a block of JSON calls that was read to its end turned out: an error naming the first
        call that cannot be used, a failure when it held nothing but non-call values
        (``<tool_call>[1, 2]</tool_call>`` is not a call, and must not vanish), else done."""
        if self.errors:
            return Unusable(self.format, self.errors[0], end)
        if self.skipped and not self.number:
            return self.failed("the JSON value holds no call object", end)
        return Done(end, self.format)

    def failed(self, reason: str, end: int | None = None) -> Fail:
        """The outcome of a block that broke: an error once something was announced."""
        if self.emitted:
            return Unusable(self.format, reason, end)
        return Fail(self.format, reason, end)

    # JSON call objects ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Start a new top-level JSON value (element numbers start again)."""
        self._headers = {}
        self._done = set()

    def name(self, element: int, value: str) -> object | None:
        name = value.strip()
        if element in self._headers or not name:
            return None
        header = self.announce(name)
        if header is not None:
            self._headers[element] = header
        return header

    def element(self, element: int, start: int, end: int) -> list[object]:
        self._done.add(element)
        ok, value = decode_value(self.src.text(start, end))
        if not ok:
            header = self._headers.get(element)
            self.bad("not valid JSON", header.name if header is not None else None)
            return []
        return self.take(element, value)

    def take(self, element: int, value: Any) -> list[object]:
        """Events for element ``element`` of the value, decoded."""
        self._done.add(element)
        header = self._headers.get(element)
        if not isinstance(value, dict) and header is None:
            self.skipped += 1  # junk next to calls; a value with nothing but junk is not a call
            return []
        try:
            call = read_call(value, keyed=self.keyed)
        except BadCall as error:
            self.bad(str(error), header.name if header is not None else _name_in(value))
            return []
        assert call is not None
        name, arguments, call_id = call
        if header is not None:
            return self.complete(header, header.name, arguments)
        return self.whole(name, arguments, call_id)

    def member(self, element: int, key: str, start: int, end: int) -> list[object]:
        header = self._headers.get(element)
        return [] if header is None else _Arguments(self, header).member(element, key, start, end)

    def piece(self, element: int, key: str, raw: str) -> tuple[list[object], int] | None:
        return self.string_piece(self._headers.get(element), key, raw)

    def header(self, element: int) -> Header | None:
        """The header announced for element ``element`` of the current value, if any."""
        return self._headers.get(element)

    def pending(self, element: int) -> bool:
        return element not in self._done


def _given_twice(path: str, noun: str = "argument") -> str:
    if noun != "argument":
        return f"the {noun} {path!r} is given twice in one object"
    return (
        f"argument {path!r} is given twice (arguments stream as they are written, so a later value"
        " cannot replace one that went out)"
    )


#: A lone surrogate (``"\\ud800"`` decodes to one): not Unicode text, it cannot be encoded as UTF-8.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` (as ``U+D800``), None when there is none."""
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def bad_value(value: Any, path: str = "", *, noun: str = "argument") -> str | None:
    """Why ``value`` (decoded arguments) cannot be used, naming the argument by its path: a NaN or
    infinite number (``1e999``, ``NaN``: not valid JSON), a string or key holding a lone surrogate
    (``"\\ud800"``: not Unicode text, it cannot be encoded as UTF-8), or a key written twice in one
    object (a :class:`~modelplug.toolcalls._literals.Twice`); None when it can. ``noun`` names what
    the paths are in the message (``"key"`` for a whole object)."""
    if isinstance(value, str):
        lone = surrogate(value)
        return None if lone is None else f"{noun} {path or 'value'} holds a lone surrogate ({lone}), not Unicode text"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{noun} {path or 'value'} is {value!r}, not a finite JSON number"
    if isinstance(value, Twice):
        return _given_twice(f"{path}.{value.twice}" if path else value.twice, noun)
    if isinstance(value, dict):
        for key, item in value.items():
            lone = surrogate(str(key))
            if lone is not None:
                return f"the {noun} name {key!r} holds a lone surrogate ({lone}), not Unicode text"
            problem = bad_value(item, f"{path}.{key}" if path else str(key), noun=noun)
            if problem is not None:
                return problem
    elif isinstance(value, list):
        for k, item in enumerate(value):
            problem = bad_value(item, f"{path}[{k}]", noun=noun)
            if problem is not None:
                return problem
    return None


def read_json_calls(
    src: Source, calls: BlockCalls, stops: tuple[str, ...], *, skip_bad: bool = False, run: bool = False
) -> Read[tuple[ScanStatus, str]]:
    """Read one JSON value of calls at the cursor (an object or a list). Returns ``(status, reason)``;
    problems with single calls are on ``calls.errors``.

    A list that does not read as a whole is split into its elements (:func:`split_elements`) and
    each is read on its own: an unreadable element is recorded and the others are kept, in order
    (when at least one of them is a call object, or a call was announced). With ``skip_bad``, an
    object whose brackets match but which does not read is recorded the same way and the value
    counts as read (more values of the block follow it). ``run``: more call objects may follow
    this one in the block (``{...}\n{...}``); an object whose brackets do not match (an unclosed
    string or brace) then ends where the next call object starts (:func:`_resync_run`), and
    is recorded the same way.
    """
    calls.reset()
    start = src.pos
    result = yield from scan_json(src, calls)
    if result.status == ScanStatus.COMPLETE:
        return ScanStatus.COMPLETE, ""
    if result.status == ScanStatus.TRUNCATED:
        return ScanStatus.TRUNCATED, _ends_inside(calls, src.text(start, src.pos))
    if not result.stack:
        return ScanStatus.INVALID, "expected a JSON object or list"
    closers = ["}" if kind == OBJ else "]" for kind in result.stack]
    loose = yield from scan_loose(src, closers, stops)
    if loose.status == ScanStatus.COMPLETE:
        ok, value = decode_value(src.text(start, src.pos))
        if ok:
            items = list(enumerate(value)) if isinstance(value, list) else [(0, value)]
            for element, item in items:
                if calls.pending(element):
                    yield from calls.take(element, item)
            return ScanStatus.COMPLETE, ""
        status, reason = ScanStatus.INVALID, "the body is neither JSON nor a Python literal"
    elif loose.status == ScanStatus.TRUNCATED:
        status, reason = ScanStatus.TRUNCATED, "the text ends inside the JSON value"
    else:
        status, reason = ScanStatus.INVALID, "unbalanced brackets in the JSON value"
    if result.stack[0] == ARR:
        return (yield from _read_elements(src, start, loose, calls, status, reason))
    if run and loose.status != ScanStatus.COMPLETE and _resync_run(src, start, loose, calls):
        return ScanStatus.COMPLETE, ""
    text = src.text(start, src.pos)
    if not skip_bad or loose.status != ScanStatus.COMPLETE:
        name = _name_of(calls, 0, text)
        return status, f"call {calls.number + 1}" + (f" ({name!r})" if name else "") + f": {reason}"
    calls.unreadable += 1
    calls.bad(_json_error(text), _name_of(calls, 0, text))
    return ScanStatus.COMPLETE, ""


def _ends_inside(calls: BlockCalls, text: str) -> str:
    """The error when the text ends inside the JSON value of calls ``text``, recorded on ``calls``:
    it names the call the text ends in (its number, and its name when known) and says whether a
    string in it is not closed, and where that string opens."""
    element, call = 0, text
    if text.lstrip().startswith("["):
        extents, _ = split_elements(text)
        element = len(extents)
        rest = text[extents[-1][1] :] if extents else text[text.index("[") + 1 :]
        call = rest.lstrip().lstrip(",")
    calls.bad(truncated(text, "the JSON value"), _name_of(calls, element, call))
    return calls.errors[-1]


def truncated(text: str, what: str) -> str:
    """Why a JSON value ``text`` that the text ends inside cannot be read: a string in it that is
    not closed, and where it opens (offset in ``text``), or else the end of the text in ``what``."""
    k = unclosed_string(text)
    if k is not None:
        return f"the string opened at offset {k} of {what} is not closed (the text ends inside it)"
    return f"the text ends inside {what}"


def _read_elements(
    src: Source, start: int, loose: ScanResult, calls: BlockCalls, status: ScanStatus, reason: str
) -> Read[tuple[ScanStatus, str]]:
    """Read the elements of the list from block position ``start`` one by one (it does not read as
    a whole: ``status`` and ``reason`` say why; ``loose`` is how matching its brackets ended, the
    cursor where it stopped). Where the brackets cannot be matched, the reading resynchronises at
    the next call object (:func:`resync_list`); failing that, the elements before that point are
    kept and the error names the element."""
    text = _scanned(src, start, loose)
    extents, bad, broken = _elements(src, start, text, calls)
    if not (yield from read_elements(text, extents, calls, bad=bad)):
        return status, reason  # nothing here is a call: the value is not read at all
    if broken is None:
        return ScanStatus.COMPLETE, ""
    element = len(extents)
    what = "the text ends inside" if status == ScanStatus.TRUNCATED else "unbalanced brackets in"
    calls.bad(f"{what} element {element + 1} of the list (at offset {broken})", _name_of(calls, element, text[broken:]))
    return status, calls.errors[0]


def _resync_run(src: Source, start: int, loose: ScanResult, calls: BlockCalls) -> bool:
    """After a call object from block position ``start`` whose brackets do not match, in a run of
    call objects (``{...}`` ``{...}``, separated by whitespace, ``,`` or ``;``): when a usable
    call object starts inside it (:func:`_next_call`), record the broken object as an error and
    move the cursor to that next object; True then. The text looked at again counts against the
    re-read budget; past it, False (the cursor is left)."""
    text = _scanned(src, start, loose)
    e0 = len(text) - len(text.lstrip())
    floor, cost = _floor(text, e0)
    k, cost = _next_call(src, text, e0, floor, _RUN_KEYED if calls.keyed else _RUN, calls.keyed, cost, _RUN_AFTER)
    if k >= 0:
        cost += max(src.pos - (start + k), 0)
    ok = k >= 0 and src.may_reread(cost)
    src.reread += cost
    if not ok:
        return False
    b = len(text[e0:k].rstrip().rstrip(",;").rstrip()) + e0
    calls.bad(_unclosed(text[e0:b], "the call object", k), _name_of(calls, 0, text[e0:]))
    src.seek(start + k)
    return True


def _scanned(src: Source, start: int, loose: ScanResult) -> str:
    """The text from ``start`` that a failed loose scan (``loose``) looked at: to the cursor, and
    the character it stopped on when that did not match (a ``]`` that may end the list)."""
    end = src.pos + (loose.status == ScanStatus.INVALID and src.i < len(src.s))
    return src.text(start, end)


#: Where a call object may start again after a broken element of a list: ``}`` ``,`` ``{`` and a
#: key of a call object (group 1: the ``{``).
_RESYNC: Final = re.compile(
    r'\}\s*,\s*(\{)\s*"(?:name|tool_name|tool_call_id|function|id|type|arguments|parameters)"\s*:'
)
#: The same for call objects keyed by the tool name (Apertus: ``{"NAME": {...}}``).
_RESYNC_KEYED: Final = re.compile(r'\}\s*,\s*(\{)\s*"[A-Za-z_][\w.\-/]*"\s*:\s*\{')
#: Where the next call object of a run starts: ``}``, whitespace or ``,`` or ``;``, ``{`` and a key.
_RUN: Final = re.compile(_RESYNC.pattern.replace(r"\s*,\s*", r"\s*[,;]?\s*", 1))
_RUN_KEYED: Final = re.compile(_RESYNC_KEYED.pattern.replace(r"\s*,\s*", r"\s*[,;]?\s*", 1))
#: What may follow a call object of a run: a separator, the next object, a tag, a line break (prose
#: after the calls) or the end.
_RUN_AFTER: Final = re.compile(r"[ \t]*(?:\r?\n|[,;{<\[]|$)")
_DECODER: Final = json.JSONDecoder(strict=False)


def _elements(
    src: Source, start: int, text: str, calls: BlockCalls
) -> tuple[list[tuple[int, int]], dict[int, str], int | None]:
    """The elements of the list ``text`` (block position ``start``): their extents, the broken
    ones resynchronised past (:func:`resync_list`) with why each is not read, and the offset where
    the brackets stop matching when the list cannot be resynchronised (else None)."""
    extents, broken = split_elements(text)
    if broken is not None:
        found = resync_list(src, start, text, extents, broken, calls)
        if found is not None:
            return found[0], found[1], None
    return extents, {}, broken


def resync_list(
    src: Source, start: int, text: str, extents: list[tuple[int, int]], broken: int, calls: BlockCalls
) -> tuple[list[tuple[int, int]], dict[int, str], int] | None:
    """Resynchronise a list of call objects ``text`` (block position ``start``) whose brackets stop
    matching at offset ``broken`` (after the elements ``extents``): the element the fault is in
    ends where the next element that opens a call object starts (a ``}`` ``,`` ``{`` boundary
    followed by a key of a call object, or by the tool name in ``keyed`` lists), and the list
    is read on from there, again and again for each element that breaks.

    A boundary counts only when the object after it reads as a usable call object followed by
    ``,`` or ``]``; the whole resynchronisation counts only when the list then closes (within
    ``text``). Returns the extents of every element, the broken ones with the reason each is not
    read (by element number), and the offset after the list's ``]`` (the cursor is moved there);
    None when the list cannot be resynchronised. The text looked at again counts against the
    re-read budget (:meth:`~modelplug.toolcalls._source.Source.may_reread`): past it, None.
    """
    pattern = _RESYNC_KEYED if calls.keyed else _RESYNC
    found = list(extents)
    end = 0
    bad: dict[int, str] = {}
    cost = 0
    fault: int | None = broken
    while fault is not None:
        e0 = _element_start(text, found)
        floor, used = _floor(text, e0)
        cost += used
        lo = e0
        while True:
            k, cost = _next_call(src, text, lo, floor, pattern, calls.keyed, cost, _AFTER)
            if k < 0:
                src.reread += cost
                return None
            more, fault, end = split_from(text, k)
            cost += (end if fault is None else fault) - k
            if fault is not None or _LIST_END.match(text, end) is not None:
                break
            lo = k + 1  # the list closed at a bracket nested in the broken call: not there
        b = len(text[e0:k].rstrip().rstrip(",").rstrip()) + e0  # the broken element: e0 up to the "}"
        bad[len(found)] = _unclosed(text[e0:b], f"element {len(found) + 1} of the list", k)
        found.append((e0, b))
        found += more
    back = src.pos - (start + end)
    cost += max(back, 0)
    if not src.may_reread(cost):
        src.reread += cost
        return None
    src.reread += cost
    src.seek(start + end)
    return found, bad, end


def _next_call(
    src: Source,
    text: str,
    lo: int,
    floor: int,
    pattern: re.Pattern[str],
    keyed: bool,
    cost: int,
    after: re.Pattern[str],
) -> tuple[int, int]:
    """Where the next call object after a broken value starts in ``text``, searching from offset
    ``lo`` (-1: nowhere, or the re-read budget is spent), and ``cost`` plus what was looked at
    (a JSON error counts the text from offset 0, as its line number does).

    Only a boundary at or after ``floor`` (:func:`_floor`) counts: one the value's strict JSON
    reading did not pass through as structure. So an object nested in the broken call's arguments
    (``[{...}, {"name": ...}]``) is never taken for a call. Only the first such boundary is
    tried: when the object there does not read either (a second broken call), an object nested
    in *its* arguments must not be taken for a call, so none is."""
    if floor < 0:
        return -1, cost
    for m in pattern.finditer(text, lo):
        if not src.may_reread(cost):
            return -1, cost
        k = m.start(1)
        if k < floor:
            continue
        read, used = _call_object_at(text, k, keyed, after)
        cost += used
        return (k, cost) if read else (-1, cost)
    return -1, cost


def _floor(text: str, e0: int) -> tuple[int, int]:
    """The first offset where a call object may start again in the broken value at ``e0`` (after
    whitespace): the start of the last string its strict JSON reading read before it failed, or
    where it failed; -1 when it does not fail (nothing to resynchronise) or fails on a ``'`` (a
    Python literal, not resynchronised). Also how much of the text was looked at."""
    e0 = len(text) - len(text[e0:].lstrip()) if text[e0 : e0 + 1].isspace() else e0
    try:
        _, end = _DECODER.raw_decode(text, e0)
    except json.JSONDecodeError as error:  # its line and column were counted from offset 0
        fail = error.pos
    except (ValueError, RecursionError):
        return -1, len(text) - e0
    else:
        return -1, end - e0
    if text.startswith("'", fail):
        return -1, fail - e0
    last = fail
    i = text.find('"', e0, fail)
    while i >= 0:
        m = _STRING.match(text, i)
        assert m is not None
        if m.end() > fail:
            break
        last = i
        i = text.find('"', m.end(), fail)
    return min(last, fail), fail


_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"?')


def _element_start(text: str, extents: list[tuple[int, int]]) -> int:
    """Where the element after ``extents`` starts in the list ``text`` (after the comma, if any)."""
    if not extents:
        return text.index("[") + 1
    i = extents[-1][1]
    rest = text[i : i + 256].lstrip()
    if rest.startswith(","):
        return text.index(",", i) + 1
    return i


def _call_object_at(text: str, k: int, keyed: bool, after: re.Pattern[str]) -> tuple[bool, int]:
    """Whether a usable call object starts at offset ``k`` of ``text`` and is followed by what
    ``after`` matches (in a list: ``,`` or ``]``), and how much of the text was looked at to tell."""
    try:
        value, end = _DECODER.raw_decode(text, k)
    except json.JSONDecodeError as error:  # its line and column are counted from offset 0
        return False, error.pos + 1
    except (ValueError, RecursionError):
        return False, len(text) - k
    m = after.match(text, end)
    if m is None or not isinstance(value, dict):
        return False, end - k
    try:
        call = read_call(value, keyed=keyed)
    except BadCall:
        return False, end - k
    return call is not None, m.end() - k


#: What may follow the list after a resynchronisation: a line break, a tag or marker, a fence, the
#: end (a ``]`` followed by anything else closed a list nested in the broken call).
_LIST_END: Final = re.compile(r"[ \t]*(?:\r?\n|[<\[`]|$)")
#: What may follow an element of a list: ``,`` or the list's ``]``.
_AFTER: Final = re.compile(r"\s*[,\]]")


def _unclosed(element: str, where: str, resync: int) -> str:
    """Why the broken value ``element`` (``where``: which it is) is not read, the block read on at
    offset ``resync``."""
    k = unclosed_string(element)
    if k is not None:
        return (
            f"the string opened at offset {k} of {where} is not closed before the next call object"
            f" (at offset {resync})"
        )
    return f"{where} is not closed before the next call object (at offset {resync})"


def read_elements(
    text: str,
    extents: list[tuple[int, int]],
    calls: BlockCalls,
    *,
    markerless: bool = False,
    bad: dict[int, str] | None = None,
) -> Read[bool]:
    """Read the elements of a list that does not read as a whole, each on its own (``extents``
    from :func:`~modelplug.toolcalls._scan.split_elements`): those the scan has not finished are
    decoded; an unreadable one is recorded (its number, name and the JSON error with its offset)
    and skipped, the others are kept in order. False, reading nothing, when no element is a call
    object and no call was announced; ``markerless``: also unless every readable element is
    clearly a call to an offered tool and every unreadable one starts like a call object.
    ``bad``: elements known to be unreadable (by number from 0), and why (:func:`resync_list`)."""
    bad = bad or {}
    decoded = [
        (element, (False, None) if element in bad else decode_value(text[a:b]), text[a:b])
        for element, (a, b) in enumerate(extents)
        if calls.pending(element)
    ]
    if markerless:
        found = [_clear_call(value) for _, (ok, value), _ in decoded if ok]
        if not found or any(call is None or not calls.ctx.known(call) for call in found):
            return False
        if any(not ok and _FIRST_NAME.match(item) is None for _, (ok, _), item in decoded):
            return False
    elif not calls.emitted and not any(ok and isinstance(value, dict) for _, (ok, value), _ in decoded):
        return False
    for element, ((_, b), (a, _)) in enumerate(itertools.pairwise(extents)):
        if "," not in text[b:a] and element not in bad:  # the elements around it are still read
            calls.errors.append(f"a comma is missing between two elements of the list (at offset {b} of the list)")
    for element, (ok, value), item in decoded:
        if ok:
            yield from calls.take(element, value)
        elif element in bad:
            calls.bad(bad[element], _name_of(calls, element, item))
        else:
            where = f"element {element + 1} of the list"
            calls.bad(f"{where} is not valid JSON ({_json_error(item)})", _name_of(calls, element, item))
    return True


def markerless_calls(calls: BlockCalls, items: list[Any]) -> list[object] | None:
    """The events of a value written without a marker (``items``: its call objects), when every
    item is clearly a call (:func:`~modelplug.toolcalls._calls.read_call`) to an offered tool;
    None, reading nothing, otherwise (the value is content). A clear call that cannot be used
    (a key given twice, a number that is not finite) is recorded on ``calls``."""
    found: list[tuple[str, dict[str, Any], str | None] | BadCall] = []
    for item in items:
        try:
            call = read_call(item, markerless=True)
        except BadCall as error:
            found.append(error)
            continue
        if call is None or not calls.ctx.known(call[0]):
            return None
        found.append(call)
    if not found:
        return None
    events: list[object] = []
    for item, read in zip(items, found, strict=True):
        if isinstance(read, BadCall):
            calls.bad(str(read), _name_in(item))
        else:
            events += calls.whole(*read)
    return events


def _name_in(item: Any) -> str | None:
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str) else None


def recover_list(
    src: Source, calls: BlockCalls, start: int, result: ScanResult, stops: tuple[str, ...], *, markerless: bool
) -> Read[bool]:
    """After a strict scan of a list of calls from ``start`` failed (``result``): find the list's end
    by bracket matching and read its elements one by one (:func:`read_elements`). True when the
    elements were read (the cursor is after the list); False when they cannot be (the brackets do
    not match, or the list is not one of calls): the cursor may have moved.

    ``markerless``: only a list whose first element opens like a call object (a call key first)
    is matched at all: prose full of ``[{`` that never closes is given back at once instead of
    being matched to the end of the text from every ``[`` (linear time). What such a failed match
    passed over is read again as prose, so it counts against the text's re-read budget
    (:meth:`~modelplug.toolcalls._source.Source.may_reread`); past it, no list is matched
    (``'[{"name": "f", ' * n`` would otherwise be quadratic).
    """
    if result.status != ScanStatus.INVALID or not result.stack or result.stack[0] != ARR:
        return False
    if markerless and (_CALL_OPENS.match(src.text(start, src.pos)) is None or not src.may_reread()):
        return False
    failed_at = src.pos
    closers = ["}" if kind == OBJ else "]" for kind in result.stack]
    loose = yield from scan_loose(src, closers, stops)
    text = _scanned(src, start, loose)
    extents, bad, broken = _elements(src, start, text, calls)
    read = broken is None and (yield from read_elements(text, extents, calls, markerless=markerless, bad=bad))
    if not read and markerless:
        src.reread += src.pos - failed_at  # given back as prose from failed_at: read again
    return read


def _clear_call(value: Any) -> str | None:
    """The tool name of ``value`` when it is clearly a call object (usable or not), else None."""
    try:
        call = read_call(value, markerless=True)
    except BadCall:
        return _name_in(value) or ""
    return None if call is None else call[0]


#: A list whose first element opens like a call object: a key of a call object first.
_CALL_OPENS: Final = re.compile(r'\[\s*\{\s*"(?:name|tool_name|arguments|parameters|function|id|type)"\s*:')

#: A call object's name written as its first member (how an unreadable element is named).
_FIRST_NAME: Final = re.compile(r'\s*\{\s*"(?:name|tool_name)"\s*:\s*"((?:[^"\\]|\\.){1,200})"')


def _name_of(calls: BlockCalls, element: int, text: str) -> str | None:
    """The name of unreadable element ``element``: announced by the scan, or the value of a ``"name"``
    written first in its object (never a key of a nested object)."""
    header = calls.header(element)
    if header is not None:
        return header.name
    m = _FIRST_NAME.match(text)
    return m.group(1) if m is not None else None


def _json_error(text: str) -> str:
    """Why ``text`` is not valid JSON, with the offset of the fault in it."""
    try:
        json.loads(text, strict=False)
    except json.JSONDecodeError as error:
        return f"{error.msg} at offset {error.pos}"
    except (ValueError, RecursionError) as error:
        return str(error) or type(error).__name__
    return "not a JSON object"


@final
class _Arguments:
    """The scan hooks of one arguments object: its members stream as the call's arguments."""

    __slots__ = ("calls", "header")

    def __init__(self, calls: BlockCalls, header: Header) -> None:
        self.calls = calls
        self.header = header

    def name(self, element: int, value: str) -> object | None:
        return None

    def element(self, element: int, start: int, end: int) -> list[object]:
        return []

    def piece(self, element: int, key: str, raw: str) -> tuple[list[object], int] | None:
        return self.calls.string_piece(self.header, key, raw)

    def member(self, element: int, key: str, start: int, end: int) -> list[object]:
        header = self.header
        if not header.streaming:
            return []
        try:
            value = json.loads(self.calls.src.text(start, end), strict=False)
        except (ValueError, RecursionError):
            header.streaming = False
            return []
        return self.calls.argument(header, key, value)


def read_json_arguments(
    src: Source, stops: tuple[str, ...], calls: BlockCalls | None = None, header: Header | None = None
) -> Read[tuple[ScanStatus, dict[str, Any] | None, str]]:
    """Read a JSON object of arguments at the cursor (leading whitespace allowed).

    Returns ``(status, arguments, reason)``; a string holding a JSON object is decoded once more.
    With ``calls`` and the call's ``header``, its members stream as they end (:class:`ArgsPart`).
    """
    start = src.pos
    hooks = _Arguments(calls, header) if calls is not None and header is not None else None
    result = yield from scan_json(src, hooks, arguments=True)
    if result.status == ScanStatus.INVALID and result.stack:
        closers = ["}" if kind == OBJ else "]" for kind in result.stack]
        result = yield from scan_loose(src, closers, stops)
    if result.status == ScanStatus.TRUNCATED:
        return ScanStatus.TRUNCATED, None, truncated(src.text(start, src.pos), "the arguments")
    if result.status != ScanStatus.COMPLETE:
        return ScanStatus.INVALID, None, "the arguments are not valid JSON"
    ok, value = decode_value(src.text(start, src.pos).strip())
    if not ok:
        return ScanStatus.INVALID, None, "the arguments are not valid JSON"
    try:
        return ScanStatus.COMPLETE, as_arguments(value), ""
    except BadCall as error:
        return ScanStatus.INVALID, None, str(error)
