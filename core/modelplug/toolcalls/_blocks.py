"""Reading a block of call elements up to its closer, where one unreadable element never sinks the
others: the recovery rule of every block format, in one place. Described in
``docs/toolcall-parser.md`` ("Blocks of calls").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Final, TypeAlias, final

from modelplug.toolcalls._calls import Outcome
from modelplug.toolcalls._jsoncalls import BlockCalls
from modelplug.toolcalls._source import NEED, Read, Source, at, peek, skip_ws

__all__ = ["Element", "Spaced", "Token", "read_block", "read_special_block", "resync"]

#: Reads one element of a block, the cursor after its opener (the argument: the opener matched,
#: a :class:`Spaced` one as written without its whitespace).
#: Announces and finishes its call through the block's :class:`BlockCalls`, and returns
#: ``(reason, name)``: ``reason`` is ``""`` when the call was read, else why it cannot be (the
#: failure is then recorded by :func:`read_block`, unless the element recorded it itself, as a
#: JSON call object that the text ends inside is); ``name`` is the tool name when it was read.
Element = Callable[[str], Read[tuple[str, str | None]]]

_WS: Final = re.compile(r"\s*")


@final
class Spaced:
    """A token written as ``head``, any whitespace, then ``tail``: MiniMax-M3's namespace token
    before a tag (``]<]minimax[>[ <invoke name="``), which is no literal to search for. Found by
    its ``head``, then told apart by what follows it."""

    __slots__ = ("head", "tail")

    def __init__(self, head: str, tail: str) -> None:
        self.head = head
        self.tail = tail

    def __str__(self) -> str:
        return self.head + self.tail

    def __repr__(self) -> str:
        return repr(str(self))


#: A structural token of a block: a literal, or a :class:`Spaced` one.
Token: TypeAlias = "str | Spaced"


def read_block(
    src: Source,
    calls: BlockCalls,
    element: Element,
    *,
    openers: tuple[Token, ...],
    closers: tuple[Token, ...],
    ends: tuple[Token, ...] = (),
    empty: bool = False,
    special: bool = False,
) -> Read[Outcome | None]:
    """Read the elements of a block: each starts with one of ``openers`` (consumed, then read by
    ``element``), and the block ends at one of ``closers`` (consumed) or at text that is neither.

    An element that cannot be read is recorded on ``calls`` (``call N ('name'): reason``) and the
    reading goes on at the next element opener or block closer, or after the next of ``ends``
    (the tokens that end an element, like ``</invoke>``), whichever comes first; element ends
    left between elements are dropped. ``empty``: the block may close before any element (a
    special-token list with nothing in it). ``special``: the tokens are special tokens, never
    mentioned in prose, so text that is none of them right after an unreadable element is taken
    as that element's run-on (a closer inside one of its strings ended it early) and the reading
    goes on at the next token, instead of the block ending there. Tokens are literals or :class:`Spaced`.

    Returns None when no element starts at the cursor (nothing consumed but whitespace: the
    caller decides what the text is), else the block's outcome: done, or an error naming the
    first call that cannot be used; a failure (an error once something was announced, else
    possibly a mention) when the text ended inside an unreadable element.
    """
    count = 0
    end: int | None = None
    failed = False
    while True:
        yield from skip_ws(src)
        if count and (yield from _accept_any(src, ends)):
            end = src.pos
            continue
        if (count or empty) and (yield from _accept_any(src, closers)):
            return calls.outcome(None)
        opener = yield from _accept_any(src, openers)
        if not opener:
            here = src.pos
            if special and failed and (yield from resync(src, (*openers, *closers), ends)):
                end = src.pos  # the failed element ran on past where it was cut
                continue
            src.seek(here)
            return calls.outcome(end) if count else None
        reason, name = yield from element(str(opener))
        count += 1
        failed = bool(reason)
        if reason:
            if not calls.errors or calls.errors[-1] != reason:  # not recorded by the element itself
                calls.bad(reason, name)
            if not (yield from resync(src, (*openers, *closers), ends)):
                return calls.failed(calls.errors[-1])
        end = src.pos


def read_special_block(
    src: Source,
    calls: BlockCalls,
    element: Element,
    *,
    openers: tuple[Token, ...],
    closers: tuple[Token, ...],
    ends: tuple[Token, ...],
    expected: str,
    opened: str,
) -> Read[Outcome]:
    """:func:`read_block` for a special-token list that may be empty (DeepSeek, Kimi K2 and K3,
    Step-3, PLaMo 3, MiniMax-M3), cursor after its opener. Where no element starts, the list is broken:
    ``expected {expected}`` (other text follows) or ``the text ends after {opened}``, and it runs
    through the first of ``closers`` (or to the end of the text), since special tokens are
    written by the model, not mentioned in prose."""
    outcome = yield from read_block(
        src, calls, element, openers=openers, closers=closers, ends=ends, empty=True, special=True
    )
    if outcome is not None:
        return outcome
    reason = f"expected {expected}" if peek(src) else f"the text ends after {opened}"
    yield from resync(src, (), closers)
    return calls.failed(reason)


def _match(src: Source, token: Token) -> Read[int]:
    """How long ``token`` is where it starts at the cursor (its whitespace included), else 0;
    nothing is consumed."""
    if isinstance(token, str):
        return len(token) if (yield from at(src, token)) else 0
    if not (yield from at(src, token.head)):
        return 0
    rel = len(token.head)  # where the whitespace run ends, relative to the cursor (kept across waits)
    while True:
        rel = _WS.match(src.s, src.i + rel).end() - src.i  # type: ignore[union-attr]  # matches ""
        if src.i + rel < len(src.s) or src.eof:
            break
        yield NEED
    tail = token.tail
    while True:
        got = src.s[src.i + rel : src.i + rel + len(tail)]
        if got == tail:
            return rel + len(tail)
        if src.eof or not tail.startswith(got):
            return 0
        yield NEED


def _accept_any(src: Source, tokens: tuple[Token, ...]) -> Read[Token]:
    """Consume the first of ``tokens`` that starts at the cursor; ``""`` when none does."""
    for token in tokens:
        n = yield from _match(src, token)
        if n:
            src.i += n
            return token
    return ""


@functools.lru_cache(maxsize=256)
def _marks_pattern(marks: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern finding the first of ``marks`` (tried in this order where several start at one
    position)."""
    return re.compile("|".join(map(re.escape, marks)))


def resync(src: Source, stops: tuple[Token, ...], ends: tuple[Token, ...] = ()) -> Read[bool]:
    """Move the cursor to the first of ``stops`` (not consumed) or past the first of ``ends``,
    whichever comes first in the text; False when the text ends first (cursor at the end).

    Decides only once every literal that could start before the one found is in the text, so the
    result does not depend on how the text was split. A :class:`Spaced` token is looked for by its
    head; a head that the token's tail does not follow is passed over.
    """
    tokens = (*stops, *ends)
    # what is searched for: literal tokens, and the heads of spaced ones (a literal wins a tie)
    marks = tuple(dict.fromkeys(token if isinstance(token, str) else token.head for token in tokens))
    literal = frozenset(token for token in tokens if isinstance(token, str))
    # at one position: a literal, then the longest (one search for all: a mark that is not in the
    # text must not be looked for to the text's end at every resync, which was quadratic)
    pattern = _marks_pattern(tuple(sorted(marks, key=lambda m: (m in literal, len(m)), reverse=True)))
    longest = max(map(len, marks))
    while True:
        s, i = src.s, src.i
        found = pattern.search(s, i)
        best, mark = (found.start(), found.group()) if found is not None else (-1, "")
        if best >= 0 and (src.eof or best + longest <= len(s)):
            src.i = best
            if mark in literal:
                if mark in ends and mark not in stops:
                    src.i += len(mark)
                return True
            for token in tokens:
                if isinstance(token, Spaced) and token.head == mark:
                    n = yield from _match(src, token)
                    if n:
                        if token not in stops:
                            src.i += n
                        return True
            src.i += 1  # a head without its tail: text
            continue
        if src.eof:
            src.i = len(s)
            return False
        src.i = max(i, min(best if best >= 0 else len(s), len(s) - longest + 1))
        yield NEED
