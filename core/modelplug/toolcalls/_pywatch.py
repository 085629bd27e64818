"""Streaming the arguments of Python call expressions while they are written.

:class:`CallWatcher` follows the text of a block of pythonic calls (``[f(a='x', b=2), g()]``,
``f(a=1); g()``, one call per line) as the reader consumes it, and hands out each call's
:class:`~modelplug.toolcalls._calls.Header` and :class:`~modelplug.toolcalls._calls.ArgsPart`
pieces: a keyword argument's JSON rendering once the ``,`` or ``)`` after its value is read, and a
plain-quoted string value while it is written. It decides nothing: where the block ends and what
the calls are is still read by the reader from the whole block text (:mod:`modelplug.toolcalls._literals`), and the
engine checks that what streamed is the start of each call's final arguments JSON. The items of a
``**{...}`` argument stream like keyword arguments (a string value while it is written). A
positional argument (an error: the call is not used) stops the streaming of its call only; the
watcher skips to the call's end and follows the next one. Anything else it does not follow
(prose) stops it for the rest of the block.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from typing import TYPE_CHECKING, Final, TypeVar, final

from modelplug.toolcalls._literals import LiteralSyntaxError, parse_literal
from modelplug.toolcalls._source import NEED, Read, Source

if TYPE_CHECKING:
    from modelplug.toolcalls._calls import Header
    from modelplug.toolcalls._jsoncalls import BlockCalls

__all__ = ["CallWatcher", "watched"]

T = TypeVar("T")

_BETWEEN: Final = re.compile(r"[\s,;\[]*")
_CALL: Final = re.compile(r"([A-Za-z_][A-Za-z_0-9.]*)\s*\(")
_PARTIAL_CALL: Final = re.compile(r"[A-Za-z_][A-Za-z_0-9.]*\s*\Z")
_KEY: Final = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*=(?!=)")
_PARTIAL_KEY: Final = re.compile(r"\s*(?:[A-Za-z_][A-Za-z_0-9]*\s*=?)?\Z")
_WS: Final = re.compile(r"\s*")
#: The longest name the watcher waits for (longer: it stops, so that waiting stays linear).
_WAIT: Final = 256
_STRING_BODY: Final = {"'": re.compile(r"[^\\'\n]*"), '"': re.compile(r'[^\\"\n]*')}
_OTHER: Final = re.compile(r"""[()\[\]{},'"]""")
#: A key of a ``**{...}`` dict (a plain one-line string) and its colon.
_SPREAD_KEY: Final = re.compile(r"""\s*(?:'([^'\\\n]*)'|"([^"\\\n]*)")\s*:""")
_PARTIAL_SPREAD_KEY: Final = re.compile(r"""\s*(?:'[^'\\\n]*'?\s*|"[^"\\\n]*"?\s*)?\Z""")

# where the watcher is
_STOPPED, _BETWEEN_CALLS, _ARGS, _VALUE, _STRING, _AFTER_STRING, _OTHER_VALUE = range(7)
# inside a ``**{...}`` argument: before its "{", before a key (or the "}"), after its "}"
_SPREAD, _SPREAD_KEY_NEXT, _AFTER_SPREAD = range(7, 10)


@final
class CallWatcher:
    """Follows a block of Python calls fed in pieces (:meth:`feed`); ``headers`` maps each call's
    number in the block (from 0) to the header announced for it."""

    __slots__ = (
        "_buf",
        "_calls",
        "_depth",
        "_header",
        "_key",
        "_name",
        "_pos",
        "_quote",
        "_skip",
        "_spread",
        "_state",
        "_text",
        "_value",
        "fed",
        "headers",
        "number",
    )

    def __init__(self, calls: BlockCalls, start: int) -> None:
        self._calls = calls
        #: The block position up to which the text was fed (see :func:`watched`).
        self.fed = start
        self._buf = ""
        self._pos = 0
        self._state = _BETWEEN_CALLS
        self._name = ""
        self._header: Header | None = None
        self._key = ""
        self._value: list[str] = []  # the text of the value being read
        self._text: list[str] = []  # the decoded text of the string value not handed out yet
        self._quote = ""
        self._depth = 0
        #: The current call's values are skipped, not streamed (it has a positional argument).
        self._skip = False
        #: The value being read is an item of a ``**{...}`` dict (it ends at "," or "}").
        self._spread = False
        #: Headers announced, by call number in the block.
        self.headers: dict[int, Header] = {}
        #: Calls seen so far.
        self.number = 0

    def feed(self, text: str) -> list[object]:
        """Events for the next piece of the block's text."""
        if self._state == _STOPPED or not text:
            return []
        self._buf = self._buf[self._pos :] + text
        self._pos = 0
        events: list[object] = []
        while self._state != _STOPPED and self._step(events):
            pass
        if self._state == _STRING:
            self._flush(events)
        return events

    def _stop(self) -> bool:
        self._state = _STOPPED
        if self._header is not None:
            self._header.streaming = False
        return False

    def _step(self, events: list[object]) -> bool:
        """Advance one token; False when more text is needed (or the watcher stopped)."""
        buf, pos, state = self._buf, self._pos, self._state
        if state >= _SPREAD:
            return self._step_spread(events)
        if state == _BETWEEN_CALLS:
            pos = _BETWEEN.match(buf, pos).end()  # type: ignore[union-attr]
            self._pos = pos
            if pos == len(buf):
                return False
            m = _CALL.match(buf, pos)
            if m is None:
                return False if len(buf) - pos < _WAIT and _PARTIAL_CALL.match(buf, pos) else self._stop()
            self._name, self._header = m.group(1), None
            self._pos, self._state = m.end(), _ARGS
            return True
        if state == _ARGS:
            pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
            self._pos = pos
            if pos == len(buf):
                return False
            if buf[pos] == ")":
                self._announce(events)
                self._end_call()
                self._pos = pos + 1
                return True
            if self._skip:
                self._value, self._depth, self._quote, self._state = [], 0, "", _OTHER_VALUE
                return True
            if buf.startswith("**", pos):  # a dict spread: its items stream like keyword arguments
                self._announce(events)
                self._pos, self._state = pos + 2, _SPREAD
                return True
            m = _KEY.match(buf, pos)
            if m is None or m.end() == len(buf):  # "a=" might still become "a=="
                if len(buf) - pos < _WAIT and (_PARTIAL_KEY.match(buf, pos) or buf[pos:] == "*"):
                    return False
                # a positional argument: this call does not stream (it is an error); its values
                # are skipped to its end, and the next call streams again
                if self._header is not None:
                    self._header.streaming = False
                self._skip, self._value = True, []
                self._depth, self._quote, self._state = 0, "", _OTHER_VALUE
                return True
            self._announce(events)
            self._key, self._value = m.group(1), []
            self._pos, self._state = m.end(), _VALUE
            return True
        if state == _VALUE:
            pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
            self._pos = pos
            if pos == len(buf):
                return False
            c = buf[pos]
            if c in "'\"" and len(buf) - pos < 3:
                return False
            if c in "'\"" and not buf.startswith(c * 3, pos):
                self._quote, self._text, self._value = c, [], [c]
                self._pos, self._state = pos + 1, _STRING
            else:
                self._depth, self._quote, self._state = 0, "", _OTHER_VALUE
            return True
        if state == _STRING:
            q = self._quote
            end = _STRING_BODY[q].match(buf, pos).end()  # type: ignore[union-attr]
            if end == len(buf):
                self._take(buf[pos:end])
                self._pos = end
                return False
            c = buf[end]
            if c == "\\":
                escape = _escape(buf, end) if end + 1 < len(buf) else None
                if escape is None:
                    self._take(buf[pos:end])
                    self._pos = end
                    return False if len(buf) - end < 12 else self._stop()
                self._take(buf[pos:end])
                self._value.append(buf[end : escape[1]])
                self._text.append(escape[0])
                self._pos = escape[1]
                return True
            if c == "\n":
                return self._stop()
            self._take(buf[pos:end])
            self._value.append(q)
            self._flush(events)
            self._pos, self._state = end + 1, _AFTER_STRING
            return True
        if state == _AFTER_STRING:
            pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
            self._pos = pos
            if pos == len(buf):
                return False
            if buf[pos] in (",}" if self._spread else ",)"):
                return self._end_value(events)
            self._depth, self._quote, self._state = 0, "", _OTHER_VALUE  # 'a' 'b', 'a' + ...: read to its end
            return True
        # _OTHER_VALUE: a value read to the "," or ")" that ends it, strings skipped as they arrive
        start = pos
        while True:
            if self._quote:  # inside a string of the value
                q = self._quote
                end = _STRING_BODY[q[0]].match(buf, pos).end()  # type: ignore[union-attr]
                if end + len(q) > len(buf) or (end < len(buf) and buf[end] == "\\" and end + 2 > len(buf)):
                    self._value.append(buf[start:end])
                    self._pos = end
                    return False
                c = buf[end]
                if c == "\\":
                    pos = end + 2
                elif c == "\n":
                    if len(q) == 1:
                        return self._stop()
                    pos = end + 1
                elif buf.startswith(q, end):
                    pos, self._quote = end + len(q), ""
                else:
                    pos = end + 1
                continue
            m = _OTHER.search(buf, pos)
            if m is None:
                self._value.append(buf[start:])
                self._pos = len(buf)
                return False
            c, k = m.group(), m.start()
            if c in "'\"":
                if len(buf) - k < 3:
                    self._value.append(buf[start:k])
                    self._pos = k
                    return False
                self._quote = c * 3 if buf.startswith(c * 3, k) else c
                pos = k + len(self._quote)
                continue
            if c in "([{":
                self._depth += 1
            elif self._depth:
                if c != ",":  # a comma inside brackets is part of the value
                    self._depth -= 1
            elif c in (",}" if self._spread else ",)"):
                self._value.append(buf[start:k])
                self._pos = k
                return self._end_value(events)
            else:
                return self._stop()
            pos = k + 1

    def _step_spread(self, events: list[object]) -> bool:
        """:meth:`_step` inside a ``**{...}`` argument, outside its values."""
        buf, pos, state = self._buf, self._pos, self._state
        pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
        self._pos = pos
        if pos == len(buf):
            return False
        c = buf[pos]
        if state == _SPREAD:  # after "**"
            if c != "{":
                return self._stop()  # not a dict literal: an error the reader reports
            self._pos, self._state = pos + 1, _SPREAD_KEY_NEXT
            return True
        if state == _AFTER_SPREAD:  # after its "}"
            if c not in ",)":
                return self._stop()
            self._pos = pos + 1
            if c == ")":
                self._end_call()
            else:
                self._state = _ARGS
            return True
        if c == "}":
            self._pos, self._state = pos + 1, _AFTER_SPREAD
            return True
        m = _SPREAD_KEY.match(buf, pos)
        if m is None:
            if len(buf) - pos < _WAIT and _PARTIAL_SPREAD_KEY.match(buf, pos):
                return False
            return self._stop()  # a key that is not a plain string: read whole by the reader
        self._key, self._value, self._spread = m.group(1) if m.group(1) is not None else m.group(2), [], True
        self._pos, self._state = m.end(), _VALUE
        return True

    def inside(self, name: str) -> None:
        """Start inside the argument list of a call to ``name`` (its ``name(`` is not fed)."""
        self._name, self._header, self._state = name, None, _ARGS

    def _announce(self, events: list[object]) -> None:
        if self._skip:  # a call with a positional argument is not announced (it is an error)
            return
        if self._header is None and self.number not in self.headers:
            header = self._calls.announce(self._name)
            if header is None:  # a tool that was not offered: its call is read whole
                self._header = None
                return
            self._header = self.headers[self.number] = header
            events.append(header)

    def _end_call(self) -> None:
        self.number += 1
        self._header, self._state, self._skip = None, _BETWEEN_CALLS, False

    def _take(self, raw: str) -> None:
        if raw:
            self._value.append(raw)
            self._text.append(raw)

    def _flush(self, events: list[object]) -> None:
        if self._text:
            events += self._calls.text_piece(self._header, self._key, "".join(self._text))
            self._text = []

    def _end_value(self, events: list[object]) -> bool:
        """The value ended (the cursor is on the "," or ")" after it)."""
        if not self._skip:
            try:
                value = parse_literal("".join(self._value))
            except LiteralSyntaxError:
                return self._stop()
            events += self._calls.argument(self._header, self._key, value)
        self._value = []
        c = self._buf[self._pos]
        if self._spread:
            self._state = _AFTER_SPREAD if c == "}" else _SPREAD_KEY_NEXT
            self._spread = c != "}"
        elif c == ")":
            self._end_call()
        else:
            self._state = _ARGS
        self._pos += 1
        return True


def _escape(buf: str, k: int) -> tuple[str, int] | None:
    """The character(s) the escape at ``buf[k]`` stands for and the offset after it, or None when
    it is not complete (or not readable) in ``buf``."""
    c = buf[k + 1]
    if c in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[c]
        end = k + 2 + n
    elif c == "N":
        close = buf.find("}", k)
        if close < 0:
            return None
        end = close + 1
    elif c in "01234567":
        end = k + 2
        while end < len(buf) and end < k + 4 and buf[end] in "01234567":
            end += 1
        if end == len(buf):
            return None
    else:
        end = k + 2
    if end > len(buf):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an unknown escape ("\\d") stays as written, as in Python
            text = ast.literal_eval("'" + buf[k:end] + "'")
    except (ValueError, SyntaxError):
        return None
    return (text if isinstance(text, str) else json.dumps(text)), end


def watched(scan: Read[T], src: Source, watcher: CallWatcher | None) -> Read[T]:
    """Run ``scan`` (a reader step that only consumes text, like ``scan_loose``), feeding ``watcher``
    the text it consumed at each pause and at its end, and yielding the watcher's events."""
    if watcher is None:
        return (yield from scan)
    while True:
        try:
            item = scan.send(None)
        except StopIteration as stop:
            yield from _catch_up(src, watcher)
            return stop.value  # type: ignore[no-any-return]
        assert item is NEED
        events = _catch_up(src, watcher)
        yield events if events else NEED


def _catch_up(src: Source, watcher: CallWatcher) -> list[object]:
    if src.pos <= watcher.fed:
        return []
    events = watcher.feed(src.text(watcher.fed, src.pos))
    watcher.fed = src.pos
    return events
