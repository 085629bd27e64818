"""Provider-independent checks the conformance kit is made of.

Each function inspects what a provider produced and returns a list of problems (plain sentences
that say what is wrong and what the contract is), empty when all is well. They raise nothing, so a
plugin's own tests can use them on any output::

    from modelplug.testing.checks import usage_problems
    assert not usage_problems(usages, final=message.usage)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from modelplug._stream import ChatStream

if TYPE_CHECKING:
    from modelplug._astream import AsyncChatStream
from modelplug.types import ChatMessage, ChatMessageStreamDelta, Tool, ToolCall, Usage

__all__ = [
    "StreamRun",
    "aconsume",
    "consume",
    "pick_stop_sequence",
    "stop_leak_problems",
    "tool_call_problems",
    "usage_problems",
]


@attrs.define
class StreamRun:
    """Everything a stream produced, gathered by :func:`consume`.

    Attributes:
        deltas: the deltas, in order.
        texts: the content received so far, after each content-bearing delta (for leak checks).
        usages: the ``usage`` of each delta that carried one, in order.
        message: the stream's aggregate (``ChatStream.message``).
        outcome: ``ChatStream.outcome`` (``"ok"``, ``"error"``, ``"cancelled"``).
    """

    deltas: list[ChatMessageStreamDelta]
    texts: list[str]
    usages: list[Usage]
    message: ChatMessage
    outcome: str | None

    @property
    def content_deltas(self) -> int:
        """How many deltas carried text (``content``)."""
        return len(self.texts)

    @property
    def joined(self) -> str:
        """The content of every delta, joined."""
        return self.texts[-1] if self.texts else ""


def consume(stream: ChatStream) -> StreamRun:
    """Iterate ``stream`` to its end inside a ``with`` block and record what arrived."""
    deltas: list[ChatMessageStreamDelta] = []
    texts: list[str] = []
    usages: list[Usage] = []
    text = ""
    with stream:
        for delta in stream:
            deltas.append(delta)
            if delta.content:
                text += delta.content
                texts.append(text)
            if delta.usage is not None:
                usages.append(delta.usage)
    return StreamRun(deltas, texts, usages, stream.message, stream.outcome)


async def aconsume(stream: AsyncChatStream) -> StreamRun:
    """Iterate ``stream`` (async) to its end inside an ``async with`` block and record what arrived."""
    deltas: list[ChatMessageStreamDelta] = []
    texts: list[str] = []
    usages: list[Usage] = []
    text = ""
    async with stream:
        async for delta in stream:
            deltas.append(delta)
            if delta.content:
                text += delta.content
                texts.append(text)
            if delta.usage is not None:
                usages.append(delta.usage)
    return StreamRun(deltas, texts, usages, stream.message, stream.outcome)


def pick_stop_sequence(
    text: str, *, start: int = 1, lengths: Iterable[int] = (4, 3, 5, 6, 8)
) -> tuple[str, int] | None:
    """Choose a stop sequence from a model's own answer, and where it first occurs.

    The sequence starts in the middle of a word (so it rarely matches a token boundary, and a
    backend that only cuts whole tokens would leak part of it), starts at or after ``start``
    (characters; later positions are preferred, from the middle of the text on) and first occurs
    exactly there, so cutting ``text`` at the stop gives ``text[:position]``.

    Returns ``(stop, position)``, or ``None`` when the text has no such place.
    """
    lengths = tuple(lengths)
    middle = max(start, len(text) // 2)
    order = [*range(middle, len(text)), *range(middle - 1, max(start, 1) - 1, -1)]
    for mid_word in (True, False):
        for position in order:
            if mid_word and not (text[position - 1].isalnum() and text[position].isalnum()):
                continue
            for length in lengths:
                stop = text[position : position + length]
                if len(stop) == length and stop.strip() == stop and text.find(stop) == position:
                    return stop, position
    return None


def stop_leak_problems(run: StreamRun, stop: str, expected: str | None) -> list[str]:
    """Problems with how a stream honoured the stop sequence ``stop``.

    ``expected`` is the text before the stop (the greedy answer cut at the stop), or ``None`` when
    the backend is not deterministic; then only "the stop never appears" is checked.
    """
    problems: list[str] = []
    for number, text in enumerate(run.texts, 1):
        if stop in text:
            problems.append(
                f"the stop sequence {stop!r} reached the consumer (after content delta {number}: {text[-60:]!r})"
            )
            break
        if expected is not None and not expected.startswith(text):
            problems.append(
                f"content delta {number} went past the stop sequence {stop!r}: the stream said {text[-60:]!r} "
                f"but the answer before the stop is {expected[-60:]!r} (part of the stop sequence leaked)"
            )
            break
    if expected is not None and run.joined != expected:
        problems.append(
            f"the streamed text {run.joined[-60:]!r} should end just before the stop sequence: {expected[-60:]!r}"
        )
    if run.message.finish_reason != "stop":
        problems.append(f"finish_reason is {run.message.finish_reason!r} after a stop sequence, not 'stop'")
    return problems


def usage_problems(
    usages: Sequence[Usage],
    *,
    final: Usage | None,
    reference: Usage | None = None,
    max_tokens: int | None = None,
    finish_reason: str | None = None,
) -> list[str]:
    """Problems with the usage a stream reported.

    Args:
        usages: the usage of each delta that carried one, in order.
        final: the aggregate's usage (``ChatStream.message.usage``).
        reference: the usage ``generate`` reported for the same greedy request (or ``None``).
        max_tokens: the request's ``max_tokens``.
        finish_reason: the stream's finish reason.

    The rules (see ``docs/concepts/usage.md``): usage comes once, or as cumulative snapshots, so
    every snapshot repeats the same ``prompt_tokens`` and the completion count never goes down;
    the aggregate keeps the last one; it equals what ``generate`` reports; and an answer cut by
    ``max_tokens`` (finish reason ``"length"``) counts exactly ``max_tokens`` completion tokens.
    A provider that sends increments to be summed breaks one of these.
    """
    problems: list[str] = []
    if not usages:
        return problems
    if final != usages[-1]:
        problems.append(f"the aggregate's usage {final} is not the last usage sent {usages[-1]}")
    prompts = {u.prompt_tokens for u in usages}
    if len(prompts) > 1:
        problems.append(
            f"usage snapshots disagree on prompt_tokens {sorted(prompts)}: send usage once, or cumulative "
            "snapshots that repeat the prompt count (increments would be double counted)"
        )
    for before, after in itertools.pairwise(usages):
        if after.completion_tokens < before.completion_tokens or after.total_tokens < before.total_tokens:
            problems.append(f"usage went down from {before} to {after}: snapshots must be cumulative, never increments")
            break
    last = usages[-1]
    if last.total_tokens < last.prompt_tokens + last.completion_tokens:
        problems.append(f"total_tokens {last.total_tokens} < prompt_tokens + completion_tokens in {last}")
    if reference is not None and last != reference:
        problems.append(
            f"the stream's final usage {last} differs from generate()'s usage {reference} for the same request"
        )
    if finish_reason == "length" and max_tokens is not None and last.completion_tokens != max_tokens:
        problems.append(
            f"the answer was cut by max_tokens={max_tokens} (finish_reason 'length') but the usage counts "
            f"{last.completion_tokens} completion tokens"
        )
    return problems


def tool_call_problems(message: ChatMessage, tools: Sequence[Tool]) -> list[str]:
    """Problems with the tool calls of ``message``: each must be a :class:`ToolCall` with an id, the
    name of one of ``tools`` and decoded arguments (a dict)."""
    names = {tool.name for tool in tools}
    problems: list[str] = []
    calls: tuple[object, ...] = message.tool_calls  # a provider may have put anything there
    for call in calls:
        if not isinstance(call, ToolCall):
            problems.append(f"a tool call is a {type(call).__name__}, not a modelplug.ToolCall: {call!r}")
            continue
        if not call.id:
            problems.append(f"tool call {call.name!r} has no id")
        if call.name not in names:
            problems.append(f"tool call names {call.name!r}, which is none of the tools given ({sorted(names)})")
        if call.arguments is None:
            problems.append(f"the arguments of tool call {call.name!r} could not be decoded: {call.raw_arguments!r}")
    return problems
