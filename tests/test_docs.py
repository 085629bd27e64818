"""The documentation site's README include: links written for a code host are made to work in the site."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hook() -> object:
    pytest.importorskip("mkdocs")
    spec = importlib.util.spec_from_file_location("readme_include", ROOT / "docs" / "readme_include.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_links_to_docs_pages_point_at_the_page_and_other_repository_links_become_text(hook: object) -> None:
    text = (
        "See [modelplug](../../README.md), the [tutorial](../../docs/writing-a-plugin.md#3-the-backend), "
        "[`Capabilities`](../../core/modelplug/types.py), [vLLM](https://docs.vllm.ai) and [below](#options)."
    )
    rewritten = hook._rewrite_links(text, "plugins/vllm/README.md", "providers/vllm.md")  # type: ignore[attr-defined]
    assert rewritten == (
        "See modelplug, the [tutorial](../writing-a-plugin.md#3-the-backend), `Capabilities`, "
        "[vLLM](https://docs.vllm.ai) and [below](#options)."
    )


def test_every_readme_include_names_an_existing_readme_and_every_plugin_has_a_page() -> None:
    pages = {path.name: path.read_text(encoding="utf-8") for path in (ROOT / "docs" / "providers").glob("*.md")}
    included = {
        line.split()[2] for text in pages.values() for line in text.splitlines() if line.startswith("<!-- readme:")
    }
    for readme in included:
        assert (ROOT / readme).is_file(), readme
    with_readme = {f"plugins/{p.name}/README.md" for p in (ROOT / "plugins").iterdir() if (p / "README.md").is_file()}
    assert with_readme <= included, f"plugin READMEs without a docs page: {sorted(with_readme - included)}"


def test_no_page_tells_users_to_install_an_extra_from_an_index() -> None:
    """The ``modelplug-*`` distributions are not on a package index (README, CONTRIBUTING
    "Releasing"): ``pip install 'modelplug[replay]'`` would take whatever an index has under that
    name. Every install command of an extra is the checkout script's."""
    import re

    names = "replay|transformers|litellm|openai|vllm|inference"
    pattern = re.compile(rf"""pip install\s+['"]?modelplug(\[|-({names}))""")
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "plugins").glob("*/README.md")]
    texts = {p.relative_to(ROOT): p.read_text(encoding="utf-8") for p in pages}
    found = [f"{path}: {m.group()}" for path, text in texts.items() for m in pattern.finditer(text)]
    assert found == []


def test_every_snippet_that_streams_without_newlines_ends_its_line() -> None:
    """A snippet printing deltas with ``end=""`` ends the line with its next print (``print()``, or
    a text starting with a newline): otherwise the shell prompt, or the usage printed next, lands
    on the answer's last line."""
    import re

    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "plugins").glob("*/README.md")]
    unended = []
    for page in pages:
        for block in re.findall(r"^```python\n(.*?)^```$", page.read_text(encoding="utf-8"), re.S | re.M):
            prints = [line for line in block.splitlines() if line.strip().startswith("print(")]
            streamed = [i for i, line in enumerate(prints) if 'end=""' in line]
            if not streamed:
                continue
            following = prints[streamed[-1] + 1 : streamed[-1] + 2]
            if not any(re.match(r'\s*print\((\)|f?"\\n)', line) for line in following):
                unended.append(f"{page.relative_to(ROOT)}: {prints[streamed[-1]].strip()}")
    assert unended == []
