"""The ``if __name__ == "__main__":`` guard that vLLM's spawned processes need.

vLLM starts its engine in child processes. When they are started with ``spawn`` (always on the CPU
build, and on CUDA once CUDA is initialised), each child re-imports the user's main script; code at
the top level of that script runs again in the child, loads the model again, and fails with
``RuntimeError: An attempt has been made to start a new process before the current process has
finished its bootstrapping phase``; the parent then only sees ``Engine core initialization failed``.

:func:`in_spawn_bootstrap` recognises the child case (so the child fails at once, with the fix in the
message) and :func:`unguarded_main_line` finds the parent case (a ``load_model`` call at the top level
of the main script, outside the guard), so the parent's error says what to change.
"""

from __future__ import annotations

import ast
import multiprocessing.process
import sys
from pathlib import Path
from types import FrameType

__all__ = ["GUARD_HINT", "in_spawn_bootstrap", "unguarded_main_line"]

GUARD_HINT = (
    "vLLM starts its engine in new processes (spawn), which re-run the top level of your main script: put the "
    'script\'s code under `if __name__ == "__main__":` (see the modelplug-vllm README)'
)


def in_spawn_bootstrap() -> bool:
    """Whether this process is a spawned child still importing the parent's main module."""
    return bool(getattr(multiprocessing.process.current_process(), "_inheriting", False))


def _is_main_test(node: ast.expr) -> bool:
    if not isinstance(node, ast.Compare) or len(node.ops) != 1 or not isinstance(node.ops[0], ast.Eq):
        return False
    sides = [node.left, node.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    values = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and values)


def _guarded_lines(tree: ast.Module) -> list[tuple[int, int]]:
    spans = []
    for node in tree.body:
        if isinstance(node, ast.If) and _is_main_test(node.test) and node.body:
            spans.append((node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno))
    return spans


def unguarded_main_line() -> str | None:
    """``"<script>:<line>"`` when the current call comes from the top level of the ``__main__`` script,
    outside an ``if __name__ == "__main__":`` block; ``None`` otherwise (guarded, called from a function
    the script defines, interactive sessions, ``python -c``, or the source cannot be read)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not str(path).endswith(".py"):
        return None
    main_globals = getattr(main, "__dict__", None)
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and not (frame.f_code.co_name == "<module>" and frame.f_globals is main_globals):
        frame = frame.f_back
    if frame is None:
        return None
    line = frame.f_lineno
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    if any(start <= line <= end for start, end in _guarded_lines(tree)):
        return None
    return f"{path}:{line}"
