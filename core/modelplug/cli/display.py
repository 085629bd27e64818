"""The live terminal view: a streamed answer rendered as it grows, in time linear in its length.

:class:`LiveView` is fed deltas (``update``) and blocks (``add_block``) and shows, in a rich
``Live`` region at the bottom of the terminal, the *current* message: its reasoning (dimmed), its
text rendered as Markdown, and its tool calls as they stream (name and growing arguments), with a
spinner while waiting. When a message ends (``end_message``, ``add_block`` or ``finish``), it is
printed once, in full, above the live region, where it stays; the live region then starts over.
``modelplug run`` shows one message; the agent command reuses the view for steps, tool calls and
observations.

Why it stays linear: ``update`` only appends the delta's strings to lists (O(1) per delta; no
rendering). rich's refresh thread renders ``refresh_per_second`` times a second, and each render
parses only the *last screenful* of text (at most ``height × width`` characters, found by walking
back from the end of the list), so a render costs the same at token 10 and token 10,000. The full
Markdown is parsed once, when the message ends. Fenced code blocks stay right in the live tail:
fence lines are tracked as the text arrives, and a tail that starts inside a fence gets its opening
line back.
"""

from __future__ import annotations

import bisect
import json
import threading

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.segment import Segment
from rich.spinner import Spinner
from rich.text import Text

from modelplug.cli.stats import StreamStats
from modelplug.types import ChatMessage, ChatMessageStreamDelta, ToolCallDelta

__all__ = ["LiveView", "TextBuffer"]

_REASONING_STYLE = "dim italic"
_CALL_STYLE = "cyan"
_BLOCK_STYLES = {"observation": "green", "error": "red", "tool": "cyan", "plan": "magenta", "info": "blue"}


class TextBuffer:
    """Append-only text with the cost of reading its last ``k`` characters in O(k).

    With ``track_fences``, it also records where Markdown code fences (```` ``` ```` / ``~~~``) open
    and close, in O(length) overall, so :meth:`fence_at` can tell whether an offset lies in a fence.
    """

    __slots__ = ("_fence", "_fence_offsets", "_fence_states", "_line", "_line_start", "length", "parts", "track_fences")

    def __init__(self, *, track_fences: bool = False) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.track_fences = track_fences
        self._line: list[str] = []  # the current (unfinished) line
        self._line_start = 0
        self._fence: str | None = None  # the opening line of the fence we are in
        self._fence_offsets: list[int] = [0]
        self._fence_states: list[str | None] = [None]

    def append(self, text: str) -> None:
        """Add ``text`` at the end (amortised O(len(text)))."""
        self.parts.append(text)
        self.length += len(text)
        if self.track_fences:
            self._scan(text)

    def _scan(self, text: str) -> None:
        if "\n" not in text:
            self._line.append(text)
            return
        pieces = text.split("\n")
        self._line.append(pieces[0])
        for piece in pieces[1:]:
            line = "".join(self._line)
            self._line_start += len(line) + 1
            self._end_line(line)
            self._line = [piece]

    def _end_line(self, line: str) -> None:
        stripped = line.lstrip(" ")
        if len(line) - len(stripped) > 3 or stripped[:3] not in ("```", "~~~"):
            return
        if self._fence is None:
            self._fence = line
        else:
            opener = self._fence.lstrip(" ")
            marker = opener[: len(opener) - len(opener.lstrip(opener[0]))]
            if not stripped.startswith(marker) or stripped.rstrip().strip(marker[0]):
                return
            self._fence = None
        self._fence_offsets.append(self._line_start)
        self._fence_states.append(self._fence)

    def tail(self, limit: int) -> tuple[int, str]:
        """``(offset, text)``: about the last ``limit`` characters, starting at a line start when
        one falls inside them; ``offset`` is where ``text`` starts in the whole."""
        parts = self.parts
        if self.length <= limit:
            if len(parts) > 1:
                parts[:] = ["".join(parts)]
            return 0, parts[0] if parts else ""
        taken: list[str] = []
        size = 0
        index = len(parts)
        while size < limit and index:
            index -= 1
            taken.append(parts[index])
            size += len(parts[index])
        text = "".join(reversed(taken))[-limit:]
        offset = self.length - len(text)
        newline = text.find("\n")
        if newline != -1:
            text = text[newline + 1 :]
            offset += newline + 1
        return offset, text

    def fence_at(self, offset: int) -> str | None:
        """The opening line of the code fence that ``offset`` (a line start) lies in, or ``None``."""
        return self._fence_states[bisect.bisect_right(self._fence_offsets, offset) - 1]

    def text(self) -> str:
        """The whole text (O(length))."""
        return "".join(self.parts)


class _Call:
    __slots__ = ("arguments", "name")

    def __init__(self) -> None:
        self.name = ""
        self.arguments = TextBuffer()


class _Calls:
    """Tool calls of the current message as they stream, keyed like the core's aggregator:
    by ``index``, or (without one) continuing the current call unless a new ``id`` starts one."""

    def __init__(self) -> None:
        self.calls: dict[int, _Call] = {}
        self._ids: dict[str, int] = {}
        self._current: int | None = None

    def add(self, fragment: ToolCallDelta) -> None:
        index = fragment.index
        if index is None:
            if fragment.id and fragment.id in self._ids:
                index = self._ids[fragment.id]
            elif self._current is None or fragment.id:
                index = max(self.calls, default=-1) + 1
            else:
                index = self._current
        call = self.calls.get(index)
        if call is None:
            call = self.calls[index] = _Call()
        if fragment.id:
            self._ids.setdefault(fragment.id, index)
        if fragment.name and not call.name:
            call.name = fragment.name
        if fragment.arguments:
            call.arguments.append(fragment.arguments)
        self._current = index


def _call_text(name: str, arguments: str, *, partial: bool) -> Text:
    return Text.assemble(
        ("» ", _CALL_STYLE),
        (name or "…", f"bold {_CALL_STYLE}"),
        (" ", _CALL_STYLE),
        (arguments + ("▌" if partial else ""), _CALL_STYLE),
    )


def _pretty_arguments(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw), ensure_ascii=False)
    except ValueError:
        return raw


class _Frame:
    """The live region's renderable: the tail of the current message (cached between changes)
    and the status spinner."""

    def __init__(self, view: LiveView) -> None:
        self.view = view
        self._key: tuple[int, int, int] | None = None
        self._lines: list[list[Segment]] = []

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        view = self.view
        status = view._status
        height = max(console.height - (2 if status else 1), 1)
        width = options.max_width
        key = (view._version, width, height)
        if key != self._key:
            self._lines = self._render(console, options, width, height)
            self._key = key
        lines = self._lines
        for line in lines:
            yield from line
            yield Segment.line()
        if status:
            yield view._spinner

    def _render(self, console: Console, options: ConsoleOptions, width: int, height: int) -> list[list[Segment]]:
        view = self.view
        budget = width * height
        with view._lock:
            _, reasoning = view._reasoning.tail(budget)
            start, content = view._content.tail(budget)
            fence = view._content.fence_at(start) if start else None
            calls = [(c.name, c.arguments.tail(width * 3)[1]) for c in view._calls.calls.values()][-height:]
        parts: list[RenderableType] = []
        if reasoning:
            parts.append(Text(reasoning, style=_REASONING_STYLE))
        if content:
            if fence is not None:
                content = f"{fence}\n{content}"
            parts.append(Markdown(content) if view.markdown else Text(content))
        parts.extend(_call_text(name, arguments, partial=True) for name, arguments in calls)
        if not parts:
            return []
        lines = console.render_lines(Group(*parts), options.reset_height(), pad=False)
        return lines[-height:]


class LiveView:
    """A live view of streamed messages on a terminal (see the module docstring).

    Use it as a context manager (or call :meth:`start` and :meth:`finish`)::

        with LiveView() as view:
            for delta in stream:
                view.update(delta)
            view.finish(StreamStats.from_stream(stream))

    Args:
        console: where messages go (default: a stdout console).
        stats_console: where :meth:`finish` writes the statistics (default: a stderr console).
        refresh_per_second: live refresh rate; renders happen only on these ticks.
        markdown: render text as Markdown (else as plain text).
        status: the spinner text shown while a message has no output yet (``None``: no spinner).
        redirect: while live, let ``print`` to stdout / stderr appear above the live region.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        stats_console: Console | None = None,
        refresh_per_second: float = 8.0,
        markdown: bool = True,
        status: str | None = "waiting for the model…",
        redirect: bool = True,
    ) -> None:
        self.console = console if console is not None else Console()
        self.stats_console = stats_console if stats_console is not None else Console(stderr=True)
        self.markdown = markdown
        self._lock = threading.Lock()
        self._version = 0
        self._waiting_status = status
        self._status = status
        self._spinner = Spinner("dots", Text(status or "", style="dim"), style=_CALL_STYLE)
        self._reasoning = TextBuffer()
        self._content = TextBuffer(track_fences=markdown)
        self._calls = _Calls()
        self._frame = _Frame(self)
        self._live = Live(
            console=self.console,
            refresh_per_second=refresh_per_second,
            transient=True,
            redirect_stdout=redirect,
            redirect_stderr=redirect,
            vertical_overflow="crop",
            get_renderable=lambda: self._frame,
        )
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LiveView:
        """Start the live region (idempotent)."""
        if not self._started:
            self._started = True
            self._live.start()
        return self

    def stop(self) -> None:
        """Print the current message and stop the live region (idempotent); no statistics."""
        self.end_message(wait=False)
        if self._started:
            self._started = False
            self._live.stop()

    def refresh(self) -> None:
        """Render the live region now (the refresh thread does this ``refresh_per_second`` times a second)."""
        if self._started:
            self._live.refresh()

    def __enter__(self) -> LiveView:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- feeding ---------------------------------------------------------------------------------

    def update(self, delta: ChatMessageStreamDelta) -> None:
        """Add one delta to the current message. O(size of the delta): nothing is rendered here."""
        with self._lock:
            if delta.reasoning_content:
                self._reasoning.append(delta.reasoning_content)
            if delta.content:
                self._content.append(delta.content)
            if delta.tool_calls:
                for fragment in delta.tool_calls:
                    self._calls.add(fragment)
            if self._status is not None and (delta.content or delta.reasoning_content or delta.tool_calls):
                self._status = None
            self._version += 1

    def set_status(self, text: str | None) -> None:
        """Show ``text`` with a spinner under the current message (``None`` hides it), e.g.
        "running tool add…" while an agent's tool runs."""
        with self._lock:
            self._status = text
            self._spinner.update(text=Text(text or "", style="dim"))
            self._version += 1

    def end_message(self, stats: StreamStats | None = None, *, wait: bool = True) -> None:
        """Print the current message in full (reasoning, Markdown text, complete tool calls) above
        the live region and start a new one; ``stats`` adds a dim statistics line under it.
        ``wait`` shows the waiting spinner for the next message."""
        with self._lock:
            reasoning = self._reasoning.text()
            content = self._content.text()
            calls = [(c.name, c.arguments.text()) for c in self._calls.calls.values()]
            self._reasoning = TextBuffer()
            self._content = TextBuffer(track_fences=self.markdown)
            self._calls = _Calls()
            self._status = self._waiting_status if wait else None
            self._spinner.update(text=Text(self._status or "", style="dim"))
            self._version += 1
        parts: list[RenderableType] = []
        if reasoning.strip():
            parts.append(Text(reasoning.strip("\n"), style=_REASONING_STYLE))
        if content.strip():
            parts.append(Markdown(content) if self.markdown else Text(content))
        parts.extend(_call_text(name, _pretty_arguments(arguments), partial=False) for name, arguments in calls)
        if stats is not None:
            parts.append(Text(stats.format(), style="dim"))
        if parts:
            self.console.print(Group(*parts))

    def add_block(self, block: RenderableType, *, title: str | None = None, kind: str = "info") -> None:
        """End the current message, then print ``block``: a string is shown in a panel coloured
        by ``kind`` (``"observation"``, ``"error"``, ``"tool"``, ``"plan"``, ``"info"``) under
        ``title``; any other rich renderable is printed as it is."""
        self.end_message()
        if isinstance(block, str):
            style = _BLOCK_STYLES.get(kind, "blue")
            block = Panel(Text(block), title=title, title_align="left", border_style=style, expand=False)
        self.console.print(block)

    def finish(self, stats: StreamStats | None = None, message: ChatMessage | None = None) -> None:
        """End the current message, stop the live region and write ``stats`` to the stats console.
        (``message`` is accepted for the common view interface; the view already has its parts.)"""
        self.stop()
        if stats is not None:
            self.stats_console.print(stats.format(), style="dim", highlight=False, soft_wrap=True)
