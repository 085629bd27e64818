"""Llama 3.1's built-in tools after ``<|python_tag|>`` (:mod:`modelplug.toolcalls.llama_builtins`),
whole and at every split."""

from __future__ import annotations

from typing import Any

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import parse
from modelplug.types import Tool
from tests.toolcalls._support import check

CODE = Tool("code_interpreter", "Run Python.", {"type": "object", "properties": {"code": {"type": "string"}}})
SEARCH = Tool("brave_search", "Search the web.", {"type": "object", "properties": {"query": {"type": "string"}}})


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
    check("Let me check. " + text, format, "Let me check.", [(name, arguments)])


def test_raw_code_is_a_call_when_code_interpreter_is_offered() -> None:
    text = "<|python_tag|>x = 2\nprint(x * 3)"
    check(text, "llama3_json", None, [("code_interpreter", {"code": "x = 2\nprint(x * 3)"})], [CODE])
    # a call to a tool that was not offered is code for the interpreter too
    check("<|python_tag|>print(1)", "llama3_python_tag", None, [("code_interpreter", {"code": "print(1)"})], [CODE])


def test_raw_text_after_the_tag_without_an_interpreter_or_eom_is_content() -> None:
    text = "The <|python_tag|> token starts code"
    check(text, "llama3_json", text, [])


def test_builtin_call_to_a_tool_not_offered_is_an_error() -> None:
    with pytest.raises(ToolCallParseError, match="wolfram_alpha"):
        parse('<|python_tag|>wolfram_alpha.call(query="x")', "llama3_json", [SEARCH])


def test_broken_builtin_call_is_an_error() -> None:
    with pytest.raises(ToolCallParseError, match="brave_search"):
        parse('<|python_tag|>brave_search.call(query="x"', "llama3_python_tag")


def test_ordinary_python_tag_calls_are_unchanged() -> None:
    check('<|python_tag|>f(city="Paris"); g()', "llama3_python_tag", None, [("f", {"city": "Paris"}), ("g", {})])
    check('<|python_tag|>{"name": "f", "parameters": {"a": 1}}', "llama3_json", None, [("f", {"a": 1})])


@pytest.mark.parametrize("format", ["llama3_python_tag", "llama3_json", None])
@pytest.mark.parametrize("separator", [";", "; ", " ;\n"])
@pytest.mark.parametrize("end", ["", "<|eom_id|>"])
def test_every_builtin_call_of_a_semicolon_chain_is_read(format: str | None, separator: str, end: str) -> None:
    text = f'<|python_tag|>brave_search.call(query="x"){separator}wolfram_alpha.call(query="y"){separator}b.call(){end}'
    check(text, format, None, [("brave_search", {"query": "x"}), ("wolfram_alpha", {"query": "y"}), ("b", {})])


def test_what_follows_a_semicolon_that_is_no_builtin_call_stays_content() -> None:
    check('<|python_tag|>brave_search.call(query="x"); then prose', "llama3_python_tag", "; then prose",
          [("brave_search", {"query": "x"})])


def test_a_broken_call_later_in_the_chain_keeps_the_calls_before_it() -> None:
    with pytest.raises(ToolCallParseError, match="wolfram_alpha") as info:
        parse('<|python_tag|>brave_search.call(query="x"); wolfram_alpha.call(query="y"', "llama3_python_tag")
    assert [(c.name, c.arguments) for c in info.value.tool_calls] == [("brave_search", {"query": "x"})]
