"""Gemma 4's and FunctionGemma's ``call:name{...}`` syntax (:mod:`modelplug.toolcalls.gemma`), whole
and at every split."""

from __future__ import annotations

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import FORMATS, parse
from tests.toolcalls._support import check


@pytest.mark.parametrize("format", ["functiongemma", None])
def test_functiongemma(format: str | None) -> None:
    text = (
        "Sure.<start_function_call>call:get_weather{location:<escape>London, UK<escape>,days:3,"
        "opts:{units:<escape>C<escape>,alerts:true}}<end_function_call>"
        "<start_function_call>call:ping{}<end_function_call>"
    )
    check(
        text,
        format,
        "Sure.",
        [("get_weather", {"location": "London, UK", "days": 3, "opts": {"units": "C", "alerts": True}}), ("ping", {})],
    )


def test_functiongemma_broken_call_is_an_error_keeping_the_good_one() -> None:
    text = "<start_function_call>call:a{x:1}<end_function_call><start_function_call>call:b{x:<escape>open"
    with pytest.raises(ToolCallParseError) as info:
        parse(text, "functiongemma")
    assert [call.name for call in info.value.tool_calls] == ["a"]


def test_functiongemma_is_a_format() -> None:
    assert "functiongemma" in FORMATS
