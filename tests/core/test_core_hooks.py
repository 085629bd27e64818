"""The core's own hook implementations (modelplug._core_hooks): ``parse_tool_calls``, registered
before any provider and tried after the provider's own implementation."""

from __future__ import annotations

import pytest

import modelplug
from modelplug import _core_hooks, _plugins
from modelplug._provider import Provider
from modelplug.toolcalls import ParseResult
from modelplug.types import Tool, ToolCall

WEATHER = Tool(name="get_weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}})
TEXT = 'Checking. <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'


class _Quiet:
    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(tool_calling="text")


class _Declining(_Quiet):
    """A provider whose ``parse_tool_calls`` reads only its own format and declines the rest."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @modelplug.hookimpl
    def parse_tool_calls(self, text: str) -> ParseResult | None:
        self.asked.append(text)
        if text.startswith("OWN:"):
            return ParseResult(content=None, tool_calls=(ToolCall(id="own-1", name="own", arguments={}),), format="own")
        return None


def test_the_core_implementation_reads_the_common_text_formats() -> None:
    result = _core_hooks.parse_tool_calls(TEXT, [WEATHER], "hermes")
    assert isinstance(result, ParseResult) and result.format == "hermes"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert result.content is not None and result.content.strip() == "Checking."
    detected = _core_hooks.parse_tool_calls(TEXT, [], None)  # no format named, no tools: detected, unchecked
    assert isinstance(detected, ParseResult) and [c.name for c in detected.tool_calls] == ["get_weather"]


def test_it_is_registered_before_any_provider_and_marked_trylast(fresh_plugins: None) -> None:
    manager = _plugins.get_plugin_manager()
    assert manager.get_plugin(_plugins.CORE_PLUGIN_NAME) is _core_hooks
    (implementation,) = [i for i in manager.hook.parse_tool_calls.get_hookimpls() if i.plugin is _core_hooks]
    assert implementation.trylast


def test_a_provider_without_the_hook_gets_the_core_reader(fresh_plugins: None) -> None:
    modelplug.register_provider("quiet", _Quiet())
    result = Provider.get("quiet").parse_tool_calls("m", None, TEXT, [WEATHER], "hermes")
    assert result is not None and [c.name for c in result.tool_calls] == ["get_weather"]


@pytest.mark.parametrize(("text", "expected"), [("OWN: anything", "own"), (TEXT, "get_weather")])
def test_a_provider_reads_its_own_format_first_and_falls_back_by_returning_none(
    fresh_plugins: None, text: str, expected: str
) -> None:
    declining = _Declining()
    modelplug.register_provider("declining", declining)
    result = Provider.get("declining").parse_tool_calls("m", None, text, [WEATHER], None)
    assert declining.asked == [text]
    assert result is not None and [c.name for c in result.tool_calls] == [expected]
