"""Issue 12, kind 5: FunctionGemma, DeepSeek-V3.2's DSML and Llama 3.1's built-in tools, whole
and at every split."""

from __future__ import annotations

from typing import Any

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import FORMATS, parse
from modelplug.types import Tool
from tests.toolcalls._support import same, stream, whole

CODE = Tool("code_interpreter", "Run Python.", {"type": "object", "properties": {"code": {"type": "string"}}})
SEARCH = Tool("brave_search", "Search the web.", {"type": "object", "properties": {"query": {"type": "string"}}})


def _check(text: str, format: str | None, content: str | None, names: list[tuple[str, Any]], tools: Any = None) -> None:
    result = parse(text, format, tools)
    assert [(call.name, call.arguments) for call in result.tool_calls] == names
    assert result.content == content
    expected = whole(text, format, tools)
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format, tools), expected), k
    assert same(stream(list(text), format, tools), expected)


@pytest.mark.parametrize("format", ["functiongemma", None])
def test_functiongemma(format: str | None) -> None:
    text = (
        "Sure.<start_function_call>call:get_weather{location:<escape>London, UK<escape>,days:3,"
        "opts:{units:<escape>C<escape>,alerts:true}}<end_function_call>"
        "<start_function_call>call:ping{}<end_function_call>"
    )
    _check(
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


@pytest.mark.parametrize("format", ["llama3_python_tag", "llama3_json", None])
@pytest.mark.parametrize(
    ("text", "name", "arguments"),
    [
        (
            '<|python_tag|>brave_search.call(query="weather in Paris")<|eom_id|>',
            "brave_search",
            {"query": "weather in Paris"},
        ),
        ("<|python_tag|>wolfram_alpha.call(query='solve x^2 = 4')", "wolfram_alpha", {"query": "solve x^2 = 4"}),
        (
            "<|python_tag|>import math\nprint(math.sqrt(2))<|eom_id|>",
            "code_interpreter",
            {"code": "import math\nprint(math.sqrt(2))"},
        ),
    ],
    ids=["brave_search", "wolfram_alpha", "code_interpreter"],
)
def test_llama_builtin_tools(format: str | None, text: str, name: str, arguments: dict[str, Any]) -> None:
    _check("Let me check. " + text, format, "Let me check.", [(name, arguments)])


def test_raw_code_is_a_call_when_code_interpreter_is_offered() -> None:
    text = "<|python_tag|>x = 2\nprint(x * 3)"
    _check(text, "llama3_json", None, [("code_interpreter", {"code": "x = 2\nprint(x * 3)"})], [CODE])
    # a call to a tool that was not offered is code for the interpreter too
    _check("<|python_tag|>print(1)", "llama3_python_tag", None, [("code_interpreter", {"code": "print(1)"})], [CODE])


def test_raw_text_after_the_tag_without_an_interpreter_or_eom_is_content() -> None:
    text = "The <|python_tag|> token starts code"
    _check(text, "llama3_json", text, [])


def test_builtin_call_to_a_tool_not_offered_is_an_error() -> None:
    with pytest.raises(ToolCallParseError, match="wolfram_alpha"):
        parse('<|python_tag|>wolfram_alpha.call(query="x")', "llama3_json", [SEARCH])


def test_broken_builtin_call_is_an_error() -> None:
    with pytest.raises(ToolCallParseError, match="brave_search"):
        parse('<|python_tag|>brave_search.call(query="x"', "llama3_python_tag")


def test_ordinary_python_tag_calls_are_unchanged() -> None:
    _check('<|python_tag|>f(city="Paris"); g()', "llama3_python_tag", None, [("f", {"city": "Paris"}), ("g", {})])
    _check('<|python_tag|>{"name": "f", "parameters": {"a": 1}}', "llama3_json", None, [("f", {"a": 1})])


DSML_CALL = (
    '<｜DSML｜function_calls>\n<｜DSML｜invoke name="get_weather">\n'
    '<｜DSML｜parameter name="city" string="true">杭州</｜DSML｜parameter>\n'
    '<｜DSML｜parameter name="days" string="false">3</｜DSML｜parameter>\n'
    '<｜DSML｜parameter name="opts" string="false">{"units": ["C"]}</｜DSML｜parameter>\n'
    '</｜DSML｜invoke>\n<｜DSML｜invoke name="ping">\n</｜DSML｜invoke>\n</｜DSML｜function_calls>'
)


@pytest.mark.parametrize("format", ["deepseek_v32", None])
def test_deepseek_v32_dsml(format: str | None) -> None:
    _check(
        "Checking." + DSML_CALL,
        format,
        "Checking.",
        [("get_weather", {"city": "杭州", "days": 3, "opts": {"units": ["C"]}}), ("ping", {})],
    )


def test_dsml_json_parameter_that_does_not_read_is_an_error() -> None:
    text = DSML_CALL.replace('string="false">3<', 'string="false">3 days<')
    with pytest.raises(ToolCallParseError, match="days"):
        parse(text, "deepseek_v32")
