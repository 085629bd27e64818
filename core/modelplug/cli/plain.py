"""Views for output that is not a terminal: plain text (:class:`PlainView`) and JSON lines
(:class:`JsonLinesView`). No rich, no control codes.

Both have the interface of :class:`~modelplug.cli.display.LiveView` (``update``, ``add_block``,
``finish``). What each writes, and where: ``docs/cli.md`` (``modelplug run``, "Inside the command
line").
"""

from __future__ import annotations

import json
import math
import os
from typing import IO, Any, Protocol

from modelplug.cli.inputs import isatty
from modelplug.cli.stats import StreamStats, usage_to_dict
from modelplug.types import ChatMessage, ChatMessageStreamDelta, ToolCall
from modelplug.wire import delta_to_chunk, message_to_wire

__all__ = ["JsonLinesView", "PlainView", "View", "format_tool_call", "json_line"]


class View(Protocol):
    """What ``modelplug run`` (and the agent command) need from a view; see the module docstring."""

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> None: ...

    def update(self, delta: ChatMessageStreamDelta) -> None: ...

    def add_block(self, text: Any, *, title: str | None = None, kind: str = "info") -> None: ...

    def finish(self, stats: StreamStats | None = None, message: ChatMessage | None = None) -> None: ...


def format_tool_call(call: ToolCall) -> str:
    """``name {"arg": 1}`` (the raw argument text when it is not valid JSON)."""
    if call.arguments is None:
        return f"{call.name} {call.raw_arguments or ''}".rstrip()
    return f"{call.name} {json.dumps(call.arguments, ensure_ascii=False)}"


def _same_file(a: IO[str], b: IO[str]) -> bool:
    try:
        return os.path.samestat(os.fstat(a.fileno()), os.fstat(b.fileno()))
    except (AttributeError, OSError, ValueError):  # not real files (e.g. under a test runner)
        return False


class PlainView:
    """Plain text as it arrives (see the module docstring).

    Args:
        out: where the answer goes (stdout).
        err: where reasoning and statistics go (stderr).
        show_stats: write the statistics line to ``err`` in :meth:`finish`.
    """

    def __init__(self, out: IO[str], err: IO[str], *, show_stats: bool = False) -> None:
        self.out = out
        self.err = err
        self.show_stats = show_stats
        self._tty = isatty(out)
        self._last = ""  # last character written to out
        self._reasoning_open = False

    def __enter__(self) -> PlainView:
        from modelplug.cli.log_lines import track_output

        track_output(self)
        return self

    def __exit__(self, *exc: object) -> None:
        from modelplug.cli.log_lines import track_output

        track_output(None)

    def mid_line(self) -> bool:
        """Whether the last character written to ``out`` is not a newline."""
        return bool(self._last) and self._last != "\n"

    def end_line_elsewhere(self) -> None:
        """Note that the line was ended by a newline written to a stream sharing ``out`` (a log line on stderr)."""
        self._last = "\n"

    def end_line(self) -> None:
        """End the reasoning's and the answer's line where one is open (a stream cut short by
        Ctrl-C: the prompt, and ``Interrupted.``, then start on a line of their own)."""
        self._close_reasoning()
        if self.mid_line():
            self.out.write("\n")
            self.out.flush()
            self._last = "\n"

    def update(self, delta: ChatMessageStreamDelta) -> None:
        """Write the delta's text to ``out`` and its reasoning to ``err``, flushing both."""
        if delta.reasoning_content:
            self.err.write(delta.reasoning_content)
            self.err.flush()
            self._reasoning_open = True
        if delta.content:
            self._close_reasoning()
            self.out.write(delta.content)
            self.out.flush()
            self._last = delta.content[-1]

    def _close_reasoning(self) -> None:
        if self._reasoning_open:
            self.err.write("\n")
            self.err.flush()
            self._reasoning_open = False

    def _line(self, text: str) -> None:
        if self._last and self._last != "\n":
            self.out.write("\n")
        self.out.write(text + "\n")
        self.out.flush()
        self._last = "\n"

    def add_block(self, text: str, *, title: str | None = None, kind: str = "info") -> None:
        """Write ``text`` on lines of its own, after ``[title]`` when given."""
        self._close_reasoning()
        self._line(f"[{title}]\n{text}" if title else text)

    def finish(self, stats: StreamStats | None = None, message: ChatMessage | None = None) -> None:
        """Write the tool calls of ``message``, a final newline, and the statistics."""
        self._close_reasoning()
        if message is not None:
            for call in message.tool_calls:
                self._line(f"tool call: {format_tool_call(call)}")
        if self._last and self._last != "\n":
            self.out.write("\n")
            self.out.flush()
            self._last = "\n"
        if stats is not None and self.show_stats:
            if self._last and self._last != "\n" and _same_file(self.out, self.err):
                self.err.write("\n")  # `2>&1`: keep the statistics off the answer's last line
            self.err.write(stats.format() + "\n")
            self.err.flush()


def json_line(data: Any) -> str:
    """``data`` as one line of strict JSON (RFC 8259) ending in ``\\n``, for the ``--json`` outputs.

    A non-finite float (a tool that returned ``nan``) is written as the string ``"NaN"``,
    ``"Infinity"`` or ``"-Infinity"``: ``json.dumps`` would write the bare ``NaN`` token, which strict
    JSON readers (``jq``, JavaScript's ``JSON.parse``) reject, and ``null`` would lose the value.
    """
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError:
        return json.dumps(_finite(data), ensure_ascii=False, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


class JsonLinesView:
    """JSON lines (see the module docstring); ``model`` is the model spec put in every line, ``id``
    the completion id (default: a new ``chatcmpl-...`` one)."""

    def __init__(self, out: IO[str], *, model: str = "", id: str | None = None) -> None:
        self.out = out
        self.model = model
        if id is None:
            import uuid

            id = f"chatcmpl-{uuid.uuid4().hex}"
        self.id = id

    def __enter__(self) -> JsonLinesView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _write(self, data: dict[str, Any]) -> None:
        self.out.write(json_line(data))
        self.out.flush()

    def update(self, delta: ChatMessageStreamDelta) -> None:
        """Write the delta as a ``chat.completion.chunk`` line."""
        self._write(delta_to_chunk(delta, model=self.model, id=self.id))

    def add_block(self, text: str, *, title: str | None = None, kind: str = "info") -> None:
        """Write a ``modelplug.block`` line."""
        self._write({"object": "modelplug.block", "kind": kind, "title": title, "text": text})

    def finish(self, stats: StreamStats | None = None, message: ChatMessage | None = None) -> None:
        """Write the ``modelplug.result`` line."""
        self._write(
            {
                "object": "modelplug.result",
                "id": self.id,
                "model": self.model,
                "message": None if message is None else message_to_wire(message),
                "usage": None if message is None else usage_to_dict(message.usage),
                "finish_reason": None if message is None else message.finish_reason,
                "answered_by": None if message is None else message.model,
                "cost": None if message is None else message.cost,
                "stats": None if stats is None else stats.to_dict(),
            }
        )
