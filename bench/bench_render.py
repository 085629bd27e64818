"""Live-view rendering cost per delta, against the answer's length: it must stay flat (linear total).

Run: ``python bench/bench_render.py [--sizes 500,2000,...] [--naive-max N] [--repeats R]``.
Prints CPU µs per delta for each N (``time.process_time``: every thread of the process, the
feeding loop and rich's refresh thread, so other load on a shared machine inflates it less than
wall time would); asserts nothing.

The view (:class:`modelplug.cli.display.LiveView`) writes to an in-memory terminal (rich
``Console(file=StringIO, force_terminal=True)``, 100×40) and is fed N deltas as fast as possible:
Markdown-ish text of ~4-character tokens (paragraphs, list items, a code fence every 400 tokens),
or one tool call's argument fragments. Each time covers the feeding loop *and* ``finish()`` (the
one full Markdown render of the whole answer at the end).

- ``thread``: the view as ``modelplug run`` uses it; rich's refresh thread renders 8 times a second.
- ``every20``: a render forced every 20 deltas (what a slow stream looks like: many renders, each
  of a longer answer). Each render parses only the growing last Markdown block (completed blocks
  are rendered once, while on screen), so this stays flat too.
- ``naive``: for contrast, the common pattern ``live.update(Markdown(whole_text))`` per delta
  (quadratic: every delta re-parses the whole answer); only up to ``--naive-max`` deltas.
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import time
from collections.abc import Callable

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown

from modelplug.cli.display import LiveView
from modelplug.types import ChatMessageStreamDelta, ToolCallDelta

WIDTH, HEIGHT = 100, 40


def content_deltas(n: int) -> list[ChatMessageStreamDelta]:
    """N content deltas of a Markdown-ish answer (deterministic)."""
    deltas = []
    for i in range(n):
        if i % 400 == 200:
            piece = "\n\n```python\n"
        elif i % 400 == 260:
            piece = "\n```\n\n"
        elif i % 40 == 39:
            piece = "\n\n- "
        elif i % 13 == 0:
            piece = f" **w{i % 97}**"
        else:
            piece = f" w{i % 97:02d}"
        deltas.append(ChatMessageStreamDelta(content=piece))
    return deltas


def tool_deltas(n: int) -> list[ChatMessageStreamDelta]:
    """One tool call whose arguments arrive in N - 1 fragments."""
    first = ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, "call_1", "write_file", '{"text": "'),))
    rest = [ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, arguments=f"a{i % 100:02d} "),)) for i in range(n - 1)]
    return [first, *rest]


def _console() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=WIDTH, height=HEIGHT, color_system="standard")


def run_view(deltas: list[ChatMessageStreamDelta], every: int | None) -> float:
    """CPU seconds to feed ``deltas`` to a LiveView and finish it."""
    view = LiveView(_console(), stats_console=_console(), redirect=False)
    start = time.process_time()
    view.start()
    update, refresh = view.update, view.refresh
    if every is None:
        for delta in deltas:
            update(delta)
    else:
        for number, delta in enumerate(deltas, 1):
            update(delta)
            if number % every == 0:
                refresh()
    view.finish()
    return time.process_time() - start


def run_naive(deltas: list[ChatMessageStreamDelta], every: int | None) -> float:
    """CPU seconds for ``live.update(Markdown(whole_text))`` per delta (the quadratic pattern)."""
    live = Live(console=_console(), refresh_per_second=8, redirect_stdout=False, redirect_stderr=False)
    start = time.process_time()
    live.start()
    text = ""
    for delta in deltas:
        text += delta.content or ""
        live.update(Markdown(text))
    live.stop()
    return time.process_time() - start


def _median_us(
    function: Callable[[list[ChatMessageStreamDelta], int | None], float],
    deltas: list[ChatMessageStreamDelta],
    every: int | None,
    repeats: int,
) -> float:
    """Median CPU µs per delta. The pre-built deltas are moved out of the garbage collector's sight
    (``gc.freeze``): a real stream does not keep its delta objects, and N of them alive would make
    every full collection cost O(N) and blur the view's own cost."""
    gc.collect()
    gc.freeze()
    try:
        return statistics.median(function(deltas, every) for _ in range(repeats)) / len(deltas) * 1e6
    finally:
        gc.unfreeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,2000,5000,10000,20000", help="comma-separated N")
    parser.add_argument("--naive-max", type=int, default=2000, help="largest N for the naive pattern")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell (median)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"LiveView on a {WIDTH}x{HEIGHT} in-memory terminal; CPU µs per delta (feeding + final render), median of "
        f"{args.repeats}"
    )
    print(f"{'N':>7} {'chars':>8} | {'content thread':>14} {'content every20':>15} {'tool every20':>12} | {'naive':>9}")
    for n in sizes:
        content = content_deltas(n)
        chars = sum(len(d.content or "") for d in content)
        thread = _median_us(run_view, content, None, args.repeats)
        every = _median_us(run_view, content, 20, args.repeats)
        tool = _median_us(run_view, tool_deltas(n), 20, args.repeats)
        naive = f"{_median_us(run_naive, content, None, 1):9.1f}" if n <= args.naive_max else f"{'-':>9}"
        print(f"{n:>7} {chars:>8} | {thread:>14.1f} {every:>15.1f} {tool:>12.1f} | {naive}")


if __name__ == "__main__":
    main()
