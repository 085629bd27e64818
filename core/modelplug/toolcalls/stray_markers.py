"""Closing markers left in the text without their block (``</tool_call>`` after the calls, a
second ``<|tool_call_end|>``, ...), ``[TOOL_CALLS]`` with nothing after it, and a marker pair
around something that is not a call.

A closing marker of the format that no block opened, met after a block of calls, is dropped when
only whitespace follows it to the end of the text (the model's trailing markup, which vLLM and
SGLang leave out of the content too). Anywhere else (before any call, or followed by prose) it
stays in the content. A marker and its closer around a body that is not a call
(``<tool_call>hello</tool_call>``) is an error when nothing follows it, a mention (content) when
prose does (:func:`closed_pair`).
"""

from __future__ import annotations

import functools
import re
from typing import Final

from modelplug.toolcalls._calls import Done, Fail, OfferedTools, Outcome, Reject
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._source import NEED, Read, Source, accept, alternation, peek, read_run, skip_ws

__all__ = ["CLOSERS", "PAIR_LIMIT", "closed_pair", "dropped_marker", "stray_closer"]

_SUFFIX: Final = re.compile(r"[^\s<>]*")

#: The closing markers of each format (those with a closer).
CLOSERS: Final[dict[str, tuple[str, ...]]] = {
    "hermes": ("</tool_call>",),
    "smollm2": ("</tool_call>",),
    "granite": ("</tool_call>",),
    "xlam": ("</tool_call>",),
    "qwen3_coder": ("</tool_call>", "</function>"),
    "glm45": ("</tool_call>",),
    "glm47": ("</tool_call>",),
    "internlm2": ("<|action_end|>",),
    "jamba": ("</tool_calls>",),
    "hunyuan_a13b": ("</tool_calls>",),
    "minimax": ("</tool_calls>",),
    "llama4_pythonic": ("<|python_end|>",),
    "lfm2": ("<|tool_call_end|>",),
    "olmo3": ("</function_calls>",),
    "seed_oss": ("</seed:tool_call>",),
    "minimax_m2": ("</minimax:tool_call>",),
    "step3": ("<｜tool_calls_end｜>", "<｜tool_call_end｜>"),
    "deepseek_v3": ("<｜tool▁calls▁end｜>", "<｜tool▁call▁end｜>"),
    "deepseek_v31": ("<｜tool▁calls▁end｜>", "<｜tool▁call▁end｜>"),
    "deepseek_v32": ("</｜DSML｜function_calls>",),
    "kimi_k2": ("<|tool_calls_section_end|>", "<|tool_call_end|>"),
    "gemma4": ("<tool_call|>",),
    "functiongemma": ("<end_function_call>",),
    "deepseek_v4": ("</｜DSML｜tool_calls>",),
    "deepseek_v41": ("</｜DSML｜ calls>",),
    "gigachat35": ("</｜GCML｜tool_calls>",),
    "kimi_k3": ("<|close|>tools<|sep|>",),
    "hy_v3": ("</tool_calls>", "</tool_call>", "</tool_calls:", "</tool_call:"),
    "longcat": ("</longcat_tool_call>",),
    "qwen25_coder": ("</tools>",),
    "nemotron_json": ("</TOOLCALL>",),
    "cohere_command4": ("<|END_ACTION|>",),
    "gigachat3": ("</s>",),
    "apertus": ("<|tools_suffix|>",),
    "step_audio_2": ("</tool_call>",),
    "dots": ("</dots_function_call>",),
    "solar_open2": ("<|tool_call:end|>",),
    "minicpm5": ("</function>",),
    "plamo3": ("<|plamo:end_tool_requests:plamo|>", "<|plamo:tag|>"),
    "iquest_q1": ("</iquest_tool_call>",),
    "hyperclovax_seed_think": ("</tool_call>",),
    "rwkv": ("```",),
    "k2_horizon": ("</ifm|tool_calls>",),
    "cwm": ("</tool>",),
    "minimax_m3": ("]<]minimax[>[</tool_call>",),
    "muse_glimmer": ("</atem:function_calls>",),
}


def stray_closer(closer: str) -> Reader:
    """A reader for ``closer`` met outside any block (see the module docstring). A closer ending in
    ``:`` is the start of a tag with a tokenizer's suffix (Hy's ``</tool_call:opensource>``)."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        if not src.after_calls:
            return Reject(len(closer))
        src.i += len(closer)
        if closer.endswith(":"):
            suffix = yield from read_run(src, _SUFFIX, 64)
            if not suffix or not (yield from accept(src, ">")):
                return Reject(len(closer))
        yield from skip_ws(src)
        if peek(src):
            return Reject(len(closer))
        return Done(None, tool_block=False)

    read.stray = True  # type: ignore[attr-defined]  # the engine looks for it only after a call
    return read


def dropped_marker(marker: str) -> Reader:
    """A reader for ``marker``, markup around content that is no call (Kimi K3's response channel
    tags): dropped wherever it appears."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(marker)
        yield from ()  # a generator, like every reader
        return Done(None, tool_block=False)

    return read


#: How far (characters) after a marker that opens no call its closer is looked for.
PAIR_LIMIT: Final = 256


def closed_pair(
    reader: Reader, opener: str, format: str, closers: tuple[str, ...], markers: tuple[str, ...]
) -> Reader:
    """``reader`` (of ``opener``, a marker of ``format`` whose closing markers are ``closers``) where text
    never vanishes: when what follows the marker is not a call (the reader rejects it, or fails
    before its closer), and one of ``closers`` ends it within :data:`PAIR_LIMIT` characters with
    no other marker (``markers``: the openers of the format) before it, the block runs through
    that closer and is a failed call: an error when nothing but calls or whitespace follows it,
    content when prose does (the engine's rule for a failure). The body is never read as calls
    or content of its own; a later marker keeps the body out of the pair (a call after a
    mention is still read)."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        opener_end = src.pos + len(opener)
        outcome = yield from reader(src, ctx)
        kind = type(outcome)
        if kind is not Reject and kind is not Fail:
            return outcome
        end = src.pos if outcome.end is None else outcome.end
        if kind is Reject and end > opener_end:
            return outcome  # the reader read the marker as content on purpose (InternLM's interpreter)
        if kind is Fail and any(src.text(end - len(c), end) == c for c in closers if end >= len(c)):
            return outcome  # the reader read through its closer
        src.seek(max(end, opener_end))
        closed = yield from _closer_within(src, closers, markers)
        if closed is None:
            return outcome
        if isinstance(outcome, Fail):
            return Fail(outcome.format, outcome.reason, closed)
        body = src.text(opener_end, closed)
        closer = next(c for c in closers if body.endswith(c))
        return Fail(format, f"no call between {opener!r} and {closer!r} ({body[: -len(closer)][:60]!r})", closed)

    return functools.wraps(reader)(read)


def _closer_within(src: Source, closers: tuple[str, ...], markers: tuple[str, ...]) -> Read[int | None]:
    """The block position after the first of ``closers`` that starts within :data:`PAIR_LIMIT`
    characters of the cursor with none of ``markers`` before it; None otherwise. Decides only once
    the text can no longer change the answer (split-independent); linear in the window."""
    pattern, longest = _pattern(closers, markers)
    literals = (*closers, *markers)
    start = src.pos
    scanned = start  # block position before which no literal starts
    while True:
        lo, hi = scanned - src.base, start - src.base + PAIR_LIMIT + longest
        m = pattern.search(src.s, lo, hi)
        if m is not None:
            if m.start() - (start - src.base) > PAIR_LIMIT:
                return None
            token = m.group()
            rest = src.s[m.start() : m.start() + longest]  # a longer literal (a closer) may start so
            if src.eof or not any(len(x) > len(rest) and x.startswith(token) and x.startswith(rest) for x in literals):
                return src.base + m.end() if token in closers else None
            scanned = src.base + m.start()  # a longer literal may still be written here
        elif src.eof or len(src.s) >= hi:
            return None
        else:
            scanned = max(scanned, src.base + len(src.s) - longest + 1)
        yield NEED


@functools.cache
def _pattern(closers: tuple[str, ...], markers: tuple[str, ...]) -> tuple[re.Pattern[str], int]:
    literals = (*closers, *markers)
    return alternation(literals), max(map(len, literals))
