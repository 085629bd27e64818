"""Mistral's ``[TOOL_CALLS]`` formats (:mod:`modelplug.toolcalls.mistral`), whole and at every split."""

from __future__ import annotations

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import parse
from tests.toolcalls._support import check

W = {"city": "Paris"}


@pytest.mark.parametrize("format", ["mistral", None])
@pytest.mark.parametrize(
    "text",
    [
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "ping", "arguments": {}}]',
        '[TOOL_CALLS]get_weather{"city": "Paris"}[TOOL_CALLS]ping{}',
        '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]ping[ARGS]{}',
    ],
    ids=["list", "v11", "v11-args"],
)
def test_every_tokenizer_generation(format: str | None, text: str) -> None:
    check(text, format, None, [("get_weather", W), ("ping", {})])


def test_the_call_id_is_kept() -> None:
    text = '[TOOL_CALLS]get_weather[CALL_ID]abcDEF123[ARGS]{"city": "Paris"}'
    check(text, "mistral", None, [("get_weather", W)])
    assert [c.id for c in parse(text, "mistral").tool_calls] == ["abcDEF123"]


def test_text_after_the_calls_is_content() -> None:
    text = 'Sure.[TOOL_CALLS]get_weather{"city": "Paris"} Anything else?'
    check(text, "mistral", "Sure. Anything else?", [("get_weather", W)])


def test_a_name_without_arguments_is_an_error() -> None:
    with pytest.raises(ToolCallParseError):
        parse("[TOOL_CALLS]f[ARGS]", "mistral")
