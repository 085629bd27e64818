"""vLLM tool-parser failures become ToolCallParseError with the text kept (runs without vLLM)."""

import pytest

from modelplug.errors import ToolCallParseError
from modelplug_vllm.toolparse import StreamingToolParser, extract


class Broken:
    def extract_tool_calls(self, text, request):
        raise KeyError("boom")

    def extract_tool_calls_streaming(self, *args):
        raise KeyError("boom")


def test_parser_failures_are_tool_call_parse_errors_keeping_the_text():
    with pytest.raises(ToolCallParseError, match="vllm:Broken") as caught:
        extract(Broken(), "some <tool_call> text", None)
    assert caught.value.text == "some <tool_call> text"
    parser = StreamingToolParser(Broken(), None)
    with pytest.raises(ToolCallParseError, match="while streaming") as caught:
        parser.feed("abc", [1, 2])
    assert caught.value.text == "abc"
