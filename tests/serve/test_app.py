"""The app (:mod:`modelplug.serve.app`) on a real server on 127.0.0.1: the model lookup, the body and
concurrency limits, provider errors as the statuses and error events clients expect, routes, the key."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

import modelplug
from modelplug.errors import InvalidOptionError
from tests.serve.conftest import CHAT, HELLO, Serve, error_of, post, replay


def test_an_unknown_model_is_a_404_listing_the_served_ones(served_replay: str) -> None:
    response = post(served_replay, {"model": "gpt-9", "messages": HELLO})
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "model_not_found" and error["param"] == "model" and "replay" in error["message"]


def test_response_format_needs_a_model_that_declares_it(serve: Serve) -> None:
    url = serve(
        {
            "plain": replay(["{}"]),
            "structured": replay(['{"a": 1}'], capabilities={"structured_output": True}),
        }
    )
    asked = {"messages": HELLO, "response_format": {"type": "json_object"}}
    refused = post(url, {"model": "plain", **asked})
    assert refused.status_code == 400 and error_of(refused)["param"] == "response_format"
    assert post(url, {"model": "structured", **asked}).json()["choices"][0]["message"]["content"] == '{"a": 1}'
    # the default format asks nothing of the provider
    text = {"model": "plain", "messages": HELLO, "response_format": {"type": "text"}}
    assert post(url, text).status_code == 200


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_limit_is_a_413(serve: Serve, chunked: bool) -> None:
    url = serve({"replay": replay(["ok"])}, max_body_bytes=2000)
    big = json.dumps({"model": "replay", "messages": [{"role": "user", "content": "x" * 5000}]}).encode()
    # chunked: no content-length, so the limit holds while the body is read
    chunks = iter([big[:1000], big[1000:]])
    response = httpx.post(url + CHAT, content=chunks, timeout=10) if chunked else post(url, big)
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"
    assert post(url, {"model": "replay", "messages": HELLO}).status_code == 200


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
    refused = post(url, {"model": "slow", "messages": HELLO})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "3"
    assert error_of(refused)["code"] == "rate_limit_exceeded"
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="slow", messages=HELLO)
    for thread in threads:
        thread.join(10)
    assert answers == [" w" * 50] * 2
    assert post(url, {"model": "slow", "messages": HELLO}).status_code == 200  # slots are given back


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
    response = post(url, {"model": "failing", "messages": HELLO, "stream": True})
    assert response.status_code == status
    assert error["message"] in error_of(response)["message"]
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
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    wrong = httpx.get(served_replay + CHAT, timeout=5)
    assert wrong.status_code == 405 and error_of(wrong)["code"] == "method_not_allowed"


def test_with_an_api_key_every_v1_request_needs_the_bearer_key(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    key = "sk-serve-secret-0123456789"
    url = serve({"replay": replay(["ok"])}, api_key=key)
    body = {"model": "replay", "messages": HELLO}
    caplog.set_level(logging.INFO, logger="modelplug.serve")
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": key}, {"authorization": f"Basic {key}"}):
        response = post(url, body, headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert error_of(response)["code"] == "invalid_api_key"
    assert httpx.get(url + "/v1/models", timeout=5).status_code == 401
    assert httpx.get(url + "/health", timeout=5).status_code == 200  # for load balancers
    assert post(url, body, headers={"authorization": f"Bearer {key}"}).status_code == 200
    client = openai.OpenAI(base_url=url + "/v1", api_key=key)
    assert client.chat.completions.create(model="replay", messages=HELLO).choices[0].message.content == "ok"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/v1", api_key="sk-wrong-key", max_retries=0).models.list()
    lines = [r.getMessage() for r in caplog.records if r.name == "modelplug.serve"]
    assert any("status=401" in line for line in lines) and any("status=200" in line for line in lines)
    assert not any(key in line or "wrong" in line for line in lines)


class _Strict:
    """A provider that refuses generation options it does not take, as the Transformers one does
    (``unknown generation option 'foo' ...``), when the stream starts: before any delta."""

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True)

    @modelplug.hookimpl
    def generate_stream(self, options: modelplug.GenerationOptions) -> Iterator[modelplug.ChatMessageStreamDelta]:
        for key in options.extra:
            raise InvalidOptionError(f"unknown generation option {key!r} for strict models (known: top_k)")
        yield modelplug.ChatMessageStreamDelta(content="ok", finish_reason="stop")


@pytest.mark.parametrize("stream", [False, True])
def test_a_field_the_provider_refuses_is_a_400_naming_it_and_logged_rejected(
    serve: Serve, fresh_plugins: None, caplog: pytest.LogCaptureFixture, stream: bool
) -> None:
    """Was: ``param: null`` and ``outcome=error``; a 4xx before any generation is a rejected request."""
    modelplug.register_provider("strict", _Strict())
    url = serve({"strict": modelplug.load_model("strict:m")})
    caplog.set_level(logging.INFO, logger="modelplug.serve")
    response = post(url, {"model": "strict", "messages": HELLO, "stream": stream, "temperature": 0.5, "foo": 5})
    assert response.status_code == 400
    error = error_of(response)
    assert error["param"] == "foo" and "'foo'" in error["message"] and error["type"] == "invalid_request_error"
    [line] = [r.getMessage() for r in caplog.records if r.name == "modelplug.serve"]
    assert "status=400 outcome=rejected" in line, line
    assert post(url, {"model": "strict", "messages": HELLO, "stream": stream}).status_code == 200


def test_the_option_an_error_names_is_one_of_the_request() -> None:
    from modelplug.serve.requests import parse_chat_request

    chat = parse_chat_request(json.dumps({"model": "m", "messages": HELLO, "top_p": 0.5, "top_k": 3}).encode())
    assert chat.option_named("option 'top_k' must be an int; 'top_p' too") == "top_k"
    assert chat.option_named('"top_p" is out of range') == "top_p"
    assert chat.option_named("the backend failed on 'stop'") is None  # not a field of this request
