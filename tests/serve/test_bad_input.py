"""Every kind of bad request gets the OpenAI error JSON with the status clients expect."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import httpx
import openai
import pytest

from tests.serve.conftest import Serve, replay

CHAT = "/v1/chat/completions"
HELLO = [{"role": "user", "content": "hi"}]


def _post(url: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", **(headers or {})}
    return httpx.post(url + CHAT, content=content, headers=headers, timeout=10)


def _error(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def test_malformed_json_is_a_400(served_replay: str) -> None:
    response = _post(served_replay, b'{"model": "replay", "messages": [')
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid_json" and "not valid JSON" in error["message"]


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
    response = _post(served_replay, body)
    assert response.status_code == 400, response.text
    error = _error(response)
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
    response = _post(served_replay, {"model": "replay", "messages": messages})
    assert response.status_code == 400, response.text
    error = _error(response)
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
    response = _post(url, {"model": "replay", "messages": messages})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Seen."


def test_an_unknown_model_is_a_404_listing_the_served_ones(served_replay: str) -> None:
    response = _post(served_replay, {"model": "gpt-9", "messages": HELLO})
    assert response.status_code == 404
    error = _error(response)
    assert error["code"] == "model_not_found" and error["param"] == "model" and "replay" in error["message"]


def test_response_format_needs_a_model_that_declares_it(serve: Serve) -> None:
    url = serve(
        {
            "plain": replay(["{}"]),
            "structured": replay(['{"a": 1}'], capabilities={"structured_output": True}),
        }
    )
    asked = {"messages": HELLO, "response_format": {"type": "json_object"}}
    refused = _post(url, {"model": "plain", **asked})
    assert refused.status_code == 400 and _error(refused)["param"] == "response_format"
    assert _post(url, {"model": "structured", **asked}).json()["choices"][0]["message"]["content"] == '{"a": 1}'
    # the default format asks nothing of the provider
    text = {"model": "plain", "messages": HELLO, "response_format": {"type": "text"}}
    assert _post(url, text).status_code == 200


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_limit_is_a_413(serve: Serve, chunked: bool) -> None:
    url = serve({"replay": replay(["ok"])}, max_body_bytes=2000)
    big = json.dumps({"model": "replay", "messages": [{"role": "user", "content": "x" * 5000}]}).encode()
    if chunked:  # no content-length: the limit holds while the body is read
        response = httpx.post(url + CHAT, content=iter([big[:1000], big[1000:]]), timeout=10)
    else:
        response = _post(url, big)
    assert response.status_code == 413
    assert _error(response)["code"] == "request_too_large"
    assert _post(url, {"model": "replay", "messages": HELLO}).status_code == 200


def test_requests_over_the_models_concurrency_limit_get_429_with_retry_after(serve: Serve) -> None:
    # each answer takes ~0.5 s (50 chunks, 10 ms apart): two hold the two slots while the third is refused
    url = serve({"slow": replay([" w" * 50], delay=0.01)}, max_concurrency=2, retry_after_s=3)
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    started = threading.Barrier(3)
    answers: list[str] = []

    def hold() -> None:
        with client.chat.completions.create(model="slow", messages=HELLO, stream=True) as stream:
            started.wait(5)
            answers.append("".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices))

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    started.wait(5)  # both streams are open
    refused = _post(url, {"model": "slow", "messages": HELLO})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "3"
    assert _error(refused)["code"] == "rate_limit_exceeded"
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="slow", messages=HELLO)
    for thread in threads:
        thread.join(10)
    assert answers == [" w" * 50] * 2
    assert _post(url, {"model": "slow", "messages": HELLO}).status_code == 200  # slots are given back


@pytest.mark.parametrize(
    ("error", "status", "exception"),
    [
        (
            {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"},
            401,
            "AuthenticationError",
        ),
        ({"message": "slow down", "type": "rate_limit_exceeded"}, 429, "RateLimitError"),
        ({"message": "bad temperature", "type": "invalid_request_error"}, 400, "BadRequestError"),
        ({"message": "context too long", "code": "context_length_exceeded"}, 400, "BadRequestError"),
        ({"message": "engine overloaded", "type": "server_error"}, 500, "InternalServerError"),
    ],
)
def test_a_provider_error_maps_to_the_status_a_client_expects(
    serve: Serve, error: dict[str, Any], status: int, exception: str
) -> None:
    url = serve({"failing": replay([[{"error": error}]])})
    response = _post(url, {"model": "failing", "messages": HELLO, "stream": True})
    assert response.status_code == status
    assert error["message"] in _error(response)["message"]
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(getattr(openai, exception)):
        client.chat.completions.create(model="failing", messages=HELLO)


def test_an_error_after_the_first_chunk_arrives_as_an_error_event(serve: Serve) -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": "partial"}}]},
        {"error": {"message": "The model crashed.", "type": "server_error"}},
    ]
    url = serve({"crashing": replay([chunks])})
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    received: list[str] = []
    with pytest.raises(openai.APIError, match="The model crashed"):
        for chunk in client.chat.completions.create(model="crashing", messages=HELLO, stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert received == ["partial"]  # what arrived before the error is kept


def test_unknown_routes_and_methods_get_error_json(served_replay: str) -> None:
    missing = httpx.get(served_replay + "/v1/embeddings", timeout=5)
    assert missing.status_code == 404 and _error(missing)["code"] == "not_found"
    wrong = httpx.get(served_replay + CHAT, timeout=5)
    assert wrong.status_code == 405 and _error(wrong)["code"] == "method_not_allowed"


def test_with_an_api_key_every_v1_request_needs_the_bearer_key(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    key = "sk-serve-secret-0123456789"
    url = serve({"replay": replay(["ok"])}, api_key=key)
    body = {"model": "replay", "messages": HELLO}
    caplog.set_level(logging.INFO, logger="modelplug.serve")
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": key}, {"authorization": f"Basic {key}"}):
        response = _post(url, body, headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert _error(response)["code"] == "invalid_api_key"
    assert httpx.get(url + "/v1/models", timeout=5).status_code == 401
    assert httpx.get(url + "/health", timeout=5).status_code == 200  # for load balancers
    assert _post(url, body, headers={"authorization": f"Bearer {key}"}).status_code == 200
    client = openai.OpenAI(base_url=url + "/v1", api_key=key)
    assert client.chat.completions.create(model="replay", messages=HELLO).choices[0].message.content == "ok"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/v1", api_key="sk-wrong-key", max_retries=0).models.list()
    lines = [r.getMessage() for r in caplog.records if r.name == "modelplug.serve"]
    assert any("status=401" in line for line in lines) and any("status=200" in line for line in lines)
    assert not any(key in line or "wrong" in line for line in lines)
