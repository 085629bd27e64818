"""Reasoning spans: ``<think>...</think>`` (every format), ``<seed:think>...</seed:think>``
(Seed-OSS), Gemma 4's thought channel ``<|channel>thought\\n...<channel|>``, Cohere Command's
``<|START_THINKING|>...<|END_THINKING|>``.

The text of a span is reasoning (``reasoning_content``), markers included: a call quoted while the
model thinks is not a call. The tags themselves are dropped. Reasoning streams as it arrives until
a tool-call marker of the format appears inside the span; from there the text is held until the
span closes (then reasoning) or the text ends without closing it (then the held text is read
again as ordinary text, so a call written in a span that never closed is still read). A span that
never closes and holds no marker is all reasoning. Harmony's analysis channel is read by
:mod:`~modelplug.toolcalls.harmony`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Final

from modelplug.toolcalls._calls import Done, OfferedTools, Outcome, Reasoning, Reject
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._source import NEED, Read, Source, alternation
from modelplug.toolcalls.inkling import MESSAGE_MODEL, TEXT, THINKING

__all__ = ["COHERE_THINK", "GEMMA_THOUGHT", "HY_THINK", "SEED_THINK", "THINK", "open_span", "span_reader", "thinking"]

#: (opener, closer, layout after the opener) of each kind of span.
THINK: Final = ("<think>", "</think>", "")
SEED_THINK: Final = ("<seed:think>", "</seed:think>", "")
GEMMA_THOUGHT: Final = ("<|channel>thought", "<channel|>", "\n")
COHERE_THINK: Final = ("<|START_THINKING|>", "<|END_THINKING|>", "")
#: ``<think>`` with a tokenizer's suffix (Hy's ``<think:opensource>...</think:opensource>``): an
#: opener ending in ``:`` takes the suffix written after it, and its closer the same suffix.
HY_THINK: Final = ("<think:", "</think:", "")

_SUFFIX: Final = re.compile(r"[^\s<>]{1,64}>")


def thinking(span: tuple[str, str, str], markers: Iterable[str]) -> Reader:
    """A reader for one reasoning ``span`` (cursor on its opener); ``markers`` are the openers of
    the format's calls, whose appearance inside the span holds the text back (see the module
    docstring)."""
    opener, closer, layout = span
    literals = sorted({m for m in markers if m != opener} | {closer}, key=lambda m: (-len(m), m))
    pattern = alternation(literals)
    prefixes = frozenset(lit[:k] for lit in literals for k in range(1, len(lit)))
    longest = max(map(len, literals))

    def hold(s: str, i: int) -> int:
        """Where a tail of ``s[i:]`` that could still become a literal starts (or ``len(s)``)."""
        for k in range(max(i, len(s) - longest + 1), len(s)):
            if s[k:] in prefixes:
                return k
        return len(s)

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(opener)
        if layout:
            while len(src.s) - src.i < len(layout) and layout.startswith(src.s[src.i :]) and not src.eof:
                yield NEED
            if src.s.startswith(layout, src.i):
                src.i += len(layout)
        # 1. stream reasoning until the closer or a marker
        while True:
            m = pattern.search(src.s, src.i)
            if m is not None:
                if m.start() > src.i:
                    yield Reasoning(src.s[src.i : m.start()])
                src.i = m.start()
                if m.group() == closer:
                    src.i += len(closer)
                    return Done(None, tool_block=False)
                break
            cut = len(src.s) if src.eof else hold(src.s, src.i)
            if cut > src.i:
                yield Reasoning(src.s[src.i : cut])
                src.i = cut
            if src.eof:
                return Done(None, tool_block=False)
            yield NEED
        # 2. a marker at the cursor: hold the text from it until the closer or the end (the cursor
        # moves on, so the window does not grow; the held text is read back by position)
        held = src.pos
        while True:
            k = src.s.find(closer, src.i)
            if k >= 0:
                yield Reasoning(src.text(held, src.base + k))
                src.i = k + len(closer)
                return Done(None, tool_block=False)
            if src.eof:
                return Done(held, tool_block=False)
            src.i = max(src.i, len(src.s) - len(closer) + 1)
            yield NEED

    read.span = span  # type: ignore[attr-defined]  # what the engine's start_inside looks for
    return read


def span_reader(span: tuple[str, str, str], markers: Iterable[str]) -> Reader:
    """:func:`thinking`, or for a span whose opener ends in ``:`` (``HY_THINK``) a reader that
    takes the suffix written after the opener (``opensource>``) and reads the span it opens."""
    if not span[0].endswith(":"):
        return thinking(span, markers)
    opener, closer, layout = span
    frozen = tuple(sorted(markers))

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        start = src.pos
        src.i += len(opener)
        while True:
            k = src.s.find(">", src.i, src.i + 65)
            if k >= 0 or src.eof or len(src.s) - src.i >= 65:
                break
            yield NEED
        m = _SUFFIX.match(src.s, src.i, k + 1) if k >= 0 else None
        if m is None:
            return Reject(len(opener))
        suffix = m.group()
        src.i = start - src.base
        return (yield from _suffixed(opener + suffix, closer + suffix, layout, frozen)(src, ctx))

    read.span = span  # type: ignore[attr-defined]  # what the engine's start_inside looks for
    return read


@functools.lru_cache(maxsize=64)
def _suffixed(opener: str, closer: str, layout: str, markers: tuple[str, ...]) -> Reader:
    return thinking((opener, closer, layout), markers)


def open_span(prompt: str, format: str | None = None) -> str | None:
    """The opener of the reasoning span a rendered ``prompt`` leaves open at its end, or None.

    Chat templates of thinking models (Qwen3, DeepSeek-R1, ...) end the generation prompt with
    ``<think>`` (then whitespace), so the model's text starts inside the span and only closes it.
    A span counts as open when the prompt, trailing whitespace aside, ends with its opener (and
    its layout): an opener further back is an earlier turn's or a quote, never guessed at. The
    spans are ``<think>`` (every format), ``<seed:think>`` (seed_oss or detection), Gemma 4's
    ``<|channel>thought`` (gemma4 or detection), Hy's ``<think:SUFFIX>`` (hy_v3 or detection), and
    Inkling's ``<|message_model|>``, ``<|content_thinking|>`` and ``<|content_text|>`` (inkling or
    detection: the template ends the prompt inside a message, so the model writes the rest of its
    header first).
    """
    tail = prompt.rstrip()
    openers = [THINK[0]]
    if format in (None, "seed_oss"):
        openers.append(SEED_THINK[0])
    if format in (None, "gemma4"):
        openers.append(GEMMA_THOUGHT[0])
    if format in (None, "inkling"):
        openers += (MESSAGE_MODEL, THINKING, TEXT)
    for opener in openers:
        if tail.endswith(opener):
            return opener
    if format in (None, "hy_v3", "hy_v4"):
        m = _SUFFIXED_END.search(tail[-80:])
        if m is not None:
            return m.group()
    return None


#: ``<think:SUFFIX>`` at the end of a prompt (``HY_THINK``).
_SUFFIXED_END: Final = re.compile(r"<think:[^\s<>]{1,64}>\Z")
