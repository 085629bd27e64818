"""Status on stderr while a model converts or loads: a rich spinner on a terminal, plain lines elsewhere.

rich is imported only when something is shown on a terminal.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Step", "quiet_transformers", "status", "stderr_is_terminal"]

#: ``step(description)``: report the step now running.
Step = Callable[[str], None]


def stderr_is_terminal() -> bool:
    """Whether stderr is an interactive terminal."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _ignore(description: str) -> None:
    return None


@contextlib.contextmanager
def status(title: str, *, show: bool | None, summary: bool = False) -> Iterator[Step]:
    """Report the steps of a long operation on stderr; yield ``step(description)``.

    Args:
        title: what the whole operation is ("Converting the embedded model").
        show: ``True`` to report, ``False`` for silence, ``None`` to report only when stderr is a terminal.
        summary: print one line with the total time at the end (a terminal's spinner is erased when done).

    On a terminal the report is a rich spinner with the current step and the elapsed time; elsewhere
    it is one ``[elapsed] step`` line per step.
    """
    terminal = stderr_is_terminal()
    if show is None:
        show = terminal
    if not show:
        yield _ignore
        return
    started = time.perf_counter()
    if not terminal:

        def line(description: str) -> None:
            print(f"[{time.perf_counter() - started:5.1f} s] {title}: {description}", file=sys.stderr, flush=True)

        yield line
        if summary:
            line(f"done in {time.perf_counter() - started:.1f} s")
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task(title)

        def update(description: str) -> None:
            bar.update(task, description=f"{title}: {description}")

        yield update
    if summary:
        console.print(f"{title}: done in {time.perf_counter() - started:.1f} s", style="dim")


@contextlib.contextmanager
def quiet_transformers(*, logs: bool = False) -> Iterator[None]:
    """Hide Transformers' own progress bars (and, with ``logs``, its info and warning logs) while we
    show our status. The GGUF reader's tqdm bar, which ignores Transformers' switch, is hidden too."""
    hf_logging: Any = importlib.import_module("transformers.utils.logging")
    gguf_utils: Any = importlib.import_module("transformers.modeling_gguf_pytorch_utils")
    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    if logs:
        hf_logging.set_verbosity_error()
    gguf_tqdm = getattr(gguf_utils, "tqdm", None)
    if gguf_tqdm is not None:
        gguf_utils.tqdm = functools.partial(gguf_tqdm, disable=True)
    try:
        yield
    finally:
        if gguf_tqdm is not None:
            gguf_utils.tqdm = gguf_tqdm
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
