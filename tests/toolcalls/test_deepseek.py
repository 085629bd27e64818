"""DeepSeek's special-token call lists (:mod:`modelplug.toolcalls.deepseek`), whole and at every split."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import parse
from tests.toolcalls._support import check

BEGIN, END = "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>"
CALL, CALL_END, SEP = "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", "<｜tool▁sep｜>"


def _v3(name: str, arguments: str) -> str:
    return f"{CALL}function{SEP}{name}\n```json\n{arguments}\n```{CALL_END}"


def _v31(name: str, arguments: str) -> str:
    return f"{CALL}{name}{SEP}{arguments}{CALL_END}"


@pytest.mark.parametrize(
    ("format", "render"), [("deepseek_v3", _v3), ("deepseek_v31", _v31), (None, _v3), (None, _v31)]
)
def test_a_list_of_calls_then_content(format: str | None, render: Callable[[str, str], str]) -> None:
    calls = render("get_weather", '{"city": "Paris"}') + render("ping", "{}")
    text = f"Checking.{BEGIN}{calls}{END} Done."
    check(text, format, "Checking. Done.", [("get_weather", {"city": "Paris"}), ("ping", {})])


def test_the_tokens_in_prose_without_a_call_stay_content() -> None:
    text = "DeepSeek opens calls with <｜tool▁sep｜> and friends."
    check(text, "deepseek_v3", text, [])


@pytest.mark.parametrize("format", ["deepseek_v3", "deepseek_v31"])
def test_a_list_cut_inside_the_arguments_is_an_error(format: str) -> None:
    render = _v3 if format == "deepseek_v3" else _v31
    text = BEGIN + render("f", '{"a": 1}')[: -len(CALL_END) - 6]
    with pytest.raises(ToolCallParseError):
        parse(text, format)
