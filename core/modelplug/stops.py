"""Cutting stop sequences out of text, also while it streams.

:func:`cut_at_stop` trims a complete text at the first stop sequence to be completed (where a
backend checking after every token stops). :class:`StopFilter` does the
same on a stream of text fragments without ever letting part of a stop sequence reach the
consumer: it holds back only the longest suffix that could still become a stop sequence, and
releases it as soon as it cannot. Providers whose backend does not stop by itself use it, and so
does the core for providers that declare ``stop_sequences=False``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["StopFilter", "cut_at_stop"]


def cut_at_stop(text: str | None, stop: Sequence[str] | None) -> tuple[str | None, bool]:
    """Cut ``text`` where generation would have stopped: at the stop sequence that is *completed*
    first (the earliest end; on a tie, the earliest start), as a backend checking after every
    token does. The text before that stop sequence is kept.

    Returns ``(text_before_the_stop, found)``; ``None`` stays ``None``.
    """
    if text is None or not stop:
        return text, False
    best_end, cut = -1, -1
    for sequence in stop:
        if not sequence:
            continue
        position = text.find(sequence)
        if position == -1:
            continue
        end = position + len(sequence)
        if best_end == -1 or end < best_end or (end == best_end and position < cut):
            best_end, cut = end, position
    return (text, False) if cut == -1 else (text[:cut], True)


class StopFilter:
    """Incremental stop-sequence cutter.

    ``feed(fragment)`` returns the text that is safe to emit now; once a stop sequence is found,
    :attr:`stopped` is true and everything from the stop on is dropped. ``flush()`` returns what
    was held back when the text ends without a stop. The work per fragment is proportional to the
    fragment plus the longest stop sequence, not to the text so far.
    """

    __slots__ = ("_held", "_longest", "_stops", "stopped")

    def __init__(self, stop: Sequence[str]) -> None:
        self._stops = tuple(s for s in stop if s)
        self._longest = max((len(s) for s in self._stops), default=0)
        self._held = ""
        self.stopped = False

    def feed(self, fragment: str) -> str:
        """Add ``fragment``; return the text that can be emitted now ("" when nothing can)."""
        if self.stopped or not fragment:
            return ""
        if not self._stops:
            return fragment
        window = self._held + fragment
        text, found = cut_at_stop(window, self._stops)
        if found:
            self.stopped = True
            self._held = ""
            return text or ""
        keep = self._partial_suffix(window)
        self._held = window[len(window) - keep :] if keep else ""
        return window[: len(window) - keep]

    def _partial_suffix(self, window: str) -> int:
        """Length of the longest suffix of ``window`` that is a proper prefix of a stop sequence."""
        best = 0
        limit = min(len(window), self._longest - 1)
        for stop in self._stops:
            for length in range(min(limit, len(stop) - 1), best, -1):
                if window.endswith(stop[:length]):
                    best = length
                    break
        return best

    def flush(self) -> str:
        """The held-back text, when the stream ended without a stop sequence."""
        held, self._held = self._held, ""
        return "" if self.stopped else held
