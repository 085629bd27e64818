"""The piecewise source every format reader reads (:mod:`modelplug.toolcalls._source`): the same
answer however the text is split."""

from __future__ import annotations

import pytest

from modelplug.toolcalls._source import Source, accept, alternation, read_name, until
from tests.strategies import every_split
from tests.toolcalls._support import run_reader


def test_until_with_limit() -> None:
    for pieces in every_split("abc</x>"):
        assert run_reader(lambda src: until(src, "</x>", 3), pieces) == (True, 3)
        assert run_reader(lambda src: until(src, "</x>", 2), pieces)[0] is False


def test_source_text_across_pieces() -> None:
    src = Source("xxabc", 2, False)
    src.i = 3
    src.feed("def", False)
    src.i = 2
    src.feed("ghi", True)
    assert src.text(0, 9) == "abcdefghi"
    assert src.text(1, 7) == "bcdefg"
    assert src.pos == 3


@pytest.mark.parametrize(
    ("text", "found", "end"),
    [("<tool_call>{", True, 11), ("<tool_cal", False, 0), ("<tool>x", False, 0), ("x", False, 0)],
)
def test_accept_consumes_the_literal_only_where_it_is(text: str, found: bool, end: int) -> None:
    for pieces in every_split(text):
        assert run_reader(lambda src: accept(src, "<tool_call>"), pieces) == (found, end), pieces


def test_accept_decides_as_soon_as_the_text_differs() -> None:
    src = Source("<tox", 0, False)  # more text may come, but "<tox" cannot start "<tool_call>"
    assert run_reader(lambda _: accept(src, "<tool_call>"), ["<tox"]) == (False, 0)


@pytest.mark.parametrize(("text", "name"), [("get_weather(", "get_weather"), ("a.b-c/d>", "a.b-c/d"), ("(x", "")])
def test_read_name_at_every_split(text: str, name: str) -> None:
    for pieces in every_split(text):
        assert run_reader(read_name, pieces)[0] == name, pieces


def test_alternation_matches_the_longest_literal() -> None:
    pattern = alternation(["<tool_call>", "<think>", "<tool_calls>", "[TOOL_CALLS]"])
    assert [m.group() for m in pattern.finditer("<tool_calls> <think> <tool_call> [TOOL_CALLS]")] == [
        "<tool_calls>",
        "<think>",
        "<tool_call>",
        "[TOOL_CALLS]",
    ]
