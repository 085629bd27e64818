"""The incremental parser behind :func:`~modelplug.toolcalls.parse` and
:class:`~modelplug.toolcalls.StreamParser`.

Text is content until an opener of the active formats appears; then the format's reader takes
over until its block ends, and its outcome says whether the block was calls, content or a broken
call. ``parse(text)`` is this engine fed the whole text at once, so both agree by construction.
The rules that shape the content: ``docs/toolcall-parser.md`` ("The engine").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, final

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls._calls import (
    Args,
    ArgsPart,
    Call,
    Done,
    Fail,
    Header,
    OfferedTools,
    Outcome,
    Reasoning,
    Reject,
    Text,
    Unusable,
    mint_id,
)
from modelplug.toolcalls._source import NEED, Read, Source, alternation
from modelplug.types import ToolCall

__all__ = ["Engine", "Reader", "Table"]

#: A reader: called with the block's source (cursor on the opener) and the context.
Reader = Callable[[Source, OfferedTools], Read[Outcome]]

THINK_OPEN: Final = "<think>"
THINK_CLOSE: Final = "</think>"

_CONTENT, _THINK, _THINK_HOLD = range(3)

#: Leading whitespace (``str.isspace`` characters, as ``str.strip`` removes).
_SPACE: Final = re.compile(r"\s*")


#: Below this many characters one search with the combined pattern is cheapest; above it, the
#: search per first character (see :class:`_Finder`).
_SHORT: Final = 64


@final
class Table:
    """The openers of a format (or of all formats, for detection) and their readers."""

    __slots__ = ("channels", "firsts", "leading", "maxlen", "modes", "quick", "readers", "starts")

    def __init__(self, readers: Mapping[str, Reader], leading: Mapping[str, Reader] | None = None) -> None:
        self.readers = dict(readers)
        #: Openers read only at the start of the text (leading whitespace aside), never searched
        #: for further on: MuseGlimmer's first header under detection (``to=``, whose ``t`` would
        #: be a new first character for the scan of every text).
        self.leading = dict(leading or {})
        #: Openers with a ``quick`` pattern: where it matches, the reader would give the opener back
        #: as content at once, so the engine does that without starting it.
        self.quick: dict[str, re.Pattern[str]] = {
            literal: quick for literal, reader in self.readers.items() if (quick := getattr(reader, "quick", None))
        }
        #: Openers of channel messages (readers marked ``channel``): see :attr:`Engine.channels`.
        every = (*self.readers.items(), *self.leading.items())
        self.channels = frozenset(literal for literal, reader in every if getattr(reader, "channel", False))
        modes: list[tuple[re.Pattern[str], tuple[re.Pattern[str], ...], frozenset[str]]] = []
        # four scanning modes: content or inside <think>, before or after the first call (a reader
        # marked ``stray`` only acts after a call, so before one its opener is not searched for)
        early = {lit for lit, reader in self.readers.items() if not getattr(reader, "stray", False)}
        for after_calls, extra in ((False, THINK_OPEN), (False, THINK_CLOSE), (True, THINK_OPEN), (True, THINK_CLOSE)):
            active = self.readers if after_calls else early
            literals = sorted({*active, extra}, key=lambda lit: (-len(lit), lit))
            pattern = alternation(literals)
            # one pattern per first character: each starts with one literal character, which the
            # regex engine finds by a fast string search (a class of several characters is not)
            firsts = sorted({lit[0] for lit in literals})
            groups = tuple(alternation(lit for lit in literals if lit[0] == first) for first in firsts)
            prefixes = frozenset(lit[:k] for lit in literals for k in range(1, len(lit)))
            modes.append((pattern, groups, prefixes))
        self.modes = tuple(modes)
        self.maxlen = max(len(lit) for lit in (*self.readers, THINK_OPEN, THINK_CLOSE))
        first = {lit[0] for lit in (*self.readers, THINK_OPEN, THINK_CLOSE)}
        #: The characters that can start an opener.
        self.firsts = tuple(sorted(first))
        #: Any character that can start an opener.
        self.starts = re.compile("[" + re.escape("".join(self.firsts)) + "]")

    def may_start(self, text: str) -> bool:
        """Whether ``text`` holds a character that can start an opener (linear in ``len(text)``)."""
        if len(text) < _SHORT:
            return self.starts.search(text) is not None
        return any(first in text for first in self.firsts)

    def hold(self, buf: str, pos: int, prefixes: frozenset[str]) -> int:
        """Length of the longest tail of ``buf[pos:]`` that could still become an opener."""
        n = len(buf)
        search = self.starts.search
        m = search(buf, max(pos, n - self.maxlen + 1))
        while m is not None:
            k = m.start()
            if buf[k:] in prefixes:
                return n - k
            m = search(buf, k + 1)
        return 0


@final
class _Finder:
    """The first opener at or after a position of a buffer, for one scanning mode.

    One search per first character of the openers (each a fast literal-prefix search in the regex
    engine) instead of one search for a class of first characters, which is several times slower
    on call-free text. Each character's next match is kept while the buffer stays the same object
    and the position only grows, so every character's search runs over each buffer once: linear.
    """

    __slots__ = ("buf", "groups", "next", "pattern", "since")

    def __init__(self, pattern: re.Pattern[str], groups: tuple[re.Pattern[str], ...]) -> None:
        self.pattern = pattern
        self.groups = groups
        self.buf: str | None = None
        self.since = 0
        self.next: list[re.Match[str] | None] = []

    def search(self, buf: str, pos: int) -> re.Match[str] | None:
        """The earliest opener match in ``buf`` at or after ``pos`` (longest opener first), or None."""
        if len(buf) - pos < _SHORT:
            return self.pattern.search(buf, pos)
        if buf is not self.buf or pos < self.since:
            self.buf, self.since = buf, pos
            self.next = [group.search(buf, pos) for group in self.groups]
        found = self.next
        best: re.Match[str] | None = None
        for k, m in enumerate(found):
            if m is not None and m.start() < pos:
                m = found[k] = self.groups[k].search(buf, pos)
            if m is not None and (best is None or m.start() < best.start()):
                best = m
        return best


@final
class _Failure:
    __slots__ = ("format", "offset", "raw", "reason")

    def __init__(self, format: str, reason: str, offset: int, raw: str) -> None:
        self.format = format
        self.reason = reason
        self.offset = offset
        self.raw = raw


@final
class _Record:
    __slots__ = ("arguments", "id", "name", "streamed")

    def __init__(self, id: str, name: str) -> None:
        self.id = id
        self.name = name
        self.arguments: dict[str, Any] | None = None
        #: The arguments JSON handed out so far, in pieces (ArgsPart events).
        self.streamed: list[str] = []


#: Items of ``Engine.out``: ("content", text), ("reasoning", text) or ("tool", index, id, name, arguments).
OutItem = tuple[Any, ...]


@final
class Engine:
    """Feed text with :meth:`feed`, end with :meth:`finish`; results accumulate on the instance."""

    def __init__(self, table: Table, ctx: OfferedTools, *, streaming: bool) -> None:
        self._table = table
        self._ctx = ctx
        self._streaming = streaming
        self.out: list[OutItem] = []
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[_Record] = []
        self.errors: list[_Failure] = []
        self.format: str | None = None
        self.text: list[str] = []
        # content scanning
        self._buf = ""
        self._bpos = 0
        self._abs = 0  # position of _buf[0] in the whole text
        self._eof = False
        self._last = False  # no text follows the buffer (see feed)
        self._mode = _CONTENT
        self._hold: list[str] = []
        self._hold_abs = 0
        self._hold_tail = ""
        self._finders = tuple(_Finder(pattern, groups) for pattern, groups, _ in table.modes)
        # the block being read
        self._gen: Read[Outcome] | None = None
        self._src: Source | None = None
        self._block_abs = 0
        self._reread = 0  # characters given back to be read again (Source.give_back)
        self._block_calls = False
        self._opener_length = 1
        # whitespace and pending failure (see the module docstring)
        # whitespace held back, as pieces (joined only when used: a long run of one-character
        # deltas must not be copied again at every delta)
        self._ws: list[str] = []
        self._tool_seen = False
        self._content_seen = False
        self._pending: _Failure | None = None
        self._pending_ws: list[str] = []
        #: A channel message was read (harmony, MuseGlimmer, Inkling): the text's messages run to
        #: its end, each header saying where its body goes, so a reader of reasoning only cannot
        #: stop at the first content (see ``DeltaPipeline``).
        self.channels = False
        #: The start of the text is still to be matched against the table's leading openers.
        self._leading = bool(table.leading)
        self._channels_before = False

    # input --------------------------------------------------------------------------------------

    def start_inside(self, opener: str) -> None:
        """Start inside the reasoning span ``opener`` opened before the text (by the prompt): read
        as if the text began with it, the opener itself not being part of the text (offsets and
        the raw text of errors are those of the text). Call before the first :meth:`feed`.

        Raises:
            ValueError: ``opener`` is not the opener of one of the table's reasoning spans, or text
                was fed already.
        """
        # a span whose opener takes a tokenizer's suffix is found by its opener up to the ":"
        reader = self._table.readers.get(opener) or self._table.readers.get(opener[: opener.find(":") + 1])
        if getattr(reader, "span", None) is None:
            spans = sorted(lit for lit, r in self._table.readers.items() if getattr(r, "span", None) is not None)
            raise ValueError(f"{opener!r} does not open a reasoning span of this format; these do: {spans}")
        if self.text:
            raise ValueError("the parser can only start inside a reasoning span before any text")
        self._abs = -len(opener)
        self.feed(opener)
        self.text.pop()

    def feed(self, text: str, *, last: bool = False) -> None:
        """Read ``text``; ``last``: no text follows (whole-text parsing: content is not held back
        for a later delta, so no copy of the text is made for it). Call :meth:`finish` after either.
        Readers still learn of the end only at :meth:`finish`, as when streaming, so that a whole
        text and its deltas read alike."""
        if last:
            self._last = True
        if not text:
            return
        self.text.append(text)
        if (
            self._gen is None
            and self._bpos == len(self._buf)
            and self._mode != _THINK_HOLD
            and not (self._leading and self._lead(text, 0, last)[1] is not None)
            and not self._table.may_start(text)
        ):
            # fast path: nothing held, and nothing in the text can start a marker
            self._abs += self._bpos
            self._buf = text
            self._bpos = len(text)
            self._content(text, last=last)
            return
        if self._gen is not None:
            assert self._src is not None
            self._src.feed(text, False)
        elif self._mode == _THINK_HOLD:
            self._hold_feed(text)
            return
        else:
            self._buf = self._buf[self._bpos :] + text
            self._abs += self._bpos
            self._bpos = 0
        self._run()

    def finish(self) -> None:
        self._eof = True
        if self._gen is not None:
            assert self._src is not None
            self._src.feed("", True)
        self._run()
        if self._pending is not None:
            self._commit_pending()
        if self._ws and not self._tool_seen:
            self._emit_content("".join(self._ws))
        self._ws = []

    def error(self) -> ToolCallParseError | None:
        """The error to raise after :meth:`finish`, if any call failed."""
        if not self.errors:
            return None
        first = self.errors[0]
        reason = first.reason
        if len(self.errors) > 1:
            reason += f" (and {len(self.errors) - 1} more call(s) that cannot be read)"
        return ToolCallParseError(
            reason,
            format=first.format,
            text="".join(self.text),
            offset=first.offset,
            tool_calls=self.tool_calls(),
            content="".join(self.content) or None,
        )

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(ToolCall(r.id, r.name, r.arguments) for r in self.calls if r.arguments is not None)

    # the main loop ------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            if self._gen is not None:
                if not self._step():
                    return
            elif self._mode == _THINK_HOLD:
                if not self._eof:
                    return
                # the think block never closed: what was held is read as ordinary text
                self._mode = _CONTENT
                self._buf = "".join(self._hold)
                self._bpos = 0
                self._abs = self._hold_abs
                self._hold = []
            elif not self._scan():
                return

    def _scan(self) -> bool:
        """Scan content; True when a block or a mode change needs another round."""
        buf, pos = self._buf, self._bpos
        if self._leading:
            s, literal = self._lead(buf, pos, self._eof or self._last)
            if literal is not None:
                self._content(buf[pos:s])
                if buf.startswith(literal, s):
                    self._leading = False
                    self._start(buf, s, literal, self._table.leading[literal])
                    return True
                self._bpos = s  # it may still come: wait for more text
                return False
        mode = (self._mode == _THINK) + 2 * self._tool_seen
        prefixes = self._table.modes[mode][2]
        m = self._finders[mode].search(buf, pos)
        if m is None:
            end = self._eof or self._last
            cut = len(buf) if end else len(buf) - self._table.hold(buf, pos, prefixes)
            self._content(buf[pos:cut], last=end)
            self._bpos = cut
            return False
        s = m.start()
        if not (self._eof or self._last) and len(buf) - s < self._table.maxlen and buf[s:] in prefixes:
            self._content(buf[pos:s])  # a longer opener may still start here ("[" vs "[TOOL_CALLS]")
            self._bpos = s
            return False
        self._content(buf[pos:s])
        literal = m.group()
        if literal in (THINK_OPEN, THINK_CLOSE) and literal not in self._table.readers:
            self._content(literal)
            self._mode = _THINK if literal == THINK_OPEN else _CONTENT
            self._bpos = m.end()
            return True
        quick = self._table.quick.get(literal)
        if quick is not None and quick.match(buf, s) is not None:
            self._content(literal)
            self._bpos = m.end()
            return True
        if self._mode == _THINK:
            k = buf.find(THINK_CLOSE, s)
            if k >= 0:
                self._content(buf[s : k + len(THINK_CLOSE)])
                self._mode = _CONTENT
                self._bpos = k + len(THINK_CLOSE)
                return True
            self._mode = _THINK_HOLD
            self._hold = [buf[s:]]
            self._hold_abs = self._abs + s
            self._hold_tail = buf[s:][-(len(THINK_CLOSE) - 1) :]
            self._buf, self._bpos = "", 0
            return True
        self._start(buf, s, literal, self._table.readers[literal])
        return True

    def _start(self, buf: str, s: int, literal: str, reader: Reader) -> None:
        """Start ``reader`` on the block whose opener ``literal`` is at ``buf[s]``."""
        self._src = Source(buf, s, self._eof)
        self._src.leading = not self._content_seen and not self._tool_seen and self._pending is None
        self._src.after_calls = self._tool_seen
        self._src.origin, self._src.reread = self._abs + s, self._reread
        self._gen = reader(self._src, self._ctx)
        self._channels_before = self.channels
        if literal in self._table.channels:
            self.channels = True
        self._block_abs = self._abs + s
        self._block_calls = False
        self._opener_length = len(literal)
        self._buf, self._bpos = "", 0

    def _lead(self, buf: str, pos: int, end: bool) -> tuple[int, str | None]:
        """Match the start of the text (``buf[pos:]``, nothing before it but whitespace) against
        the table's leading openers: ``(where, literal)`` of the one there or of one that may still
        come there; ``(pos, None)`` when none can (``_leading`` then turns False). Looks at a
        bounded part of ``buf`` only."""
        s = _SPACE.match(buf, pos).end()  # type: ignore[union-attr]  # matches the empty string
        for literal in self._table.leading:
            if buf.startswith(literal, s):
                return s, literal
            if not end and literal.startswith(buf[s : s + len(literal)]):
                return s, literal
        self._leading = False
        return pos, None

    def _hold_feed(self, text: str) -> None:
        window = self._hold_tail + text
        if THINK_CLOSE not in window:
            self._hold.append(text)
            self._hold_tail = window[-(len(THINK_CLOSE) - 1) :]
            return
        held = "".join(self._hold)
        joined = held + text
        k = joined.find(THINK_CLOSE, max(0, len(held) - len(THINK_CLOSE) + 1)) + len(THINK_CLOSE)
        self._hold = []
        self._content(joined[:k])
        self._mode = _CONTENT
        self._buf, self._bpos, self._abs = joined, k, self._hold_abs
        self._run()

    def _step(self) -> bool:
        """Run the reader; False when it waits for more text."""
        gen, src = self._gen, self._src
        assert gen is not None and src is not None
        try:
            while True:
                item = gen.send(None)
                if item is NEED:
                    if src.eof:
                        raise RuntimeError("tool-call reader asked for text after the end")
                    return False
                if type(item) is list:  # events, then NEED (one round trip through the readers)
                    for event in item:
                        self._event(event)
                    if src.eof:
                        raise RuntimeError("tool-call reader asked for text after the end")
                    return False
                self._event(item)
        except StopIteration as stop:
            outcome: Outcome = stop.value
        self._gen = self._src = None
        self._end_block(src, outcome)
        return True

    # events and outcomes ------------------------------------------------------------------------

    def _event(self, item: object) -> None:
        if isinstance(item, ArgsPart):  # the most frequent event while a call is written
            record = self.calls[item.header.index]
            record.streamed.append(item.text)
            if self._streaming:
                self.out.append(("tool", item.header.index, None, None, item.text))
        elif isinstance(item, Header):
            self._call_starts(item.format)
            item.index = len(self.calls)
            record = _Record(item.id or mint_id(), item.name)
            self.calls.append(record)
            if self._streaming:
                self.out.append(("tool", item.index, record.id, record.name, None))
        elif isinstance(item, Args):
            record = self.calls[item.header.index]
            final = json.dumps(item.arguments, ensure_ascii=False)
            streamed = "".join(record.streamed)
            if not final.startswith(streamed):  # e.g. a parameter given twice: the first was streamed
                self.errors.append(
                    _Failure(
                        item.header.format,
                        f"call {record.name!r}: its arguments changed after they were streamed "
                        f"({streamed[:40]!r}... is not the start of {final[:60]!r})",
                        self._block_abs,
                        "",
                    )
                )
                return
            record.arguments = item.arguments
            if self._streaming and final[len(streamed) :]:
                self.out.append(("tool", item.header.index, None, None, final[len(streamed) :]))
        elif isinstance(item, Call):
            self._call_starts(item.format)
            record = _Record(item.id or mint_id(), item.name)
            record.arguments = item.arguments
            self.calls.append(record)
            if self._streaming:
                self.out.append(
                    (
                        "tool",
                        len(self.calls) - 1,
                        record.id,
                        record.name,
                        json.dumps(item.arguments, ensure_ascii=False),
                    )
                )
        elif isinstance(item, Text):
            self._content(item.text)
        elif isinstance(item, Reasoning):
            if item.text:
                self.reasoning.append(item.text)
                if self._streaming:
                    self.out.append(("reasoning", item.text))
        else:  # pragma: no cover - a reader bug
            raise TypeError(f"unexpected reader event {item!r}")

    def _call_starts(self, format: str) -> None:
        if not self._block_calls:
            self._block_calls = True
            if self._pending is not None:
                self._commit_pending()
            self._tool_seen = True
        if self.format is None:
            self.format = format

    def _tool_block(self) -> None:
        """A block of tool calls ended: the whitespace before it goes."""
        if self._pending is not None:
            self._commit_pending()
        self._ws = []
        self._tool_seen = True

    def _end_block(self, src: Source, outcome: Outcome) -> None:
        self._reread = src.reread
        end = src.pos if outcome.end is None else outcome.end
        if end <= 0:  # pragma: no cover - a reader bug: consume the opener rather than loop forever
            end = self._opener_length
        if isinstance(outcome, Done):
            if outcome.tool_block:
                self._tool_block()
                if self.format is None:
                    self.format = outcome.format
        elif isinstance(outcome, Reject):
            self.channels = self._channels_before  # no message after all
            self._content(src.text(0, end))
        elif isinstance(outcome, Fail):
            if self._pending is not None:
                self._commit_pending()
            failure = _Failure(outcome.format, outcome.reason, self._block_abs, src.text(0, end))
            if isinstance(outcome, Unusable) or self._block_calls:
                self.errors.append(failure)
                self._content(failure.raw)
            else:
                self._pending, self._pending_ws = failure, []
        # hand what follows the block back to content scanning
        if end >= src.base:
            self._buf, self._bpos = src.s, end - src.base
            self._abs = self._block_abs + src.base
        else:
            self._buf, self._bpos = src.text(end, src.base) + src.s, 0
            self._abs = self._block_abs + end

    def _commit_pending(self) -> None:
        failure, ws = self._pending, self._pending_ws
        assert failure is not None
        self._pending, self._pending_ws = None, []
        self.errors.append(failure)
        self._content(failure.raw)
        self._content("".join(ws))

    # content ------------------------------------------------------------------------------------

    def _content(self, text: str, *, last: bool = False) -> None:
        """Content text; ``last``: the end of the whole text (trailing whitespace is then final)."""
        if not text:
            return
        if self._pending is not None:
            if text.isspace():
                self._pending_ws.append(text)
                return
            failure = self._pending  # prose follows: the marker was only mentioned
            text = failure.raw + "".join(self._pending_ws) + text
            self._pending, self._pending_ws = None, []
        if last and not self._tool_seen and not text.isspace():
            # nothing follows, and trailing whitespace would be content at finish anyway: kept
            # in place instead of being cut off (a copy of the whole text)
            body, trail = text, ""
        else:
            body = text.rstrip()
            if not body:
                self._ws.append(text)
                return
            trail = text[len(body) :]
        if self._ws or body[0].isspace():
            lead = _SPACE.match(body).end()  # type: ignore[union-attr]  # matches the empty string
            if self._tool_seen and not self._content_seen:
                body = body[lead:]  # whitespace after a call, before any content: dropped
            elif self._ws:
                body = "".join(self._ws) + body
            self._ws = []
        self._emit_content(body)
        self._content_seen = True
        self._ws = [trail] if trail else []

    def _emit_content(self, text: str) -> None:
        self.content.append(text)
        if self._streaming:
            self.out.append(("content", text))
