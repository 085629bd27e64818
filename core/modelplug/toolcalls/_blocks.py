"""Reading a block of call elements up to its closer, where one unreadable element never sinks the
others: the recovery rule of every block format, in one place. Described in
``docs/toolcall-parser.md`` ("Blocks of calls").
"""

from __future__ import annotations

from collections.abc import Callable

from modelplug.toolcalls._calls import Outcome
from modelplug.toolcalls._jsoncalls import BlockCalls
from modelplug.toolcalls._source import NEED, Read, Source, accept, skip_ws

__all__ = ["Element", "read_block", "resync"]

#: Reads one element of a block, the cursor after its opener (the argument: the opener matched).
#: Announces and finishes its call through the block's :class:`BlockCalls`, and returns
#: ``(reason, name)``: ``reason`` is ``""`` when the call was read, else why it cannot be (the
#: failure is then recorded by :func:`read_block`, unless the element recorded it itself, as a
#: JSON call object that the text ends inside is); ``name`` is the tool name when it was read.
Element = Callable[[str], Read[tuple[str, str | None]]]


def read_block(
    src: Source,
    calls: BlockCalls,
    element: Element,
    *,
    openers: tuple[str, ...],
    closers: tuple[str, ...],
    ends: tuple[str, ...] = (),
    empty: bool = False,
) -> Read[Outcome | None]:
    """Read the elements of a block: each starts with one of ``openers`` (consumed, then read by
    ``element``), and the block ends at one of ``closers`` (consumed) or at text that is neither.

    An element that cannot be read is recorded on ``calls`` (``call N ('name'): reason``) and the
    reading goes on at the next element opener or block closer, or after the next of ``ends``
    (the tokens that end an element, like ``</invoke>``), whichever comes first; element ends
    left between elements are dropped. ``empty``: the block may close before any element (a
    special-token list with nothing in it).

    Returns None when no element starts at the cursor (nothing consumed but whitespace: the
    caller decides what the text is), else the block's outcome: done, or an error naming the
    first call that cannot be used; a failure (an error once something was announced, else
    possibly a mention) when the text ended inside an unreadable element.
    """
    count = 0
    end: int | None = None
    while True:
        yield from skip_ws(src)
        if count and (yield from _accept_any(src, ends)):
            end = src.pos
            continue
        if (count or empty) and (yield from _accept_any(src, closers)):
            return calls.outcome(None)
        opener = yield from _accept_any(src, openers)
        if not opener:
            return calls.outcome(end) if count else None
        reason, name = yield from element(opener)
        count += 1
        if reason:
            if not calls.errors or calls.errors[-1] != reason:  # not recorded by the element itself
                calls.bad(reason, name)
            if not (yield from resync(src, (*openers, *closers), ends)):
                return calls.failed(calls.errors[-1])
        end = src.pos


def _accept_any(src: Source, literals: tuple[str, ...]) -> Read[str]:
    """Consume the first of ``literals`` that starts at the cursor; ``""`` when none does."""
    for literal in literals:
        if (yield from accept(src, literal)):
            return literal
    return ""


def resync(src: Source, stops: tuple[str, ...], ends: tuple[str, ...] = ()) -> Read[bool]:
    """Move the cursor to the first of ``stops`` (not consumed) or past the first of ``ends``,
    whichever comes first in the text; False when the text ends first (cursor at the end).

    Decides only once every literal that could start before the one found is in the text, so the
    result does not depend on how the text was split.
    """
    marks = (*stops, *ends)
    longest = max(map(len, marks))
    while True:
        s, i = src.s, src.i
        best, mark = -1, ""
        for literal in marks:
            k = s.find(literal, i)
            if k >= 0 and (best < 0 or k < best or (k == best and len(literal) > len(mark))):
                best, mark = k, literal
        if best >= 0 and (src.eof or best + longest <= len(s)):
            src.i = best + (len(mark) if mark in ends and mark not in stops else 0)
            return True
        if src.eof:
            src.i = len(s)
            return False
        src.i = max(i, min(best if best >= 0 else len(s), len(s) - longest + 1))
        yield NEED
