"""Calls written without any marker (:mod:`modelplug.toolcalls.bare_json`): a bare JSON call object
or list, either in a Markdown fence, Llama 3's ``;``-separated objects; whole and at every split."""

from __future__ import annotations

import pytest

from tests.toolcalls._support import check

W = {"city": "Paris"}


@pytest.mark.parametrize("format", ["bare_json", None])
@pytest.mark.parametrize(
    "text",
    [
        'I will call it: {"name": "get_weather", "arguments": {"city": "Paris"}}',
        'I will call it: [{"name": "get_weather", "arguments": {"city": "Paris"}}]',
        'I will call it:\n```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',
        'I will call it:\n```\n[{"name": "get_weather", "arguments": {"city": "Paris"}}]\n```',
    ],
    ids=["object", "list", "fence", "fenced-list"],
)
def test_a_call_anywhere_in_the_text(format: str | None, text: str) -> None:
    check(text, format, "I will call it:", [("get_weather", W)])


@pytest.mark.parametrize("format", ["llama3_json", None])
def test_llama3_objects_separated_by_semicolons(format: str | None) -> None:
    text = '{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "ping", "parameters": {}}'
    check(text, format, None, [("get_weather", W), ("ping", {})])


@pytest.mark.parametrize(
    "text",
    [
        'Settings: {"name": "dark", "theme": 1} and [1, 2, 3].',
        'An object {"city": "Paris"} is not a call.',
        "```python\nprint('hi')\n```",
    ],
)
def test_json_that_is_not_call_shaped_stays_content(text: str) -> None:
    check(text, "bare_json", text, [])


def test_a_call_to_a_tool_not_offered_stays_content() -> None:
    tools = [{"type": "function", "function": {"name": "other", "parameters": {"type": "object"}}}]
    text = 'Example: {"name": "get_weather", "arguments": {"city": "Paris"}}'
    check(text, "bare_json", text, [], tools)
