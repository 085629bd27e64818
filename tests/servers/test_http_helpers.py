"""The core helpers the HTTP provider plugins share: status classes, scrubbing, retries."""

from __future__ import annotations

import traceback

import pytest

from modelplug import errors
from modelplug.errors import error_class_for_status
from modelplug.retry import RetryPolicy, call_with_retries
from modelplug.secrets import register_secret, scrub_exception


@pytest.mark.parametrize(
    ("status", "message", "code", "expected"),
    [
        (401, "", None, errors.AuthenticationError),
        (403, "", None, errors.AuthenticationError),
        (408, "", None, errors.ProviderTimeoutError),
        (429, "", None, errors.RateLimitError),
        (500, "", None, errors.ServerError),
        (503, "", None, errors.ServerError),
        (400, "This model's maximum context length is 8192 tokens.", None, errors.ContextLengthError),
        (400, "", "context_length_exceeded", errors.ContextLengthError),
        (413, "prompt is too long", None, errors.ContextLengthError),
        (400, "", "content_filter", errors.ContentFilterError),
        (400, "filtered by Azure OpenAI's content management policy", None, errors.ContentFilterError),
        (400, "Invalid value for 'temperature'.", None, errors.BadRequestError),
        (422, "Unexpected fields", None, errors.BadRequestError),
        (404, "The model does not exist.", None, errors.BadRequestError),
        (None, "", None, errors.ProviderError),
        (302, "", None, errors.ProviderError),
    ],
)
def test_error_class_for_status(status: int | None, message: str, code: str | None, expected: type) -> None:
    assert error_class_for_status(status, message, code) is expected


class _ClientError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def test_scrub_exception_redacts_the_whole_chain_in_place() -> None:
    key = "sk-scrub-test-9f8e7d6c5b4a"
    register_secret(key)
    try:
        try:
            raise ValueError(f"server said: bad key {key}")
        except ValueError as inner:
            raise _ClientError(f"401: Incorrect API key provided: {key}") from inner
    except _ClientError as error:
        outer = error
    outer.original_exception = RuntimeError(key)  # type: ignore[attr-defined]
    scrub_exception(outer)
    assert key not in "".join(traceback.format_exception(outer))
    assert key not in outer.message and key not in str(outer.original_exception)  # type: ignore[attr-defined]
    assert "Incorrect API key provided: ***" in str(outer)


def test_retry_policy_reads_and_checks_options() -> None:
    assert RetryPolicy.from_options({}, "x") == RetryPolicy(2, 0.5, 30.0)
    assert RetryPolicy.from_options({"max_retries": 0, "retry_backoff": 1, "retry_max_wait": 2}, "x") == RetryPolicy(
        0, 1.0, 2.0
    )
    for bad in ({"max_retries": -1}, {"max_retries": 1.5}, {"retry_backoff": "1"}, {"retry_max_wait": True}):
        with pytest.raises(errors.InvalidOptionError):
            RetryPolicy.from_options(bad, "x")


def test_retries_only_what_may_succeed_and_honours_retry_after() -> None:
    policy = RetryPolicy(max_retries=3, backoff=0.001, max_wait=0.5)
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise errors.RateLimitError("slow down", retry_after=0.0)
        return "ok"

    assert call_with_retries(policy, flaky, provider="p", model="m") == "ok" and len(calls) == 3
    assert policy.retryable(errors.ServerError("5xx"))
    assert policy.retryable(errors.ProviderConnectionError("reset"))
    assert not policy.retryable(errors.BadRequestError("400"))
    assert not policy.retryable(errors.AuthenticationError("401"))
    assert not policy.retryable(errors.RateLimitError("wait long", retry_after=60))  # longer than max_wait
    calls.clear()

    def always_bad() -> str:
        calls.append(1)
        raise errors.BadRequestError("no")

    with pytest.raises(errors.BadRequestError):
        call_with_retries(policy, always_bad, provider="p", model="m")
    assert len(calls) == 1


def _objects(value: object) -> object:
    import types

    if isinstance(value, dict):
        return types.SimpleNamespace(**{k: _objects(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_objects(v) for v in value]
    return value


def test_the_object_route_follows_the_dict_route_on_every_fixture_chunk() -> None:
    from modelplug.testing.http.suite import STREAM_CASES
    from modelplug.wire import attribute_getter, delta_from_chunk

    chunks = [c for case in STREAM_CASES.values() for c in case["chunks"] if c != "[DONE]"]
    assert len(chunks) > 70
    for chunk in chunks:
        assert delta_from_chunk(_objects(chunk), attribute_getter) == delta_from_chunk(chunk), chunk


def test_chat_request_rules() -> None:
    from modelplug.types import ChatMessage, GenerationOptions
    from modelplug.wire import chat_request

    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    messages = [ChatMessage(role="user", content="Hi."), ChatMessage(content="Hello.", reasoning_content="hm")]
    plain = chat_request(messages, GenerationOptions(max_tokens=5, temperature=0.0))
    assert plain == {
        "messages": [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}],
        "max_tokens": 5,
        "temperature": 0.0,
    }
    assert "tool_choice" not in chat_request(messages, GenerationOptions(tools=[weather]))  # ck-03: server default
    assert "tool_choice" not in chat_request(messages, GenerationOptions(tools=[weather], tool_choice=None))  # ck-04
    no_tools = chat_request(messages, GenerationOptions(tool_choice="required"))  # ck-05
    assert "tools" not in no_tools and "tool_choice" not in no_tools
    forced = chat_request(messages, GenerationOptions(tools=[weather], tool_choice="required", stop=["x"]))
    assert (forced["tool_choice"], forced["stop"], forced["tools"][0]["function"]["name"]) == (
        "required",
        ["x"],
        "get_weather",
    )
    text = chat_request(messages, GenerationOptions(tools=[weather], tool_choice="required"), native_tools=False)
    assert "tools" in text and "tool_choice" not in text
