"""The public entry points: :func:`parse`, :class:`StreamParser`, :func:`detect_format`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, final

import attrs

from modelplug.toolcalls._calls import OfferedTools
from modelplug.toolcalls._engine import Engine
from modelplug.toolcalls.formats import canonical, table
from modelplug.toolcalls.reasoning import THINK
from modelplug.tools import as_tool
from modelplug.types import ChatMessageStreamDelta, Tool, ToolCall, ToolCallDelta

__all__ = ["ParseResult", "StreamParser", "ToolLike", "detect_format", "parse"]

#: What ``tools=`` accepts: Tool objects, OpenAI tool dicts, typed functions.
ToolLike = Tool | Mapping[str, Any] | Callable[..., Any]


@attrs.frozen
class ParseResult:
    """Model text split into prose and tool calls.

    ``content`` is the text that is not a call (``None`` when there is none); ``tool_calls`` the
    calls in order; ``format`` the format the calls were read in (``None`` without calls);
    ``reasoning_content`` the text of reasoning spans (``<think>``, ``<seed:think>``, Gemma's
    thought channel, harmony's analysis channel, MuseGlimmer's ``to=self`` messages, Inkling's
    thinking blocks, ...), tags dropped.
    """

    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    format: str | None = None
    reasoning_content: str | None = None


def _engine(
    format: str | None,
    tools: Sequence[ToolLike] | None,
    *,
    streaming: bool,
    reasoning_started: bool | str = False,
    calls: bool = True,
) -> Engine:
    name = canonical(format)
    offered = None if tools is None else {tool.name: tool for tool in map(as_tool, tools)}
    engine = Engine(table(name, calls=calls), OfferedTools(offered), streaming=streaming)
    if reasoning_started:
        engine.start_inside(THINK[0] if reasoning_started is True else str(reasoning_started))
    return engine


def _result(engine: Engine) -> ParseResult:
    return ParseResult(
        content="".join(engine.content) or None,
        tool_calls=engine.tool_calls(),
        format=engine.format,
        reasoning_content="".join(engine.reasoning) or None,
    )


def parse(
    text: str,
    format: str | None = None,
    tools: Sequence[ToolLike] | None = None,
    *,
    reasoning_started: bool | str = False,
    calls: bool = True,
) -> ParseResult:
    """Split model ``text`` into content and tool calls written in ``format``.

    Args:
        text: the model's complete output.
        format: one of :data:`~modelplug.toolcalls.FORMATS`, or None to detect it.
        tools: the tools offered to the model. Arguments are then coerced to each tool's schema,
            and a call to a tool that was not offered is an error.
        reasoning_started: the prompt left a reasoning span open (its chat template ended the
            generation prompt with ``<think>``: see :func:`~modelplug.toolcalls.open_span`), so
            the text starts inside it and what comes before the span's closer is
            ``reasoning_content``. True for ``<think>``, or the span's opener (``"<seed:think>"``).
        calls: ``False`` reads the reasoning spans and channel messages only: a tool-call marker
            is content (a channel message to a tool too, as written), and the result has no calls
            (what the core does when no tools were given).

    Raises:
        ToolCallParseError: the text clearly attempts a call that cannot be used (a marker with a
            body that cannot be read, a tool that was not offered, arguments that are not an
            object). The error keeps the raw text, the calls that could be read and the content.
        InvalidOptionError: ``format`` is not a known format name.
        ValueError: ``reasoning_started`` names no reasoning span of the format.
    """
    engine = _engine(format, tools, streaming=False, reasoning_started=reasoning_started, calls=calls)
    engine.feed(text, last=True)
    engine.finish()
    error = engine.error()
    if error is not None:
        raise error
    return _result(engine)


def detect_format(text: str) -> str | None:
    """The tool-call format ``text`` is written in, or None when it holds no call (not even a broken one)."""
    engine = _engine(None, None, streaming=False)
    engine.feed(text, last=True)
    engine.finish()
    error = engine.error()
    if error is not None:
        return error.format
    return engine.format


@final
class StreamParser:
    """Incremental :func:`parse`: feed text deltas, get content and tool-call deltas back.

    Content comes out as soon as it is known not to be part of a call; only a tail that could be the
    start of a marker (``"<tool_"``), trailing whitespace, and text that starts like a markerless
    call (``{"name"...``) are held back. A tool call's id and name go out as soon as they are
    known; its arguments go out as JSON text in pieces while the call is written, each argument's
    JSON rendering (after schema coercion) as soon as it is certain, and the rest when the call is
    complete. The pieces of a call joined are exactly ``json.dumps(arguments, ensure_ascii=False)``
    of its final arguments; a call that breaks half-way leaves a partial text and ends in
    :class:`~modelplug.errors.ToolCallParseError` at :meth:`finish`. Joining the content deltas and
    merging the tool-call deltas by index gives exactly :func:`parse` of the joined text, however
    the text was split.

    Example::

        parser = StreamParser(format="hermes")
        for piece in pieces:
            for delta in parser.feed(piece):
                ...
        for delta in parser.finish():
            ...
    """

    def __init__(
        self,
        format: str | None = None,
        tools: Sequence[ToolLike] | None = None,
        *,
        reasoning_started: bool | str = False,
        calls: bool = True,
    ) -> None:
        """``format``, ``tools``, ``reasoning_started`` and ``calls`` as for :func:`parse` (same errors)."""
        self._engine = _engine(format, tools, streaming=True, reasoning_started=reasoning_started, calls=calls)
        self._finished = False

    def feed(self, text: str) -> list[ChatMessageStreamDelta]:
        """Parse the next piece of text; returns the deltas it completes (possibly none)."""
        if self._finished:
            raise RuntimeError("StreamParser.feed() after finish()")
        self._engine.feed(text)
        return self._drain()

    def finish(self) -> list[ChatMessageStreamDelta]:
        """End of the text: returns the held-back deltas.

        Raises:
            ToolCallParseError: as :func:`parse` would. Every call that could be read was handed
                out before; the deltas of this last step are on the error's ``deltas`` attribute.
        """
        if self._finished:
            return []
        self._finished = True
        self._engine.finish()
        deltas = self._drain()
        error = self._engine.error()
        if error is not None:
            error.deltas = tuple(deltas)
            raise error
        return deltas

    @property
    def result(self) -> ParseResult:
        """What was parsed so far (the complete result after :meth:`finish`)."""
        return _result(self._engine)

    @property
    def format(self) -> str | None:
        """The format of the first call seen, if any."""
        return self._engine.format

    @property
    def channels(self) -> bool:
        """Whether the text is in a channel format (harmony, MuseGlimmer, Inkling): a message was
        read whose header says where its body goes. Its messages run to the end of the text, so a
        reasoning-only reading (``calls=False``) must read all of it, not stop at the first content."""
        return self._engine.channels

    def _drain(self) -> list[ChatMessageStreamDelta]:
        out = self._engine.out
        if not out:
            return []
        self._engine.out = []
        if len(out) == 1:
            item = out[0]
            if item[0] == "content":
                return [ChatMessageStreamDelta(content=item[1])]
            if item[0] == "tool":  # most often a piece of arguments being written
                return [ChatMessageStreamDelta(tool_calls=(ToolCallDelta(item[1], item[2], item[3], item[4]),))]
        deltas: list[ChatMessageStreamDelta] = []
        texts: list[str] = []
        kind = ""
        out = _join_argument_pieces(out)
        for item in out:
            if item[0] == kind and kind != "tool":
                texts.append(item[1])
                continue
            if texts:
                deltas.append(_text_delta(kind, texts))
                texts = []
            kind = item[0]
            if kind == "tool":
                _, index, call_id, name, arguments = item
                deltas.append(ChatMessageStreamDelta(tool_calls=(ToolCallDelta(index, call_id, name, arguments),)))
            else:
                texts.append(item[1])
        if texts:
            deltas.append(_text_delta(kind, texts))
        return deltas


def _join_argument_pieces(out: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Consecutive argument pieces of one call as one item (one delta per call and feed)."""
    joined: list[tuple[Any, ...]] = []
    for item in out:
        if (
            item[0] == "tool"
            and item[2] is None
            and item[3] is None
            and joined
            and joined[-1][0] == "tool"
            and joined[-1][1] == item[1]
            and joined[-1][2] is None
            and joined[-1][3] is None
        ):
            joined[-1] = (*joined[-1][:4], joined[-1][4] + item[4])
        else:
            joined.append(item)
    return joined


def _text_delta(kind: str, texts: list[str]) -> ChatMessageStreamDelta:
    text = "".join(texts)
    if kind == "content":
        return ChatMessageStreamDelta(content=text)
    return ChatMessageStreamDelta(reasoning_content=text)
