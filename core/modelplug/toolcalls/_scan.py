"""Finding where a JSON value (:func:`scan_json`) or a bracketed Python expression
(:func:`scan_loose`) ends, incrementally, without decoding it and without recursion. How each
scanner reads: ``docs/toolcall-parser.md`` ("Finding where a value ends").
"""

from __future__ import annotations

import enum
import functools
import json
import re
from typing import Final, Protocol, final

from modelplug.toolcalls._source import NEED, Read, Source, at, need

__all__ = [
    "ARR",
    "OBJ",
    "ScanHooks",
    "ScanResult",
    "ScanStatus",
    "scan_json",
    "scan_loose",
    "scan_py_string",
    "split_elements",
    "split_from",
    "unclosed_string",
]

#: The keys that hold a call object's name (``tool_name``: Cohere Command's action objects).
_NAME_KEYS: Final = ("name", "tool_name")


class ScanStatus(enum.Enum):
    """How a scan ended."""

    #: The value is complete; the cursor is just after it.
    COMPLETE = "complete"
    #: The text is not what was expected; the cursor is on the offending character.
    INVALID = "invalid"
    #: The text ended inside the value.
    TRUNCATED = "truncated"


OBJ: Final = 1
ARR: Final = 2

# What the JSON scanner expects next.
_VALUE, _VALUE_OR_END, _KEY, _KEY_OR_END, _COLON, _COMMA_OR_END = range(6)

_WS = re.compile(r"[ \t\r\n]*")
_STRING_BODY = re.compile(r'[^"\\]*')
_NUMBER_RUN = re.compile(r"[-+0-9.eE]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_WORDS: Final = {"t": "true", "f": "false", "n": "null"}
_CLOSE: Final = {"{": "}", "[": "]", "(": ")"}
_PY_STRING_BODY: Final = {"'": re.compile(r"[^\\']*"), '"': re.compile(r'[^\\"]*')}
_SPLIT: Final = re.compile(r"""[][{}()"',]""")


@functools.lru_cache(maxsize=64)
def _interesting(stops: tuple[str, ...]) -> re.Pattern[str]:
    first = "".join(sorted({stop[0] for stop in stops}))
    return re.compile("[" + re.escape("()[]{}\"'" + first) + "]")


@final
class ScanResult:
    """How a scan ended: ``status`` (a :class:`ScanStatus`), the open containers (``stack`` of OBJ/ARR) and,
    for JSON, what was expected at the offending character."""

    __slots__ = ("expect", "stack", "status")

    def __init__(self, status: ScanStatus, stack: list[int], expect: int = _VALUE) -> None:
        self.status = status
        self.stack = stack
        self.expect = expect

    @property
    def at_first_element(self) -> bool:
        """The scan stopped right after the ``[`` that opens the value (before any element)."""
        return self.stack == [ARR] and self.expect == _VALUE_OR_END


class ScanHooks(Protocol):
    """Callbacks of :func:`scan_json`; each returns events for the reader to yield."""

    def name(self, element: int, value: str) -> object | None:
        """A ``"name": "<value>"`` member of the top-level object (element 0) or of an object that is
        element ``element`` of a top-level array."""

    def element(self, element: int, start: int, end: int) -> list[object]:
        """Element ``element`` of a top-level array (or the top-level object, element 0) ends:
        its text is ``src.text(start, end)``."""

    def piece(self, element: int, key: str, raw: str) -> tuple[list[object], int] | None:
        """A string member of that arguments object is being written: ``raw`` is its JSON text read
        since the last piece. Returns the events and how much of ``raw`` they used, or None for no
        more pieces of this string."""

    def member(self, element: int, key: str, start: int, end: int) -> list[object]:
        """A member of the ``"arguments"`` (or ``"parameters"``) object of call ``element`` ended:
        ``key`` and the value's text ``src.text(start, end)``. With ``arguments=True`` the
        top-level object is the arguments object (element 0)."""


def _decode_string(raw: str) -> str | None:
    try:
        value = json.loads(raw, strict=False)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _string(src: Source, *, opened: bool = False) -> Read[bool]:
    """Consume a JSON string (cursor on its opening quote, or inside it when ``opened``). False if
    the text ends inside it."""
    if not opened:
        src.i += 1
    while True:
        s = src.s
        i = _STRING_BODY.match(s, src.i).end()  # type: ignore[union-attr]
        if i < len(s):
            if s[i] == '"':
                src.i = i + 1
                return True
            if i + 1 < len(s):  # a backslash and the character it escapes
                src.i = i + 2
                continue
        src.i = i
        if src.eof:
            src.i = len(s)
            return False
        yield NEED


def _string_pieces(src: Source, hooks: ScanHooks, element: int, key: str) -> Read[bool]:
    """:func:`_string` for a string argument: hands its text to ``hooks.piece`` whenever the text
    read so far is used up, so that it goes out while it is written."""
    done = src.pos + 1  # block position of the first string character not handed out
    src.i += 1
    while True:
        s = src.s
        i = _STRING_BODY.match(s, src.i).end()  # type: ignore[union-attr]
        if i < len(s):
            if s[i] == '"':
                src.i = i + 1
                return True
            if i + 1 < len(s):
                src.i = i + 2
                continue
        src.i = i
        if src.eof:
            src.i = len(s)
            return False
        if done < src.pos:
            result = hooks.piece(element, key, src.text(done, src.pos))
            if result is None:
                break
            events, used = result
            done += used
            if events:
                yield events  # the events, then NEED
                continue
        yield NEED
    return (yield from _string(src, opened=True))


def _number(src: Source) -> Read[ScanStatus]:
    while True:
        end = _NUMBER_RUN.match(src.s, src.i).end()  # type: ignore[union-attr]
        if end == len(src.s) and not src.eof:
            if end - src.i > 400:
                return ScanStatus.INVALID
            yield NEED
            continue
        if _NUMBER.fullmatch(src.s, src.i, end) is None:
            return ScanStatus.INVALID
        src.i = end
        return ScanStatus.COMPLETE


def _word(src: Source, word: str) -> Read[ScanStatus]:
    while True:
        got = src.s[src.i : src.i + len(word)]
        if got == word:
            src.i += len(word)
            return ScanStatus.COMPLETE
        if not word.startswith(got):
            return ScanStatus.INVALID
        if src.eof:
            return ScanStatus.TRUNCATED
        yield NEED


def scan_json(
    src: Source, hooks: ScanHooks | None = None, *, in_array: bool = False, arguments: bool = False
) -> Read[ScanResult]:
    """Consume one JSON value starting at the cursor (leading whitespace allowed).

    ``in_array``: the value's opening ``[`` was already consumed (hooks are not supported then).
    ``arguments``: the value is an arguments object; ``hooks.member`` gets its members.
    """
    stack: list[int] = [ARR] if in_array else []
    expect = _VALUE_OR_END if in_array else _VALUE
    key: str | None = None  # current key of the object whose "name" matters (see ScanHooks)
    element = -1
    element_start = 0
    root_object = False
    # the arguments object whose members go to hooks.member: its depth (0: none), the element it
    # belongs to, the key and start of the member being read
    args_depth = 0
    args_element = -1
    args_key: str | None = None
    member_start = 0
    while True:
        s = src.s
        i = _WS.match(s, src.i).end()  # type: ignore[union-attr]
        src.i = i
        if i >= len(s):
            if src.eof:
                return ScanResult(ScanStatus.TRUNCATED, stack, expect)
            yield NEED
            continue
        c = s[i]
        depth = len(stack)
        closed = False
        if expect == _COMMA_OR_END:
            top = stack[-1]
            if c == ",":
                src.i += 1
                expect = _KEY if top == OBJ else _VALUE
                continue
            if (c == "}" and top == OBJ) or (c == "]" and top == ARR):
                closed = True
            else:
                return ScanResult(ScanStatus.INVALID, stack, expect)
        elif expect == _COLON:
            if c != ":":
                return ScanResult(ScanStatus.INVALID, stack, expect)
            src.i += 1
            expect = _VALUE
            continue
        elif expect in (_KEY, _KEY_OR_END):
            if c == "}" and expect == _KEY_OR_END:
                closed = True
            elif c == '"':
                a = src.pos
                if not (yield from _string(src)):
                    return ScanResult(ScanStatus.TRUNCATED, stack, expect)
                if hooks is not None and (depth == 1 or (depth == 2 and stack[0] == ARR)) and depth != args_depth:
                    key = _decode_string(src.text(a, src.pos))
                if depth == args_depth:
                    args_key = _decode_string(src.text(a, src.pos))
                expect = _COLON
                continue
            else:
                return ScanResult(ScanStatus.INVALID, stack, expect)
        elif c == "]" and expect == _VALUE_OR_END:
            closed = True
        else:  # a value starts
            if depth == 0:
                element_start = src.pos
                root_object = c == "{"
            elif depth == 1 and stack[0] == ARR:
                element += 1
                element_start = src.pos
            if depth == args_depth:
                member_start = src.pos
            if c == "{" and hooks is not None and not args_depth:
                if arguments and depth == 0:
                    args_depth, args_element = 1, 0
                elif (
                    key in ("arguments", "parameters")
                    and args_element != max(element, 0)  # only the first arguments object of a call
                    and ((depth == 1 and stack[0] == OBJ) or (depth == 2 and stack[0] == ARR and stack[1] == OBJ))
                ):
                    args_depth, args_element = depth + 1, max(element, 0)
            if c == "{":
                stack.append(OBJ)
                src.i += 1
                expect = _KEY_OR_END
                if depth == 0 or (depth == 1 and stack[0] == ARR):
                    key = None
                continue
            if c == "[":
                stack.append(ARR)
                src.i += 1
                expect = _VALUE_OR_END
                continue
            if c == '"':
                a = src.pos
                if hooks is not None and args_depth and depth == args_depth and args_key is not None:
                    complete = yield from _string_pieces(src, hooks, args_element, args_key)
                else:
                    complete = yield from _string(src)
                if not complete:
                    return ScanResult(ScanStatus.TRUNCATED, stack, expect)
                if (
                    hooks is not None
                    and key in _NAME_KEYS
                    and ((depth == 1 and stack[0] == OBJ) or (depth == 2 and stack[0] == ARR and stack[1] == OBJ))
                ):
                    name = _decode_string(src.text(a, src.pos))
                    if name is not None:
                        event = hooks.name(max(element, 0), name)
                        if event is not None:
                            yield event
            elif c in "-0123456789":
                status = yield from _number(src)
                if status != ScanStatus.COMPLETE:
                    return ScanResult(status, stack, expect)
            elif c in _WORDS:
                status = yield from _word(src, _WORDS[c])
                if status != ScanStatus.COMPLETE:
                    return ScanResult(status, stack, expect)
            else:
                return ScanResult(ScanStatus.INVALID, stack, expect)
        if closed:
            src.i += 1
            stack.pop()
            if len(stack) < args_depth:
                args_depth = 0  # the arguments object closed
        # a value ended
        if args_depth and len(stack) == args_depth and args_key is not None:
            assert hooks is not None
            for event in hooks.member(args_element, args_key, member_start, src.pos):
                yield event
        if not stack:
            if hooks is not None and root_object:
                for event in hooks.element(0, element_start, src.pos):
                    yield event
            return ScanResult(ScanStatus.COMPLETE, stack)
        if hooks is not None and len(stack) == 1 and stack[0] == ARR and element >= 0:
            for event in hooks.element(element, element_start, src.pos):
                yield event
        expect = _COMMA_OR_END


def scan_py_string(src: Source) -> Read[bool]:
    """Consume a quoted string, Python style (cursor on the quote): ``'...'``, ``"..."`` or
    triple-quoted; a backslash escapes the next character. False if the text ends inside it."""
    q = src.s[src.i]
    yield from need(src, 3)
    triple = src.s.startswith(q * 3, src.i)
    src.i += 3 if triple else 1
    body = _PY_STRING_BODY[q]
    while True:
        s = src.s
        i = body.match(s, src.i).end()  # type: ignore[union-attr]
        src.i = i
        if i < len(s):
            if s[i] == "\\":
                if i + 1 < len(s):
                    src.i = i + 2
                    continue
            elif not triple:
                src.i = i + 1
                return True
            else:
                if (yield from need(src, 3)):
                    if src.s.startswith(q * 3, src.i):
                        src.i += 3
                        return True
                    src.i += 1
                    continue
        if src.eof:
            src.i = len(src.s)
            return False
        yield NEED


def scan_loose(
    src: Source,
    closers: list[str],
    stops: tuple[str, ...] = (),
    *,
    until_stop: bool = False,
) -> Read[ScanResult]:
    """Match brackets and skip strings from the cursor.

    ``closers`` is the stack of closing brackets still expected (``["]", ")"]``: inside ``[f(``).
    Returns ScanStatus.COMPLETE after the bracket that empties the stack or, with ``until_stop``, on one of ``stops``
    met outside any bracket (cursor on it). A stop met inside brackets, or a closing bracket that
    does not match, is ScanStatus.INVALID (cursor on it).
    """
    interesting = _interesting(stops)
    while True:
        s = src.s
        m = interesting.search(s, src.i)
        if m is None:
            src.i = len(s)
            if src.eof:
                return ScanResult(ScanStatus.TRUNCATED, [])
            yield NEED
            continue
        src.i = m.start()
        c = m.group()
        if c == '"' or c == "'":
            if not (yield from scan_py_string(src)):
                return ScanResult(ScanStatus.TRUNCATED, [])
            continue
        if c in _CLOSE:
            closers.append(_CLOSE[c])
            src.i += 1
            continue
        if c in ")]}":
            if not closers or closers[-1] != c:
                return ScanResult(ScanStatus.INVALID, [])
            closers.pop()
            src.i += 1
            if not closers and not until_stop:
                return ScanResult(ScanStatus.COMPLETE, [])
            continue
        for stop in stops:
            if stop[0] == c and (yield from at(src, stop)):
                return ScanResult(ScanStatus.COMPLETE if until_stop and not closers else ScanStatus.INVALID, [])
        src.i += 1


_JSON_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*(")?')


def unclosed_string(text: str) -> int | None:
    """The offset of the ``"`` that opens a JSON string still open at the end of ``text`` (a JSON
    value the text ends inside), or None when every string in it is closed."""
    i = text.find('"')
    while i >= 0:
        m = _JSON_STRING.match(text, i)
        assert m is not None
        if m.group(1) is None:
            return i
        i = text.find('"', m.end())
    return None


def split_elements(text: str) -> tuple[list[tuple[int, int]], int | None]:
    """The top-level elements of the list ``text`` (a ``[`` after optional whitespace), found by
    matching brackets and skipping strings (``"..."``, ``'...'``, triple-quoted; a backslash
    escapes), so that an element's extent is known even when its inside is not valid JSON.

    Returns the ``(start, end)`` offsets of each element closed by a ``,`` or the list's ``]`` at
    depth 1, or followed by the next bracketed or quoted element without a ``,`` (a comma
    missing: the caller sees no comma between the two; stripped of whitespace; empty elements
    left out), and None, or the offset where
    matching failed (an unclosed string, a bracket that does not match, the text ending first):
    the elements before that offset are still returned. Never splits inside a nested value.
    """
    i = _WS.match(text).end()  # type: ignore[union-attr]
    if not text.startswith("[", i):
        return [], i
    elements, broken, _ = split_from(text, i + 1)
    return elements, broken


def split_from(text: str, start: int) -> tuple[list[tuple[int, int]], int | None, int]:
    """:func:`split_elements` from offset ``start`` inside the list (just after its ``[``, or at the
    start of an element): ``(elements, broken, end)``, ``end`` the offset after the list's ``]``
    (meaningful when ``broken`` is None)."""
    closers = ["]"]
    elements: list[tuple[int, int]] = []
    i = start
    n = len(text)
    closed = -1  # where a value at depth 1 ended, since the last element boundary
    while True:
        m = _SPLIT.search(text, i)
        if m is None:
            return elements, n, n
        c = m.group()
        i = m.start()
        if closed >= 0 and len(closers) == 1 and c in "\"'{[(":
            elements.append((_WS.match(text, start).end(), closed))  # type: ignore[union-attr]
            start, closed = closed, -1  # a comma is missing: the next element starts here
        if c in "\"'":
            triple = text.startswith(c * 3, i)
            quote = c * 3 if triple else c
            body = _PY_STRING_BODY[c]
            j = i + len(quote)
            while True:
                j = body.match(text, j).end()  # type: ignore[union-attr]
                if j >= n:
                    return elements, i, n
                if text[j] == "\\":
                    j += 2
                elif text.startswith(quote, j):
                    i = j + len(quote)
                    if len(closers) == 1:
                        closed = i
                    break
                else:
                    j += 1
            continue
        if c in _CLOSE:
            closers.append(_CLOSE[c])
        elif c in ")]}":
            if closers[-1] != c:
                return elements, i, n
            closers.pop()
            if len(closers) == 1:
                closed = i + 1
        if (len(closers) == 1 and c == ",") or not closers:
            closed = -1
            a = _WS.match(text, start).end()  # type: ignore[union-attr]
            b = len(text[a:i].rstrip()) + a
            if b > a:
                elements.append((a, b))
            if not closers:
                return elements, None, i + 1
            start = i + 1
        i += 1
