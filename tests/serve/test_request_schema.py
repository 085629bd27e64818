"""The request schema (:mod:`modelplug.serve.request_schema`) as a client meets it: each wrong field
or message is a 400 naming its place, and every OpenAI message shape is accepted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serve.conftest import HELLO, Serve, error_of, post, replay


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([1, 2], None),
        ({"messages": HELLO}, "model"),
        ({"model": 3, "messages": HELLO}, "model"),
        ({"model": "replay"}, "messages"),
        ({"model": "replay", "messages": "hi"}, "messages"),
        ({"model": "replay", "messages": []}, "messages"),
        ({"model": "replay", "messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"model": "replay", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "replay", "messages": HELLO, "stream": "yes"}, "stream"),
        ({"model": "replay", "messages": HELLO, "stream_options": []}, "stream_options"),
        (
            {"model": "replay", "messages": HELLO, "stream_options": {"include_usage": 1}},
            "stream_options.include_usage",
        ),
        ({"model": "replay", "messages": HELLO, "max_tokens": "10"}, "max_tokens"),
        ({"model": "replay", "messages": HELLO, "max_completion_tokens": 0}, "max_completion_tokens"),
        ({"model": "replay", "messages": HELLO, "temperature": "hot"}, "temperature"),
        ({"model": "replay", "messages": HELLO, "top_p": 2}, "top_p"),
        ({"model": "replay", "messages": HELLO, "stop": 7}, "stop"),
        ({"model": "replay", "messages": HELLO, "tools": {"type": "function"}}, "tools"),
        ({"model": "replay", "messages": HELLO, "tool_choice": 3}, "tool_choice"),
        ({"model": "replay", "messages": HELLO, "n": 2}, "n"),
        # were accepted: n true and 1.0 (equal to 1), tool choices no tool answers, a nameless tool
        ({"model": "replay", "messages": HELLO, "n": True}, "n"),
        ({"model": "replay", "messages": HELLO, "n": 1.0}, "n"),
        ({"model": "replay", "messages": HELLO, "tool_choice": "always"}, "tool_choice"),
        ({"model": "replay", "messages": HELLO, "tool_choice": "required"}, "tool_choice"),
        (
            {"model": "replay", "messages": HELLO, "tool_choice": {"type": "function", "function": {"name": "f"}}},
            "tool_choice",
        ),
        (
            {
                "model": "replay",
                "messages": HELLO,
                "tools": [{"type": "function", "function": {"name": "g"}}],
                "tool_choice": {"type": "function", "function": {"name": "f"}},
            },
            "tool_choice",
        ),
        ({"model": "replay", "messages": HELLO, "tools": [{"type": "function"}]}, "tools"),
        # were accepted: the fields the server ignores, of any type, and an unknown response_format
        ({"model": "replay", "messages": HELLO, "user": 5}, "user"),
        ({"model": "replay", "messages": HELLO, "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
        ({"model": "replay", "messages": HELLO, "metadata": {"k": 1}}, "metadata.k"),
        ({"model": "replay", "messages": HELLO, "response_format": {"type": "xml"}}, "response_format.type"),
        (
            {"model": "replay", "messages": HELLO, "response_format": {"type": "json_schema"}},
            "response_format.json_schema",
        ),
    ],
)
def test_wrong_shapes_and_types_are_400s_naming_the_field(served_replay: str, body: Any, param: str | None) -> None:
    response = post(served_replay, body)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param
        assert param in error["message"]


SYSTEM = {"role": "system", "content": "Be brief."}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


@pytest.mark.parametrize(
    ("messages", "param", "said"),
    [
        # were accepted: a user message without content, or with null or a number
        ([SYSTEM, {"role": "user"}], "messages[1].content", "is required"),
        ([SYSTEM, {"role": "user", "content": None}], "messages[1].content", "got null"),
        ([SYSTEM, {"role": "user", "content": {"text": "hi"}}], "messages[1].content", "must be a string or a list"),
        ([{"role": "system"}, *HELLO], "messages[0].content", "is required"),
        ([{"role": "developer", "content": 3}, *HELLO], "messages[0].content", "got 3"),
        ([*HELLO, {"role": "assistant"}], "messages[1].content", "without 'tool_calls'"),
        ([*HELLO, {"role": "tool", "content": "42"}], "messages[1].tool_call_id", "is required"),
        ([*HELLO, {"role": "tool", "content": "42", "tool_call_id": 1}], "messages[1].tool_call_id", "a string"),
        ([*HELLO, {"role": "assistant", "tool_calls": "f()"}], "messages[1].tool_calls", "a list of tool call"),
        ([*HELLO, {"role": "assistant", "tool_calls": [{**CALL, "id": None}]}], "messages[1].tool_calls[0].id", ""),
        (
            [*HELLO, {"role": "assistant", "tool_calls": [{"id": "c", "function": CALL["function"]}]}],
            "messages[1].tool_calls[0].type",
            "is required",
        ),
        (
            [*HELLO, {"role": "assistant", "tool_calls": [{**CALL, "function": {"name": "f", "arguments": {}}}]}],
            "messages[1].tool_calls[0].function.arguments",
            "JSON text",
        ),
        (
            [*HELLO, {"role": "assistant", "tool_calls": [{**CALL, "function": {"arguments": "{}"}}]}],
            "messages[1].tool_calls[0].function.name",
            "is required",
        ),
        ([{"role": "user", "content": [{"type": "video", "url": "x"}]}], "messages[0].content[0].type", "'text'"),
        ([{"role": "user", "content": [{"text": "hi"}]}], "messages[0].content[0].type", "is required"),
        ([{"role": "user", "content": [{"type": "text", "text": 5}]}], "messages[0].content[0].text", "got 5"),
        ([{"role": "user", "content": []}], "messages[0].content", "non-empty"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": "http://x/y.png"}]}],
            "messages[0].content[0].image_url",
            "'url'",
        ),
        (
            [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "http://x"}}]}, *HELLO],
            "messages[0].content[0].type",
            "one of 'text'",
        ),
        ([{"role": "user", "content": "hi", "name": 7}], "messages[0].name", "a string"),
        (["hi"], "messages[0]", "a message object"),
        ([{"content": "hi"}], "messages[0].role", "is required"),
    ],
)
def test_a_bad_message_is_a_400_naming_its_place(served_replay: str, messages: Any, param: str, said: str) -> None:
    response = post(served_replay, {"model": "replay", "messages": messages})
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert f"'{param}'" in error["message"] and said in error["message"], error["message"]


def test_every_role_and_content_part_in_their_openai_shapes_is_accepted(serve: Serve) -> None:
    parts = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-1"}},
    ]
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "system", "content": [{"type": "text", "text": "Really."}], "name": "rules"},
        {"role": "user", "content": parts, "name": "ann"},
        {"role": "assistant", "content": None, "tool_calls": [CALL], "reasoning_content": None},
        {"role": "tool", "content": [{"type": "text", "text": "42"}], "tool_call_id": "call_1"},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
        {"role": "assistant", "refusal": "No.", "x-client-field": 1},
        {"role": "user", "content": ""},
    ]
    url = serve({"replay": replay(["Seen."], capabilities={"vision": True, "tool_calling": "native"})})
    response = post(url, {"model": "replay", "messages": messages})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Seen."
