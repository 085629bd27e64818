"""Kimi K2's special-token call sections (:mod:`modelplug.toolcalls.kimi`), whole and at every split."""

from __future__ import annotations

from typing import Any

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import parse
from tests.toolcalls._support import check

ARGS = "<|tool_call_argument_begin|>"


def _call(call_id: str, arguments: str) -> str:
    return f"<|tool_call_begin|>{call_id}{ARGS}{arguments}<|tool_call_end|>"


def _tools(names: list[str]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in names]


@pytest.mark.parametrize("section", ["tool_calls_section", "tool_call_section"])
@pytest.mark.parametrize("format", ["kimi_k2", None])
def test_a_section_of_calls_keeps_each_id(format: str | None, section: str) -> None:
    text = (
        f"Let me look.<|{section}_begin|>"
        + _call("functions.get_weather:0", '{"city": "Paris"}')
        + _call("functions.ping:1", "{}")
        + f"<|{section}_end|>"
    )
    check(text, format, "Let me look.", [("get_weather", {"city": "Paris"}), ("ping", {})])
    assert [c.id for c in parse(text, format).tool_calls] == ["functions.get_weather:0", "functions.ping:1"]


def test_markers_inside_a_json_string_are_data() -> None:
    value = "say <|tool_call_end|><|tool_calls_section_end|> now"
    text = "<|tool_calls_section_begin|>" + _call("functions.echo:0", f'{{"text": "{value}"}}')
    check(text + "<|tool_calls_section_end|>", "kimi_k2", None, [("echo", {"text": value})])


def test_a_section_that_ends_inside_a_call_is_an_error() -> None:
    text = "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0" + ARGS + '{"a": 1'
    with pytest.raises(ToolCallParseError):
        parse(text, "kimi_k2")


def test_kimi_reads_the_name_from_an_id_of_another_shape_or_the_offered_tools() -> None:
    body = "<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>"
    text = "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather.0 " + body
    assert [c.name for c in parse(text, "kimi_k2").tool_calls] == ["get_weather"]
    bare = "<|tool_calls_section_begin|><|tool_call_begin|>get_weather " + body
    assert [c.name for c in parse(bare, "kimi_k2", _tools(["get_weather", "other"])).tool_calls] == ["get_weather"]


_SECTION = "<|tool_calls_section_begin|><|tool_call_begin|>{}<|tool_call_argument_begin|>{{}}<|tool_call_end|>"


@pytest.mark.parametrize(
    "call_id",
    ["functions.get_weather:0", "functions.get_weather:abc", "functions.get_weather:0:1", "get_weather:3",
     "functions.get_weather", "functions.get_weather.12", " functions.get_weather:0 "],
)
@pytest.mark.parametrize("offered", [None, ["s", "get_weather"]])
def test_the_name_is_the_tool_part_of_the_id_whatever_follows_it(call_id: str, offered: list[str] | None) -> None:
    text = _SECTION.format(call_id) + "<|tool_calls_section_end|>"
    tools = None if offered is None else _tools(offered)
    check(text, "kimi_k2", None, [("get_weather", {})], tools)


@pytest.mark.parametrize(
    ("call_id", "offered"),
    [
        ("functions.get weather:0", ["s", "get_weather"]),  # "s" occurs in "functions": no substring match
        ("#0 get_weather!", ["get_weather", "other"]),
        ("call_abc123", None),  # an id with no tool part is not a tool name
        ("call_abc123", ["call_abc", "get_weather"]),
        ("functions.:0", None),
        ("", ["get_weather"]),
    ],
)
def test_an_id_whose_tool_part_cannot_be_read_is_an_error_naming_it(call_id: str, offered: list[str] | None) -> None:
    good = _SECTION.format("functions.ping:1")
    text = _SECTION.format(call_id) + good + "<|tool_calls_section_end|>"
    with pytest.raises(ToolCallParseError) as info:
        parse(text, "kimi_k2", None if offered is None else _tools([*offered, "ping"]))
    assert "no tool name can be read from the call id" in info.value.reason
    assert repr(call_id.strip()) in info.value.reason
    assert [c.name for c in info.value.tool_calls] == ["ping"]  # the readable sibling is kept
