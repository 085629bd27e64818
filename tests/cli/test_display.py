"""The live view: in process on a forced terminal, and ``modelplug run`` in a pseudo-terminal."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.markdown import Markdown

from modelplug.cli.display import LiveView, TextBuffer
from modelplug.cli.stats import StreamStats
from modelplug.types import ChatMessageStreamDelta, ToolCallDelta, Usage
from tests.cli.conftest import responses
from tests.cli.terminal import collect, render_screen, spawn

WIDTH, HEIGHT = 60, 16
ANSWER = """# Capitals

The capital of France is **Paris**. Some more words to wrap the line around the screen width.

- Berlin
- Madrid

```python
def capital(country):
    return {"France": "Paris"}[country]
```

That is all.
"""


def _markdown_lines(text: str, width: int = WIDTH) -> list[str]:
    """``text`` rendered as Markdown without colours, as screen lines."""
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    console.print(Markdown(text))
    return render_screen(console.file.getvalue())  # type: ignore[attr-defined]


def _contains(lines: list[str], block: list[str]) -> bool:
    return any(lines[i : i + len(block)] == block for i in range(len(lines) - len(block) + 1))


def _pieces(text: str, size: int = 3) -> Iterator[ChatMessageStreamDelta]:
    for i in range(0, len(text), size):
        yield ChatMessageStreamDelta(content=text[i : i + size])


def _view() -> tuple[LiveView, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    console = Console(file=out, force_terminal=True, width=WIDTH, height=HEIGHT, color_system="standard")
    stats_console = Console(file=err, force_terminal=False, width=200)
    return LiveView(console, stats_console=stats_console, refresh_per_second=50, redirect=False), out, err


# -- TextBuffer ----------------------------------------------------------------------------------


@given(st.lists(st.text(alphabet="ab\n`~ ", max_size=12), max_size=40), st.integers(1, 50))
def test_tail_is_a_line_aligned_suffix(pieces: list[str], limit: int) -> None:
    buffer = TextBuffer(markdown=True)
    for piece in pieces:
        buffer.append(piece)
    whole = "".join(pieces)
    offset, tail = buffer.tail(limit)
    assert whole[offset:] == tail and buffer.text() == whole
    if len(whole) > limit:
        assert len(tail) <= limit
        assert offset == len(whole) - limit or whole[offset - 1] == "\n"


@given(st.lists(st.sampled_from(["```py\n", "```\n", "~~~\n", "code\n", "text ", "``", "`\n", "\n"]), max_size=30))
def test_fence_state_matches_a_whole_text_scan(pieces: list[str]) -> None:
    buffer = TextBuffer(markdown=True)
    for piece in pieces:
        buffer.append(piece)
    whole = "".join(pieces)
    fence = marker = None
    offset = 0
    for line in whole.split("\n")[:-1]:  # CommonMark: a closing fence is a run of the opener's character
        offset += len(line) + 1  # at least as long as the opener's, and nothing else
        run = len(line) - len(line.lstrip(line[:1] or " "))
        if fence is None and run >= 3 and line[0] in "`~":
            fence, marker = line, line[:run]
        elif marker is not None and line.rstrip() and set(line.rstrip()) == {marker[0]} and run >= len(marker):
            fence = marker = None
        assert buffer.fence_at(offset) == fence, (whole, offset)


@given(
    st.lists(
        st.sampled_from(["```\n", "~~~~\n", "text", " more", "\n", "\n\n", "1. item\n", "  indented\n", "# h\n"]),
        max_size=40,
    )
)
def test_blocks_and_the_last_block_make_up_the_text(pieces: list[str]) -> None:
    buffer = TextBuffer(markdown=True)
    offsets = []
    for piece in pieces:
        buffer.append(piece)
        offsets.append(buffer.block_start)
        assert "".join(buffer.blocks) + buffer.last_block() == buffer.text()
        assert len("".join(buffer.blocks)) == buffer.block_start
    for block in buffer.blocks:
        assert block.strip() and block.endswith("\n\n")  # split at a blank line, never empty
        assert not block[:1].isspace() or block is buffer.blocks[0]
    starts = [sum(len(b) for b in buffer.blocks[:i]) for i in range(1, len(buffer.blocks) + 1)]
    assert all(buffer.fence_at(start) is None for start in starts)  # never inside a code fence
    assert offsets == sorted(offsets)


# -- LiveView in process ---------------------------------------------------------------------------


def test_final_screen_holds_the_whole_answer_as_markdown() -> None:
    view, out, err = _view()
    with view:
        for number, delta in enumerate(_pieces(ANSWER)):
            view.update(delta)
            if number % 10 == 0:
                view.refresh()
        view.finish(StreamStats(ttft_s=0.1, duration_s=1.0, usage=Usage(5, 20), finish_reason="stop", outcome="ok"))
    screen = render_screen(out.getvalue())
    assert _contains(screen, _markdown_lines(ANSWER)), "\n".join(screen)
    assert "waiting for the model" not in "\n".join(screen)
    assert err.getvalue() == "TTFT 0.10 s, 21.1 tokens/s, 5 prompt + 20 completion = 25 tokens, 1.00 s, finish stop\n"


def test_reasoning_is_dimmed_and_tool_calls_stream() -> None:
    view, out, _ = _view()
    view.start()
    view.update(ChatMessageStreamDelta(reasoning_content="The user wants a sum."))
    view.update(ChatMessageStreamDelta(content="Adding."))
    view.update(ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, "call_1", "add", '{"a": 1'),)))
    view.refresh()
    live = render_screen(out.getvalue())
    assert '» add {"a": 1▌' in live  # the call as it streams, with its growing arguments
    view.update(ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, None, None, ', "b": 2}'),)))
    view.update(ChatMessageStreamDelta(tool_calls=(ToolCallDelta(1, "call_2", "now", "{}"),)))
    view.finish()
    raw = out.getvalue()
    assert "\x1b[2;3mThe user wants a sum." in raw  # dim italic
    screen = render_screen(raw)
    assert screen[-4:] == ["The user wants a sum.", "Adding.", '» add {"a": 1, "b": 2}', "» now {}"]


def test_live_region_renders_only_the_last_screenful() -> None:
    view, out, _ = _view()
    view.start()
    text = "".join(f"line {i:03d}\n\n" for i in range(300))
    for delta in _pieces(text, 7):
        view.update(delta)
    before = len(out.getvalue())
    view.refresh()
    frame = out.getvalue()[before:]
    assert "line 299" in frame and "line 250" not in frame
    assert frame.count("\n") <= HEIGHT
    view.finish()
    assert render_screen(out.getvalue())[-1] == "line 299"


def _parsed_chars_per_char(paragraphs: int) -> float:
    """Characters the view parses as Markdown, per character of the answer, when it renders after
    every delta of an answer of ``paragraphs`` paragraphs."""
    view, _, _ = _view()
    parsed = 0
    factory = view._markdown

    def counting(text: str) -> object:
        nonlocal parsed
        parsed += len(text)
        return factory(text)

    view._markdown = counting  # type: ignore[assignment]
    text = "".join(f"Paragraph {i} has *some* words in it, enough to wrap.\n\n" for i in range(paragraphs))
    view.start()
    for delta in _pieces(text, 6):
        view.update(delta)
        view.refresh()
    view.stop()
    return (parsed - len(text)) / len(text)  # without the one full render at the end


def test_live_rendering_work_is_linear_in_the_answer() -> None:
    short, long = _parsed_chars_per_char(30), _parsed_chars_per_char(300)
    assert long <= short * 1.1, (short, long)  # constant work per character, whatever the length


def test_a_tail_inside_a_code_fence_renders_as_code() -> None:
    view, out, _ = _view()
    view.start()
    text = "Intro\n\n```python\n" + "".join(f"# comment {i}\n" for i in range(200))
    for delta in _pieces(text, 5):
        view.update(delta)
    before = len(out.getvalue())
    view.refresh()
    frame = render_screen(out.getvalue()[before:])
    assert any(line.strip() == "# comment 199" for line in frame), frame  # code keeps '#', a heading would not
    view.finish()


def test_blocks_and_messages_for_agents() -> None:
    view, out, _ = _view()
    with view:
        view.update(ChatMessageStreamDelta(content="Step one."))
        view.add_block("42", title="observation: add", kind="observation")
        view.update(ChatMessageStreamDelta(content="Step two."))
        view.end_message(StreamStats(ttft_s=0.5, duration_s=0.6, usage=None, deltas=1))
        view.set_status("running tool…")
        view.refresh()
        assert "running tool…" in render_screen(out.getvalue())[-1]
        view.set_status(None)
    screen = render_screen(out.getvalue())
    assert screen[0] == "Step one."
    assert screen[1].startswith("╭─ observation: add") and screen[2].startswith("│ 42 ")
    assert screen[4:6] == ["Step two.", "TTFT 0.50 s, 1 deltas (no usage reported), 0.60 s"]
    assert "running tool" not in "\n".join(screen)


# -- modelplug run in a pseudo-terminal ------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_run_in_a_terminal_shows_the_answer_live_then_stats() -> None:
    message = {"content": ANSWER, "usage": {"prompt_tokens": 8, "completion_tokens": 30}}
    pid, fd = spawn(["run", "-m", "replay:x", "-o", responses(message), "-o", "delay=0.01", "hi"])
    code, output = collect(pid, fd)
    screen = render_screen(output)
    assert code == 0, output
    assert _contains(screen, _markdown_lines(ANSWER)), "\n".join(screen)
    assert "\x1b[" in output  # a terminal gets styles and cursor control
    assert screen[-1].startswith("TTFT ") and "8 prompt + 30 completion = 38 tokens" in screen[-1]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_ctrl_c_in_a_terminal_keeps_the_partial_answer_and_exits_130() -> None:
    words = " ".join(f"w{i:02d}" for i in range(60))
    pid, fd = spawn(["run", "-m", "replay:x", "-o", responses(words), "-o", "delay=0.1", "hi"])
    code, output = collect(pid, fd, interrupt_after=b"w03")
    screen = render_screen(output)
    assert code == 130, output
    text = " ".join(line for line in screen if line.startswith("w"))
    assert text.startswith("w00 w01 w02 w03") and "w59" not in text
    assert "Interrupted." in screen and any(line.endswith("interrupted") for line in screen)
    assert "Traceback" not in output
