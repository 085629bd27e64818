"""docs/writing-a-plugin.md keeps its code in the page (it reads on GitHub and in an editor), and
that code is exactly plugins/example's: each fenced block after a ``<!-- code: PATH[:SECTION] -->``
line equals that file (or its ``# --8<-- [start:SECTION]`` ... ``[end:SECTION]`` part).

After changing plugins/example, refresh the page with ``python -m tests.test_plugin_tutorial``."""

from __future__ import annotations

import re

from tests.wheels import ROOT

__all__ = ["PAGE", "code_of", "render"]

PAGE = ROOT / "docs" / "writing-a-plugin.md"

#: ``<!-- code: PATH[:SECTION] -->``, then a fenced block (its opening fence line, body, closing fence).
_BLOCK = re.compile(r"(<!-- code: (?P<ref>[^ ]+) -->\n(?P<fence>```[a-z]*)\n)(?P<body>.*?)(?m:^```$)", re.S)


def code_of(reference: str) -> str:
    """The text of ``PATH`` or of section ``SECTION`` of ``PATH:SECTION`` (relative to the repository
    root, section marker lines excluded), ending with one newline. Raises ``ValueError`` for a
    section the file does not mark."""
    path, _, section = reference.partition(":")
    text = (ROOT / path).read_text(encoding="utf-8")
    if section:
        # [^\n]*, not .*: under re.S a .* before the end marker would swallow the section's body.
        marker = r"^[^\n]*--8<-- \[{}:" + re.escape(section) + r"\]"
        found = re.search(marker.format("start") + r"\n(.*?)" + marker.format("end"), text, re.S | re.M)
        if found is None:
            raise ValueError(f"{path} marks no section {section!r}")
        text = found.group(1)
    lines = [line for line in text.splitlines() if "--8<-- [" not in line]
    return "\n".join(lines).strip("\n") + "\n"


def test_code_of_returns_a_sections_body() -> None:
    # Each marked section of the example's provider is real code, never just a blank line.
    for section in ("load", "capabilities", "option_types", "generate_stream", "agenerate_stream", "unload"):
        body = code_of(f"plugins/example/src/modelplug_example/provider.py:{section}")
        assert body.strip(), section
        assert "--8<--" not in body, section


def render(page: str) -> str:
    """``page`` with every marked block's body replaced by the code it names."""
    return _BLOCK.sub(lambda m: m.group(1) + code_of(m.group("ref")) + "```", page)


def test_the_tutorial_code_is_plugins_example_code() -> None:
    page = PAGE.read_text(encoding="utf-8")
    references = [m.group("ref") for m in _BLOCK.finditer(page)]
    assert len(references) >= 8, references  # pyproject, __init__, the backend, five hooks, the conformance test
    assert "--8<--" not in page.replace("# --8<--", "")  # no include lines left for a reader to decode
    empty = [m.group("ref") for m in _BLOCK.finditer(page) if not m.group("body").strip()]
    assert not empty, f"empty code blocks in docs/writing-a-plugin.md: {empty}"
    assert page == render(page), "docs/writing-a-plugin.md is out of date: run python -m tests.test_plugin_tutorial"


if __name__ == "__main__":
    PAGE.write_text(render(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
