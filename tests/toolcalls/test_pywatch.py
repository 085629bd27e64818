"""Arguments of Python call expressions streaming while they are written
(:mod:`modelplug.toolcalls._pywatch`)."""

from __future__ import annotations

import json

import pytest

from modelplug.toolcalls import StreamParser
from tests.strategies import RENDER

TEXT = "[f(a=1, b=[1, 2], c='xy'), g(z=None)]"


def _joined_after_each_character(text: str, format: str) -> list[dict[int, str]]:
    """Per prefix of ``text`` fed one character at a time: each call's argument pieces so far."""
    parser = StreamParser(format)
    joined: dict[int, str] = {}
    seen = []
    for char in text:
        for delta in parser.feed(char):
            for call in delta.tool_calls:
                assert call.index is not None
                joined[call.index] = joined.get(call.index, "") + (call.arguments or "")
        seen.append(dict(joined))
    for delta in parser.finish():
        for call in delta.tool_calls:
            assert call.index is not None
            joined[call.index] = joined.get(call.index, "") + (call.arguments or "")
    seen.append(joined)
    return seen


@pytest.mark.parametrize(
    ("prefix", "shown"),
    [
        ("[f(a=1,", {0: '{"a": 1'}),
        ("[f(a=1, b=[1, 2],", {0: '{"a": 1, "b": [1, 2]'}),
        ("[f(a=1, b=[1, 2], c='xy", {0: '{"a": 1, "b": [1, 2], "c": "xy'}),
        ("[f(a=1, b=[1, 2], c='xy'), g(z=None)", {0: '{"a": 1, "b": [1, 2], "c": "xy"', 1: '{"z": null'}),
    ],
)
def test_a_keyword_argument_goes_out_once_the_character_after_its_value_is_written(prefix: str, shown: dict) -> None:
    assert TEXT.startswith(prefix)
    assert _joined_after_each_character(TEXT, "pythonic")[len(prefix) - 1] == shown


def test_the_pieces_joined_are_the_final_arguments() -> None:
    final = _joined_after_each_character(TEXT, "pythonic")[-1]
    decoded = {index: json.loads(text) for index, text in final.items()}
    assert decoded == {0: {"a": 1, "b": [1, 2], "c": "xy"}, 1: {"z": None}}


@pytest.mark.parametrize("format", ["pythonic", "lfm2", "olmo3", "llama3_python_tag"])
def test_a_python_string_streams_character_by_character(format: str) -> None:
    content = "def main():\n    print('hi')\n" * 3
    text = RENDER[format]([("write_file", {"path": "a.py", "content": content})], "", "")
    closing = text.index(repr(content)) + len(repr(content)) - 1  # the closing quote of the value
    parser = StreamParser(format)
    pieces = []
    for char in text[:closing]:
        pieces += [p.arguments for d in parser.feed(char) for p in d.tool_calls if p.arguments]
    # before its closing quote is written, the whole value is shown, in many small pieces
    assert "".join(pieces).endswith(json.dumps(content, ensure_ascii=False)[:-1])
    assert len(pieces) > len(content) // 2
