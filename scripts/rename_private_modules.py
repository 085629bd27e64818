"""Give the core's internal modules a leading underscore, and fix every reference to them.

    python scripts/rename_private_modules.py [ROOT] [--check]

ROOT is a checkout of modelplug (default: this one) or a plugin's own tree. The script is
idempotent: on a tree that has the renames it changes nothing; on a tree with stragglers (a branch
written before the renames, a third-party plugin importing ``modelplug.model``) it fixes them.
``--check`` changes nothing and exits 1 when something would change (listing what).

What it does, in order:

1. ``git mv core/modelplug/<old>.py core/modelplug/_<old>.py`` for each module of ``RENAMES``
   (a plain rename outside git); when both files exist it stops and names them (merge by hand).
2. In the text files of the tree: ``modelplug.<old>`` becomes ``modelplug._<old>``,
   ``modelplug/<old>.py`` becomes ``modelplug/_<old>.py``, and ``from modelplug import <old>``
   becomes ``from modelplug import _<old> as <old>``.
3. In ``plugins/`` and ``docs/``: an import from a private module of names that ``modelplug``
   itself exports (``from modelplug._model import Model``) becomes ``from modelplug import Model``.
4. In the tests: the tool-call strategies module and its splitter, merged into
   ``tests/strategies.py``: ``tests.toolcalls.strategies`` -> ``tests.strategies``,
   ``split_points`` -> ``splits``.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

#: old module name -> new (under core/modelplug/)
RENAMES = {
    "aggregation": "_aggregation",
    "astream": "_astream",
    "bridges": "_bridges",
    "core_hooks": "_core_hooks",
    "cost": "_cost",
    "fallback": "_fallback",
    "keys": "_keys",
    "model": "_model",
    "pipeline": "_pipeline",
    "plugins": "_plugins",
    "provider": "_provider",
    "stream": "_stream",
}

#: the files whose text is rewritten, relative to ROOT
TEXT_GLOBS = [
    "*.md",
    "*.toml",
    "*.ini",
    "*.yml",
    "*.cfg",
    "conftest.py",
    ".ci/*",
    "core/**/*.py",
    "core/**/*.md",
    "plugins/**/*.py",
    "plugins/**/*.md",
    "plugins/**/*.toml",
    "plugins/**/*.ini",
    "tests/**/*.py",
    "tests/**/*.md",
    "bench/**/*.py",
    "bench/**/*.md",
    "scripts/**/*.py",
    "docs/**/*.md",
    "docs/**/*.py",
    "src/**/*.py",
    "*.py",
]
#: files that quote the old names on purpose: this script and its test
SKIP_FILES = {"scripts/rename_private_modules.py", "tests/test_rename_private_modules.py"}
SKIP_PARTS = {".git", ".tox", ".venv", "venv", "node_modules", "__pycache__", "site", "build", "dist"}

_OLD = "|".join(sorted(RENAMES, key=len, reverse=True))
_DOTTED = re.compile(rf"(?<![\w])modelplug\.({_OLD})(?!\w)")
_PATH = re.compile(rf"(?<=modelplug/)({_OLD})(?=\.py\b)")
_FROM_PACKAGE = re.compile(r"^(?P<indent>[ \t]*)from modelplug import (?P<names>[\w ,]+?)[ \t]*$", re.MULTILINE)
_FROM_PRIVATE = re.compile(
    r"^(?P<indent>[ \t]*)from modelplug\._(?P<module>\w+) import (?P<names>[\w ,]+?)[ \t]*$", re.MULTILINE
)
_STRATEGIES = [
    (re.compile(r"\btests\.toolcalls\.strategies\b"), "tests.strategies"),
    (re.compile(r"\bsplit_points\b"), "splits"),
]


def _exported(root: Path) -> set[str]:
    """The names in ``modelplug.__all__`` (read from the source, or from the installed package)."""
    init = root / "core" / "modelplug" / "__init__.py"
    if init.exists():
        tree = ast.parse(init.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
                return set(ast.literal_eval(node.value))
    import modelplug

    return set(modelplug.__all__)


def _from_package(match: re.Match[str]) -> str:
    names = [name.strip() for name in match["names"].split(",") if name.strip()]
    if not any(name.split()[0] in RENAMES and " as " not in name for name in names):
        return match.group(0)
    parts = [f"{RENAMES[name]} as {name}" if name in RENAMES else name for name in names]
    return f"{match['indent']}from modelplug import {', '.join(parts)}"


def rewrite(text: str, *, public_imports: bool, tests: bool, exported: set[str]) -> str:
    """``text`` with the references to the renamed modules fixed (see the module docstring)."""
    text = _DOTTED.sub(lambda m: f"modelplug.{RENAMES[m[1]]}", text)
    text = _PATH.sub(lambda m: RENAMES[m[1]], text)
    text = _FROM_PACKAGE.sub(_from_package, text)
    if public_imports:

        def to_package(match: re.Match[str]) -> str:
            names = [name.strip() for name in match["names"].split(",") if name.strip()]
            if names and all(name in exported for name in names):
                return f"{match['indent']}from modelplug import {', '.join(names)}"
            return match.group(0)

        text = _FROM_PRIVATE.sub(to_package, text)
    if tests:
        for pattern, new in _STRATEGIES:
            text = pattern.sub(new, text)
    return text


def _text_files(root: Path) -> Iterator[Path]:
    seen: set[Path] = set()
    for pattern in TEXT_GLOBS:
        for path in sorted(root.glob(pattern)):
            rel = path.relative_to(root)
            if path in seen or not path.is_file() or SKIP_PARTS & set(rel.parts) or rel.as_posix() in SKIP_FILES:
                continue
            seen.add(path)
            yield path


def _move(root: Path, old: Path, new: Path) -> None:
    inside_git = (
        subprocess.run(
            ["git", "-C", str(root), "ls-files", "--error-unmatch", str(old)], capture_output=True
        ).returncode
        == 0
    )
    if inside_git:
        subprocess.run(["git", "-C", str(root), "mv", str(old), str(new)], check=True)
    else:
        old.rename(new)


def run(root: Path, *, check: bool, say: Callable[[str], None] = print) -> list[str]:
    """Apply (or with ``check`` only list) the changes under ``root``; returns what changed."""
    changes: list[str] = []
    package = root / "core" / "modelplug"
    for old, new in RENAMES.items():
        old_path, new_path = package / f"{old}.py", package / f"{new}.py"
        if old_path.exists() and new_path.exists():
            raise SystemExit(f"both {old_path} and {new_path} exist: merge the first into the second by hand")
        if old_path.exists():
            changes.append(f"rename {old_path.relative_to(root)} -> {new_path.name}")
            if not check:
                _move(root, old_path, new_path)
    exported = _exported(root)
    for path in _text_files(root):
        rel = path.relative_to(root)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new_text = rewrite(
            text,
            public_imports=rel.parts[0] in ("plugins", "docs", "src"),
            tests=rel.parts[0] in ("tests", "plugins"),
            exported=exported,
        )
        if new_text != text:
            changes.append(f"rewrite {rel}")
            if not check:
                path.write_text(new_text, encoding="utf-8")
    for line in changes:
        say(line)
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if something would change")
    args = parser.parse_args(argv)
    changes = run(args.root.resolve(), check=args.check)
    return 1 if args.check and changes else 0


if __name__ == "__main__":
    sys.exit(main())
