"""The live terminal view: a streamed answer rendered as it grows, in time linear in its length.

:class:`LiveView` is fed deltas and blocks and shows the *current* message in a rich ``Live``
region (reasoning dimmed, text as Markdown, tool calls as they stream); a finished message is
printed once above it. :class:`TextBuffer` splits the text into Markdown blocks as it arrives.
Why a refresh costs the same at token 10 and token 10,000: ``docs/cli.md`` ("Inside the command
line").
"""

from __future__ import annotations

import bisect
import copy
import json
import threading
from typing import Any

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

    With ``markdown=True`` it also follows the Markdown structure as the text arrives, in O(length)
    overall: where code fences (```` ``` ```` / ``~~~``) open and close (:meth:`fence_at`), and the
    completed top-level blocks (:attr:`blocks`: the text is split at a blank line followed by an
    unindented line outside a fence, except before an ordered-list item, whose numbering depends on
    the items before it). A view renders each completed block once and only the growing last one
    (:meth:`last_block`) again and again.
    """

    __slots__ = (
        "_blank",
        "_block_lines",
        "_fence",
        "_fence_offsets",
        "_fence_states",
        "_has_text",
        "_line",
        "_line_start",
        "block_start",
        "blocks",
        "length",
        "markdown",
        "parts",
    )

    def __init__(self, *, markdown: bool = False) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.markdown = markdown
        self.blocks: list[str] = []  # completed top-level blocks (markdown only); append-only
        self.block_start = 0  # where the last, growing block starts
        self._block_lines: list[str] = []  # its completed lines
        self._has_text = False  # whether they hold more than blank lines
        self._blank = False  # whether the last completed line was blank
        self._line: list[str] = []  # the current (unfinished) line
        self._line_start = 0
        self._fence: str | None = None  # the opening line of the fence we are in
        self._fence_offsets: list[int] = [0]
        self._fence_states: list[str | None] = [None]

    def append(self, text: str) -> None:
        """Add ``text`` at the end (amortised O(len(text)))."""
        self.parts.append(text)
        self.length += len(text)
        if not self.markdown:
            return
        if "\n" not in text:
            self._line.append(text)
            return
        pieces = text.split("\n")
        self._line.append(pieces[0])
        for piece in pieces[1:]:
            self._end_line("".join(self._line))
            self._line = [piece]

    def _end_line(self, line: str) -> None:
        first = line[:1]
        if (
            self._blank
            and self._has_text
            and self._fence is None
            and first not in ("", " ", "\t")
            and not first.isdigit()
        ):
            self.blocks.append("\n".join(self._block_lines) + "\n")
            self._block_lines = []
            self._has_text = False
            self.block_start = self._line_start
        self._block_lines.append(line)
        self._blank = not line.strip()
        self._has_text = self._has_text or not self._blank
        self._line_start += len(line) + 1
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

    def last_block(self) -> str:
        """The text of the growing last block (O(its length)); markdown only."""
        partial = "".join(self._line)
        if not self._block_lines:
            return partial
        return "\n".join(self._block_lines) + "\n" + partial

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


def _blank(line: list[Segment]) -> bool:
    return all(not segment.text.strip() for segment in line)


def _trim(lines: list[list[Segment]]) -> list[list[Segment]]:
    """``lines`` without blank lines at either end (blocks are joined with one blank line)."""
    start, end = 0, len(lines)
    while start < end and _blank(lines[start]):
        start += 1
    while end > start and _blank(lines[end - 1]):
        end -= 1
    return lines[start:end]


class _MarkdownFactory:
    """Builds rich ``Markdown`` renderables with one shared markdown-it parser: rich builds a new
    parser for every ``Markdown``, which a live view would pay on every refresh."""

    def __init__(self) -> None:
        self._template = Markdown("")
        self._parser: Any = None
        if hasattr(self._template, "parsed"):  # rich's layout since 10.x; else build Markdown as usual
            from markdown_it import MarkdownIt

            self._parser = MarkdownIt().enable("strikethrough").enable("table")

    def __call__(self, text: str) -> Markdown:
        if self._parser is None:
            return Markdown(text)
        markdown = copy.copy(self._template)
        markdown.markup = text
        markdown.parsed = self._parser.parse(text)
        return markdown


class _Frame:
    """The live region's renderable: the tail of the current message and the status spinner.

    The rendered lines are cached until the message changes. In Markdown mode each completed
    block (:attr:`TextBuffer.blocks`) is rendered once and kept while it is on screen; a refresh
    renders only the growing last block, plus older blocks until the screen is full.
    """

    def __init__(self, view: LiveView) -> None:
        self.view = view
        self._key: tuple[int, int, int] | None = None
        self._lines: list[list[Segment]] = []
        self._blocks: dict[int, list[list[Segment]]] = {}
        self._blocks_of: tuple[TextBuffer, int] | None = None  # the buffer and width they were rendered for

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        view = self.view
        status = view._status
        height = max(console.height - (2 if status else 1), 1)
        width = options.max_width
        key = (view._version, width, height)
        if key != self._key:
            self._lines = self._render(console, options.reset_height(), width, height)
            self._key = key
        for line in self._lines:
            yield from line
            yield Segment.line()
        if status:
            yield view._spinner

    def _render(self, console: Console, options: ConsoleOptions, width: int, height: int) -> list[list[Segment]]:
        view = self.view
        budget = width * height
        with view._lock:
            _, reasoning = view._reasoning.tail(budget)
            content = view._content
            count = len(content.blocks)  # blocks below this index never change (append-only)
            whole = view.markdown and content.length - content.block_start <= budget
            if whole:
                last = content.last_block()
            else:
                start, last = content.tail(budget)
                fence = content.fence_at(start) if view.markdown and start else None
                if fence is not None:
                    last = f"{fence}\n{last}"
            calls = [(c.name, c.arguments.tail(width * 3)[1]) for c in view._calls.calls.values()][-height:]
        lines: list[list[Segment]] = []
        if reasoning:
            lines += console.render_lines(Text(reasoning, style=_REASONING_STYLE), options, pad=False)
        body: list[list[Segment]] = []
        if last.strip():
            body = _trim(
                console.render_lines(view._markdown(last) if view.markdown else Text(last), options, pad=False)
            )
        if whole:
            body = self._with_blocks(console, options, content, count, body, height)
        lines += body
        if calls:
            calls_text = Group(*(_call_text(name, arguments, partial=True) for name, arguments in calls))
            lines += console.render_lines(calls_text, options, pad=False)
        return lines[-height:]

    def _with_blocks(
        self,
        console: Console,
        options: ConsoleOptions,
        content: TextBuffer,
        count: int,
        body: list[list[Segment]],
        height: int,
    ) -> list[list[Segment]]:
        """``body`` under as many completed blocks (rendered once each) as fit in ``height``."""
        if self._blocks_of != (content, options.max_width):
            self._blocks = {}
            self._blocks_of = (content, options.max_width)
        cache = self._blocks
        index = count - 1
        while len(body) < height and index >= 0:
            block = cache.get(index)
            if block is None:
                rendered = console.render_lines(self.view._markdown(content.blocks[index]), options, pad=False)
                block = cache[index] = _trim(rendered)
            body = [*block, [], *body] if body else list(block)
            index -= 1
        for old in [key for key in cache if key <= index]:  # scrolled out of the live region
            del cache[old]
        return body


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
        self._markdown = _MarkdownFactory()
        self._lock = threading.Lock()
        self._version = 0
        self._waiting_status = status
        self._status = status
        self._spinner = Spinner("dots", Text(status or "", style="dim"), style=_CALL_STYLE)
        self._reasoning = TextBuffer()
        self._content = TextBuffer(markdown=markdown)
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
            self._content = TextBuffer(markdown=self.markdown)
            self._calls = _Calls()
            self._status = self._waiting_status if wait else None
            self._spinner.update(text=Text(self._status or "", style="dim"))
            self._version += 1
        parts: list[RenderableType] = []
        if reasoning.strip():
            parts.append(Text(reasoning.strip("\n"), style=_REASONING_STYLE))
        if content.strip():
            parts.append(self._markdown(content) if self.markdown else Text(content))
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
