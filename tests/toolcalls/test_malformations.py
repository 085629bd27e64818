"""Issue 12, kind 3: real-world malformations that vLLM and SGLang recover, across formats (JSON
calls in a Markdown fence under a named format), recovered when the text is unambiguous, else
``ToolCallParseError``; every case whole and at every split. Malformations one reader module
handles are tested in that module's file (``test_xml_tags.py``, ``test_stray_markers.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from modelplug.toolcalls import parse
from tests.strategies import RENDER
from tests.toolcalls._support import same, stream, whole


def _check(text: str, format: str | None, content: str | None, names: list[tuple[str, Any]]) -> None:
    result = parse(text, format)
    assert [(call.name, call.arguments) for call in result.tool_calls] == names
    assert result.content == content
    expected = whole(text, format)
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), expected), k
    assert same(stream(list(text), format), expected)


#: The JSON-bodied formats that read call objects in a ```json fence when the format is named.
FENCED = [
    "mistral",
    "llama3_json",
    "phi4_mini_json",
    "xlam",
    "bare_json",
    "hermes",
    "smollm2",
    "granite",
    "internlm2",
    "jamba",
    "minimax",
    "hunyuan_a13b",
]


@pytest.mark.parametrize("format", [*FENCED, None])
def test_fenced_json_calls_under_a_named_format(format: str) -> None:
    text = 'Calling:\n```json\n[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {}}]\n```\nDone.'
    _check(text, format, "Calling:\nDone.", [("f", {"a": 1}), ("g", {})])


@pytest.mark.parametrize("format", FENCED)
def test_a_fenced_call_object_next_to_the_formats_own_calls(format: str) -> None:
    own = RENDER[format]([("g", {"b": "x"})], "", "")
    text = f'First:\n```\n{{"name": "f", "parameters": {{"a": 1}}}}\n```\n{own}'
    _check(text, format, "First:", [("f", {"a": 1}), ("g", {"b": "x"})])


_NOT_CALLS = {
    "object": '```json\n{"name": "my-app", "version": "1.0"}\n```',
    "broken": '```json\n{"name": "f", "arguments": {"a": 1}\n```',
    "mixed-list": '```json\n[{"name": "f", "arguments": {}}, 2]\n```',
    "python": '```python\n{"name": "f", "arguments": {}}\n```',  # read as a bare call where `{` opens one
    "backticks": "```\n`code` and ``more``\n```",
}
_BARE = ("llama3_json", "xlam", "bare_json")


@pytest.mark.parametrize(
    ("format", "fenced"),
    [
        pytest.param(format, text, id=f"{name}-{format}")
        for name, text in _NOT_CALLS.items()
        for format in FENCED
        if not (name == "python" and format in _BARE)
    ],
)
def test_a_fenced_block_that_is_not_call_shaped_stays_content(format: str, fenced: str) -> None:
    text = f"Config:\n{fenced}\nThat is all."
    _check(text, format, text, [])
