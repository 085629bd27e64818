"""The post-processing every generation shares: stop emulation, text tool-call parsing and the
reasoning span at the start of a rendered prompt's answer.

One :class:`DeltaPipeline` is built per generation; ``generate()`` and ``stream()`` (and the
async routes) push the provider's deltas through it, so both give the same answer. It is
push-based (``feed`` / ``finish``) so a sync or an async source can drive it. See
``docs/concepts/streaming.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from modelplug.errors import ToolCallParseError
from modelplug.stops import StopFilter
from modelplug.types import ChatMessageStreamDelta

if TYPE_CHECKING:
    from modelplug.types import Capabilities, GenerationOptions

__all__ = ["DeltaPipeline", "split_reasoning"]


def _empty(delta: ChatMessageStreamDelta) -> bool:
    return not any(getattr(delta, field.name) for field in attrs.fields(type(delta)))


class DeltaPipeline:
    """Stop emulation, then text tool-call parsing (or, without tools, the reasoning split), over
    one generation's deltas.

    Drive it with :meth:`feed` for each delta the provider yields and :meth:`finish` once the source
    ends (also after :attr:`stopped`); deliver what each returns, in order.

    Args:
        stop: stop sequences to cut the content at (empty: the backend stops by itself).
        tool_parser: a :class:`modelplug.toolcalls.StreamParser` reading tool calls written as text
            (``None``: no text parsing).
        reasoning_parser: without tools, a ``StreamParser(..., calls=False)`` that splits a
            reasoning span off the start of the answer (``<think>...</think>``, opened by the
            prompt or by the model): it reads the text until the first content comes out, then
            the deltas pass through unchanged (a later ``<think>`` is content); in a channel
            format (harmony, MuseGlimmer, Inkling: ``StreamParser.channels``) it reads to the end.

    Attributes:
        stopped: a stop sequence was reached; the caller should close the source and call :meth:`finish`.

    A ``finish_reason`` never ends text parsing early: while a parser is active the finish reason is
    held back and delivered (the last one received) by :meth:`finish`, after the parser's last
    deltas, so a finish reason that comes early or twice cannot leave ``<tool_call>`` text unread.
    """

    __slots__ = ("_cutter", "_finish_reason", "_finished", "_parser", "_until_content", "stopped")

    def __init__(self, *, stop: Sequence[str] = (), tool_parser: Any = None, reasoning_parser: Any = None) -> None:
        if tool_parser is not None and reasoning_parser is not None:
            raise ValueError("a tool parser reads reasoning spans itself: give one parser, not both")
        self._cutter = StopFilter(stop) if any(stop) else None
        self._parser = tool_parser if tool_parser is not None else reasoning_parser
        self._until_content = reasoning_parser is not None
        self._finish_reason: str | None = None
        self._finished = False
        self.stopped = False

    @classmethod
    def for_generation(
        cls, capabilities: Capabilities, options: GenerationOptions, *, tool_call_format: str | None = None
    ) -> DeltaPipeline:
        """The pipeline a generation needs: stops cut by the core when the provider declares
        ``stop_sequences=False``; when it declares ``tool_calling="text"`` (it renders the prompt
        and hands over the model's raw text), tool calls read from the text when tools were given,
        else the reasoning span at the start of the answer split off (``tool_call_format``: the
        format name, ``None`` to detect; it also says which spans the format has)."""
        stop = options.stop if options.stop and not capabilities.stop_sequences else ()
        if capabilities.tool_calling != "text":
            return cls(stop=stop)
        from modelplug.toolcalls import StreamParser

        if options.tools:
            return cls(stop=stop, tool_parser=StreamParser(format=tool_call_format, tools=options.tools))
        return cls(stop=stop, reasoning_parser=StreamParser(format=tool_call_format, calls=False))

    @property
    def active(self) -> bool:
        """Whether the pipeline changes anything (``False``: deltas pass through unchanged). A
        reasoning split ends once the answer's first content is out: the pipeline may turn
        inactive after a :meth:`feed`, and holds nothing then (:meth:`finish` returns ``[]``)."""
        return self._cutter is not None or self._parser is not None

    def feed(self, delta: ChatMessageStreamDelta) -> list[ChatMessageStreamDelta]:
        """Push one delta from the provider; returns the deltas to deliver now (possibly none).
        After :attr:`stopped`, only a reported ``usage`` still comes out (a caller that drains the
        source rather than closing it keeps the usage the backend sends last)."""
        if self._finished:
            return []
        if self.stopped:
            return [ChatMessageStreamDelta(usage=delta.usage)] if delta.usage is not None else []
        out: list[ChatMessageStreamDelta] = []
        cutter = self._cutter
        if cutter is not None:
            if delta.content:
                text = cutter.feed(delta.content)
                if cutter.stopped:
                    self.stopped = True
                    delta = attrs.evolve(delta, content=text or None, finish_reason="stop")
                elif text != delta.content:
                    delta = attrs.evolve(delta, content=text or None)
                    if _empty(delta):
                        return out
            elif delta.finish_reason or delta.usage:
                rest = cutter.flush()
                if rest:
                    self._parse(ChatMessageStreamDelta(content=rest), out)
        self._parse(delta, out)
        return out

    def _parse(self, delta: ChatMessageStreamDelta, out: list[ChatMessageStreamDelta]) -> None:
        parser = self._parser
        if parser is None:
            out.append(delta)
            return
        if delta.finish_reason:
            self._finish_reason = delta.finish_reason
            delta = attrs.evolve(delta, finish_reason=None)
        if delta.content:
            parsed = parser.feed(delta.content)
            out.extend(parsed)
            delta = attrs.evolve(delta, content=None)
            if self._until_content and any(d.content for d in parsed) and not parser.channels:
                # the answer has started: no span can open any more; from here on, pass through
                # (a channel format's messages are read to the end: each says where it goes)
                out.extend(parser.finish())
                self._parser = None
                if self._finish_reason is not None:
                    out.append(ChatMessageStreamDelta(finish_reason=self._finish_reason))
                    self._finish_reason = None
        if not _empty(delta):
            out.append(delta)

    def finish(self) -> list[ChatMessageStreamDelta]:
        """The source ended (or was closed after :attr:`stopped`): returns the held-back deltas,
        the finish reason last. Idempotent.

        Raises:
            ToolCallParseError: the text holds a tool call that cannot be read; every delta still
                to deliver (the parser's last ones, the finish reason) is on its ``deltas``.
        """
        if self._finished:
            return []
        self._finished = True
        out: list[ChatMessageStreamDelta] = []
        if self._cutter is not None and not self.stopped:
            rest = self._cutter.flush()
            if rest:
                self._parse(ChatMessageStreamDelta(content=rest), out)
        failure: ToolCallParseError | None = None
        if self._parser is not None:
            try:
                out.extend(self._parser.finish())
            except ToolCallParseError as error:
                failure = error
                out.extend(error.deltas)
        if self._finish_reason is not None:
            out.append(ChatMessageStreamDelta(finish_reason=self._finish_reason))
        if failure is not None:
            failure.deltas = tuple(out)
            raise failure
        return out


def split_reasoning(text: str, tool_call_format: str | None) -> tuple[str | None, str | None]:
    """A whole answer's ``(content, reasoning_content)``: the reasoning split of
    :class:`DeltaPipeline` on one text (``None`` for an empty part), so that ``generate()`` and
    ``stream()`` split alike."""
    from modelplug.toolcalls import StreamParser

    pipeline = DeltaPipeline(reasoning_parser=StreamParser(format=tool_call_format, calls=False))
    out = pipeline.feed(ChatMessageStreamDelta(content=text)) + pipeline.finish()
    content = "".join(d.content for d in out if d.content)
    reasoning = "".join(d.reasoning_content for d in out if d.reasoning_content)
    return content or None, reasoning or None
