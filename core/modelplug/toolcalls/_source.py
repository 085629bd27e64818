"""Reading a block of model text that arrives in pieces.

Every format reader is a generator over a :class:`Source`. When it needs text that has not arrived
yet it yields :data:`NEED` and is resumed after the next piece; when the text has ended
(``src.eof``) the primitives below decide with what is there. A reader never decides anything from
where a piece happens to end, so a block read in one piece or in a thousand gives the same result.

The source keeps every piece of the block (to hand back the raw text of a call or of the whole
block), but scanning only touches a small window after the cursor: each byte is looked at a bounded
number of times, however the text is split.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Generator, Iterable
from typing import Final, TypeAlias, TypeVar, final

__all__ = [
    "NAME_RE",
    "NEED",
    "Read",
    "Source",
    "accept",
    "alternation",
    "at",
    "need",
    "peek",
    "read_name",
    "read_run",
    "skip_ws",
    "until",
    "until_re",
]

_T = TypeVar("_T")


@final
class _Need:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED"


#: Yielded by a reader that needs more text before it can go on. A reader may instead yield a
#: list of events: those events, then NEED.
NEED: Final = _Need()

#: A reader step: yields NEED or events, returns a value.
Read: TypeAlias = Generator[object, None, _T]

_WS = re.compile(r"\s*")
#: A function or tool name as written by models: letters, digits, ``_``, ``.``, ``-`` and ``/``.
NAME_RE: Final = re.compile(r"[A-Za-z_][\w.\-/]*")
_NAME_RUN = re.compile(r"[\w.\-/]*")


@final
class Source:
    """The text of one block, from its first character (position 0) to what has arrived so far.

    ``s`` is the window being scanned and ``i`` the cursor in it; ``base`` is the position of
    ``s[0]`` in the block. Positions handed around by readers are block positions (``pos``).
    ``leading`` tells whether only whitespace came before the block in the whole text;
    ``after_calls`` whether a block of tool calls came before it.
    """

    __slots__ = ("_chunks", "_starts", "after_calls", "base", "end", "eof", "i", "leading", "origin", "reread", "s")

    def __init__(self, text: str, start: int, eof: bool) -> None:
        self.s = text
        self.i = start
        self.base = -start
        self.end = len(text) - start
        self.eof = eof
        self._chunks = [text]
        self._starts = [-start]
        self.leading = False
        self.after_calls = False
        #: Where the block starts in the whole text, and how many characters the readers of the
        #: whole text gave back to be read again so far (:meth:`give_back`); kept by the engine.
        self.origin = 0
        self.reread = 0

    @property
    def pos(self) -> int:
        """The cursor as a block position."""
        return self.base + self.i

    def feed(self, chunk: str, eof: bool) -> None:
        """Append the next piece of text (``eof``: it is the last)."""
        if chunk:
            self._chunks.append(chunk)
            self._starts.append(self.end)
            self.end += len(chunk)
            self.base += self.i
            self.s = self.s[self.i :] + chunk
            self.i = 0
        self.eof = eof

    def seek(self, pos: int) -> None:
        """Move the cursor to block position ``pos``, also back before the window (which is then
        rebuilt from the text kept since the block's start)."""
        if pos < self.base:
            self.s = self.text(pos, self.end)
            self.base = pos
        self.i = pos - self.base

    def may_reread(self, cost: int = 0) -> bool:
        """Whether ``cost`` more characters may be read again: over the whole text, at most twice
        the text read so far (to the cursor) plus 4096 are (see :meth:`give_back`)."""
        return self.reread + cost <= 2 * (self.origin + self.pos) + 4096

    def give_back(self, start: int, closer: str, *, keep: bool = False) -> bool:
        """After a JSON scan from block position ``start`` failed (invalid or truncated) with the
        cursor past it: when ``closer`` occurs in between, move the cursor to just after its first
        occurrence and return True; the call fails alone there and what follows is read again
        (issue 12, kind 1: an unclosed string must not swallow the later calls). False, leaving
        the cursor, when ``closer`` does not occur or the re-read budget is spent: at most twice
        the text read so far plus 4096 characters are read again over the whole text, so no input
        is quadratic. Decided from positions only, never from where a piece ended. ``keep``: the
        marker opens the next call (Mistral's ``[TOOL_CALLS]``): the cursor goes to its start."""
        k = self.text(start, self.pos).find(closer)
        if k < 0:
            return False
        back = start + k + (0 if keep else len(closer))
        cost = self.pos - back
        if not self.may_reread(cost):
            return False
        self.reread += cost
        self.seek(back)
        return True

    def text(self, a: int, b: int) -> str:
        """The block text between positions ``a`` and ``b``."""
        if a >= self.base:
            return self.s[a - self.base : b - self.base]
        k = bisect.bisect_right(self._starts, a) - 1
        parts = []
        while a < b:
            chunk, start = self._chunks[k], self._starts[k]
            parts.append(chunk[a - start : b - start])
            a = start + len(chunk)
            k += 1
        return "".join(parts)


def peek(src: Source) -> str:
    """The character at the cursor, or ``""`` (call after a step that waited for it)."""
    return src.s[src.i : src.i + 1]


def skip_ws(src: Source) -> Read[None]:
    """Consume whitespace; return once a non-space character is at the cursor or the text ended."""
    while True:
        src.i = _WS.match(src.s, src.i).end()  # type: ignore[union-attr]
        if src.i < len(src.s) or src.eof:
            return
        yield NEED


def at(src: Source, literal: str) -> Read[bool]:
    """Whether ``literal`` starts at the cursor (nothing is consumed).

    Decides as soon as the text differs, so prose that merely starts like a token is not held.
    """
    n = len(literal)
    while True:
        got = src.s[src.i : src.i + n]
        if got == literal:
            return True
        if src.eof or not literal.startswith(got):
            return False
        yield NEED


def accept(src: Source, literal: str) -> Read[bool]:
    """Consume ``literal`` if it starts at the cursor."""
    found = yield from at(src, literal)
    if found:
        src.i += len(literal)
    return found


def until(src: Source, literal: str, limit: int | None = None) -> Read[bool]:
    """Move the cursor to the next ``literal`` (not consumed).

    Returns False when the text ends first (cursor at the end) or, with ``limit``, when the literal
    does not start within ``limit`` characters (cursor left where it was).
    """
    n = len(literal)
    if limit is None:
        while True:
            k = src.s.find(literal, src.i)
            if k >= 0:
                src.i = k
                return True
            if src.eof:
                src.i = len(src.s)
                return False
            # wait on the tail that could still become the literal only: the text before it is
            # certain not to hold it (what a value streamed while it is written may hand out)
            src.i = _partial(src.s, max(src.i, len(src.s) - n + 1), literal[0], (literal,))
            yield NEED
    start = src.pos
    while True:
        lo = start - src.base
        k = src.s.find(literal, lo, lo + limit + n)
        if k >= 0:
            src.i = k
            return True
        if src.eof or len(src.s) >= lo + limit + n:
            return False
        yield NEED


def _partial(s: str, lo: int, first: str, literals: tuple[str, ...]) -> int:
    """Where the first tail of ``s[lo:]`` that is a proper prefix of one of ``literals`` (all
    starting with ``first``) starts, else ``len(s)``. ``lo`` is within the longest literal's length
    of the end, so this is constant time per call."""
    j = s.find(first, lo)
    while j >= 0:
        tail = s[j:]
        if any(literal.startswith(tail) for literal in literals):
            return j
        j = s.find(first, j + 1)
    return len(s)


def until_re(
    src: Source, pattern: re.Pattern[str], longest: int, literals: tuple[str, ...] = ()
) -> Read[re.Match[str] | None]:
    """Move the cursor to the next match of ``pattern`` (an alternation of literals at most
    ``longest`` long, none a prefix of another, each with its first character nowhere else in it).
    Returns the match (not consumed) or None at the end of the text (cursor at the end).

    ``literals``: the pattern's literals, when they all start with the same character; while it
    waits, the cursor then stops only at a tail that could still become one of them (else
    ``longest - 1`` characters from the end), so the text before it is known to be free of them.
    """
    while True:
        m = pattern.search(src.s, src.i)
        if m is not None:
            src.i = m.start()
            return m
        if src.eof:
            src.i = len(src.s)
            return None
        lo = max(src.i, len(src.s) - longest + 1)
        src.i = _partial(src.s, lo, literals[0][0], literals) if literals else lo
        yield NEED


def need(src: Source, n: int = 1) -> Read[bool]:
    """Wait until ``n`` characters are available after the cursor; False if the text ends first."""
    while len(src.s) - src.i < n:
        if src.eof:
            return False
        yield NEED
    return True


def read_run(src: Source, run: re.Pattern[str], limit: int = 512) -> Read[str | None]:
    """Consume the longest run of text matching ``run`` (a pattern like ``[\\w.]*``) at the cursor;
    None when it is longer than ``limit`` (the cursor is then unspecified)."""
    a = src.pos
    while True:
        src.i = run.match(src.s, src.i).end()  # type: ignore[union-attr]
        if src.pos - a > limit:
            return None
        if src.i < len(src.s) or src.eof:
            return src.text(a, src.pos)
        yield NEED


def read_name(src: Source) -> Read[str]:
    """Consume a name (``NAME_RE``, at most 512 characters) at the cursor; ``""`` when there is none
    (the cursor is then unspecified: callers give explicit block positions)."""
    yield from need(src)
    if NAME_RE.match(src.s, src.i) is None:
        return ""
    name = yield from read_run(src, _NAME_RUN)
    return name or ""


def alternation(literals: Iterable[str]) -> re.Pattern[str]:
    """A pattern matching any of ``literals``, the longest where several match at one position.

    The literals form a trie (``<(?:t(?:ool_call>|hink>)|\\|...)|\\[...``), so at a candidate
    position a search follows one branch per character however many literals share a prefix.
    """
    return re.compile(_trie(sorted(set(literals))))


def _trie(literals: list[str]) -> str:
    """The pattern of a trie of ``literals`` (sorted); the empty literal, if any, is tried last."""
    groups: dict[str, list[str]] = {}
    ends = False
    for literal in literals:
        if literal:
            groups.setdefault(literal[0], []).append(literal[1:])
        else:
            ends = True
    branches = []
    for first, rests in groups.items():
        if len(rests) == 1:
            branches.append(re.escape(first + rests[0]))
            continue
        shared = _shared_prefix(rests)
        tails = [rest[len(shared) :] for rest in rests]
        branches.append(re.escape(first + shared) + "(?:" + _trie(tails) + ")")
    return "|".join([*branches, ""] if ends else branches)


def _shared_prefix(texts: list[str]) -> str:
    """The longest prefix all of ``texts`` (sorted, at least one) start with."""
    first, last = texts[0], texts[-1]
    k = 0
    while k < min(len(first), len(last)) and first[k] == last[k]:
        k += 1
    return first[:k]
