"""Inkling's typed message blocks (:mod:`modelplug.toolcalls.inkling`), read from the shapes of the
upstream parsers' tests (rewritten here), whole and at every split."""

from __future__ import annotations

import json

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import FORMATS, StreamParser, open_span, parse
from tests.toolcalls._support import check, reasoning, same, stream, whole

THINK = "<|message_model|><|content_thinking|>Check the record.<|end_message|>"
ANSWER = "<|message_model|><|content_text|>It is sunny.<|end_message|>"


def call(name: str, args: object, header: str = "", key: str = "args") -> str:
    payload = json.dumps({"name": name, key: args})
    return f"<|message_model|>{header}<|content_invoke_tool_json|>{payload}<|end_message|>"


def test_registered() -> None:
    assert "inkling" in FORMATS


@pytest.mark.parametrize("format", ["inkling", None])
def test_thinking_a_call_and_text(format: str | None) -> None:
    text = THINK + call("get_weather", {"city": "SF"}, header="get_weather") + ANSWER
    check(text, format, "It is sunny.", [("get_weather", {"city": "SF"})])
    assert reasoning([text], format) == "Check the record."


def test_blocks_without_the_model_token_and_the_sampling_end() -> None:
    text = '<|content_thinking|>Hm.<|content_model_end_sampling|><|content_invoke_tool_json|>{"name": "f", "args": {}}'
    check(text, "inkling", None, [("f", {})])
    assert reasoning([text], "inkling") == "Hm."


def test_arguments_and_parameters_are_read_for_args_and_args_may_come_first() -> None:
    check(call("f", {"a": 1}, key="arguments"), "inkling", None, [("f", {"a": 1})])
    text = '<|content_invoke_tool_json|>{"args": {"path": "a.txt"}, "name": "read_file"}<|end_message|>'
    check(text, "inkling", None, [("read_file", {"path": "a.txt"})])


def test_a_header_naming_another_tool_is_an_error() -> None:
    with pytest.raises(ToolCallParseError, match="header names 'g'"):
        parse(call("f", {}, header="g"), "inkling")


def test_one_bad_block_keeps_the_others() -> None:
    bad = '<|content_invoke_tool_json|>{"name": "b", "args": {"x": }}<|end_message|>'
    text = call("a", {"x": 1}) + bad + call("c", {})
    error = whole(text, "inkling")[2]
    assert isinstance(error, ToolCallParseError)
    assert "'b'" in str(error)
    assert [(c.name, c.arguments) for c in error.tool_calls] == [("a", {"x": 1}), ("c", {})]
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], "inkling"), whole(text, "inkling")), k


def test_a_call_quoted_while_thinking_is_reasoning() -> None:
    quoted = '{"name": "delete_everything", "args": {}}'
    text = f"<|content_thinking|>I must not send {quoted}<|end_message|>{ANSWER}"
    check(text, "inkling", "It is sunny.", [])
    assert reasoning([text], "inkling") == f"I must not send {quoted}"


def test_raw_tool_text_and_tool_errors_are_content_and_stray_end_tokens_are_dropped() -> None:
    text = "<|content_invoke_tool_text|>ls -la<|end_message|><|end_message|>"
    check(text, "inkling", "ls -la", [])


def test_the_arguments_stream_as_they_are_written() -> None:
    text = call("w", {"path": "a.txt", "content": "x" * 200})
    parser = StreamParser("inkling")
    cut = text.index("x" * 100)
    early = [c.arguments for char in text[:cut] for d in parser.feed(char) for c in d.tool_calls if c.arguments]
    assert early[:3] == ['{"path": "a', ".", "t"]  # the first value as it is written
    assert "".join(early).startswith('{"path": "a.txt"')


def test_a_message_opened_by_the_prompt() -> None:
    # the chat template ends the generation prompt with <|message_model|>: the tool's name comes first
    prompt = "<|message_user|><|content_text|>Read a.txt<|end_message|><|message_model|>"
    assert open_span(prompt, "inkling") == "<|message_model|>"
    text = 'read_file<|content_invoke_tool_json|>{"name": "read_file", "args": {"path": "a.txt"}}<|end_message|>'
    result = parse(text, "inkling", reasoning_started="<|message_model|>")
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("read_file", {"path": "a.txt"})]
    assert result.content is None
    thinking = parse("<|content_thinking|>hm<|end_message|>", "inkling", reasoning_started="<|message_model|>")
    assert thinking.reasoning_content == "hm"
