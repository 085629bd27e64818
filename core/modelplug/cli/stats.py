"""Timing and token statistics of one streamed generation, as the command line reports them."""

from __future__ import annotations

from typing import Any

import attrs

from modelplug._stream import ChatStream
from modelplug.types import Usage
from modelplug.wire import usage_to_wire

__all__ = ["MIN_RATE_TOKENS", "MIN_RATE_WINDOW_S", "StreamStats", "usage_to_dict"]

#: tokens/s is reported only over a decode time at least this long (seconds) ...
MIN_RATE_WINDOW_S = 0.25
#: ... and at least this many completion tokens: a rate over a few milliseconds or tokens (a replayed
#: or cached answer) says nothing about the model's speed.
MIN_RATE_TOKENS = 4


def usage_to_dict(usage: Usage | None) -> dict[str, int] | None:
    """``usage`` as a chat-completions ``usage`` dict (``None`` stays ``None``)."""
    return None if usage is None else usage_to_wire(usage)


@attrs.frozen
class StreamStats:
    """What the command line reports after a stream.

    Attributes:
        ttft_s: seconds from the request to the first text, reasoning or tool-call delta (``None``
            when none arrived).
        duration_s: seconds from the request to the end of the stream.
        usage: the token counts the provider reported (``None`` when it reported none).
        finish_reason: ``"stop"``, ``"length"``, ``"tool_calls"``, ... as the backend sent it.
        outcome: ``"ok"``, ``"cancelled"`` (closed early, e.g. Ctrl-C) or ``"error"``.
        deltas: the number of deltas received.
        cost: the answer's cost in US dollars (``None`` when unknown).
        answered_by: the ``provider:model`` that answered, when a fallback chain passed over
            other models (else ``None``).
        attempts: how many models the fallback chain tried (1 without a fallback).
    """

    ttft_s: float | None = None
    duration_s: float | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    outcome: str | None = None
    deltas: int = 0
    cost: float | None = None
    answered_by: str | None = None
    attempts: int = 1

    @classmethod
    def from_stream(cls, stream: ChatStream, deltas: int = 0) -> StreamStats:
        """The statistics of a (finished or closed) :class:`~modelplug._stream.ChatStream`."""
        message = stream.message
        failed = len(stream.attempts)
        return cls(
            stream.ttft_s,
            stream.duration_s,
            stream.usage,
            stream.finish_reason,
            stream.outcome,
            deltas,
            message.cost,
            message.model if failed else None,
            failed + 1,
        )

    @property
    def tokens_per_s(self) -> float | None:
        """Decode speed in completion tokens per second after the first one:
        ``(completion_tokens - 1) / (duration_s - ttft_s)``; ``None`` without usage or timings, with
        fewer than :data:`MIN_RATE_TOKENS` completion tokens, or over less than
        :data:`MIN_RATE_WINDOW_S` seconds of decoding (too short to mean anything)."""
        if self.usage is None or self.duration_s is None or self.ttft_s is None:
            return None
        decode_s = self.duration_s - self.ttft_s
        if self.usage.completion_tokens < MIN_RATE_TOKENS or decode_s < MIN_RATE_WINDOW_S:
            return None
        return (self.usage.completion_tokens - 1) / decode_s

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the attributes plus ``tokens_per_s``; ``usage`` in wire form."""
        return {
            "ttft_s": self.ttft_s,
            "duration_s": self.duration_s,
            "tokens_per_s": self.tokens_per_s,
            "usage": usage_to_dict(self.usage),
            "finish_reason": self.finish_reason,
            "outcome": self.outcome,
            "deltas": self.deltas,
            "cost": self.cost,
            "answered_by": self.answered_by,
        }

    def format(self) -> str:
        """One line, e.g.
        ``TTFT 0.21 s, 12.6 tokens/s, 42 prompt + 64 completion = 106 tokens, $0.000045, 5.30 s, finish stop``
        (the cost when known; ``answered by <spec> after 2 attempts`` when a fallback chain switched)."""
        parts = []
        if self.ttft_s is not None:
            parts.append(f"TTFT {self.ttft_s:.2f} s")
        rate = self.tokens_per_s
        if rate is not None:
            parts.append(f"{rate:.1f} tokens/s")
        if self.usage is not None:
            u = self.usage
            parts.append(f"{u.prompt_tokens} prompt + {u.completion_tokens} completion = {u.total_tokens} tokens")
        else:
            parts.append(f"{self.deltas} deltas (no usage reported)")
        if self.cost is not None:
            parts.append(f"${self.cost:.6f}")
        if self.duration_s is not None:
            parts.append(f"{self.duration_s:.2f} s")
        if self.outcome == "cancelled":
            parts.append("interrupted")
        elif self.finish_reason:
            parts.append(f"finish {self.finish_reason}")
        if self.answered_by:
            parts.append(f"answered by {self.answered_by} after {self.attempts} attempts")
        return ", ".join(parts)
