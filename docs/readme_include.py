"""mkdocs hook: include a plugin's README in a documentation page.

A line ``<!-- readme: plugins/<name>/README.md -->`` in a page is replaced by that README, without
its first line (the ``# modelplug-<name>`` title; the page has its own). Links in a README are
written for readers on a code host, relative to the README's folder; here a link to a page of the
documentation site (``docs/...``) is rewritten to point at that page, and a link to any other file
of the repository becomes its plain text. Absolute URLs and anchors are kept. A README that does
not exist fails the build.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

_INCLUDE = re.compile(r"^<!-- readme: (?P<path>\S+) -->$", re.MULTILINE)
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")
_ROOT = Path(__file__).resolve().parents[1]


def _rewrite_links(text: str, readme: str, page: str) -> str:
    folder = posixpath.dirname(readme)

    def rewrite(match: re.Match[str]) -> str:
        target = match["target"]
        if "://" in target or target.startswith(("#", "mailto:", "/")):
            return match[0]
        path, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(folder, path))
        if resolved.startswith("docs/"):
            relative = posixpath.relpath(resolved.removeprefix("docs/"), posixpath.dirname(page) or ".")
            return f"[{match['text']}]({relative}{'#' + anchor if anchor else ''})"
        return match["text"]

    return _LINK.sub(rewrite, text)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Replace each ``<!-- readme: path -->`` line of ``page`` by the README it names."""

    def include(match: re.Match[str]) -> str:
        readme = match["path"]
        try:
            lines = (_ROOT / readme).read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise PluginError(f"{page.file.src_uri}: cannot include {readme}: {error}") from error
        return _rewrite_links("\n".join(lines[1:]), readme, page.file.src_uri)

    return _INCLUDE.sub(include, markdown)
