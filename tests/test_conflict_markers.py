"""No tracked text file holds a merge-conflict marker line: a merge once committed a conflict block
into ``docs/concepts/tool-calls.md``, which the build rendered as a page of both sides."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = {".py", ".md", ".toml", ".ini", ".yml", ".yaml", ".cfg", ".txt"}
# git's markers: seven of < (ours), | (base, diff3), = (separator) or > (theirs), alone or before a space;
# spelled with repetition so that this file holds no marker line itself
MARKER = re.compile(r"^(?:<{7}|\|{7}|={7}|>{7})(?: |$)", re.MULTILINE)


def tracked_text_files() -> list[Path]:
    """The files git tracks in this checkout with a text suffix of :data:`SUFFIXES`."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no list of tracked files")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split("\0")
    return [ROOT / name for name in listed if name and Path(name).suffix in SUFFIXES and (ROOT / name).is_file()]


def marker_lines(text: str) -> list[int]:
    """The 1-based numbers of the lines of ``text`` that are merge-conflict markers."""
    return [text.count("\n", 0, match.start()) + 1 for match in MARKER.finditer(text)]


def test_the_pattern_sees_each_marker_and_nothing_else() -> None:
    block = "\n".join(["a", "<" * 7 + " HEAD", "ours", "|" * 7 + " base", "=" * 7, "theirs", ">" * 7 + " main", "b"])
    assert marker_lines(block) == [2, 4, 5, 7]
    assert marker_lines("Title\n" + "=" * 12 + "\n| a | b |\n" + "<" * 8 + "\n" + "x " + "=" * 7 + "\n") == []


def test_no_tracked_text_file_has_a_conflict_marker() -> None:
    files = tracked_text_files()
    assert any(path.name == "ARCHITECTURE.md" for path in files)  # the listing found the tree
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in files
        for line in marker_lines(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert found == []
