"""The wire writers a server needs: whole responses, the usage chunk, errors (each read back by the one reader)."""

from __future__ import annotations

import pytest

from modelplug import ChatMessage, ChatMessageStreamDelta, ToolCall, ToolCallDelta, Usage
from modelplug.errors import (
    AuthenticationError,
    BadRequestError,
    CapabilityError,
    ContentFilterError,
    ContextLengthError,
    InvalidOptionError,
    MalformedChunkError,
    ModelLoadError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    ToolCallParseError,
)
from modelplug.wire import (
    delta_from_chunk,
    delta_to_chunk,
    error_from_wire,
    error_to_wire,
    message_to_response,
    response_to_message,
    usage_to_chunk,
)


def test_a_whole_response_reads_back_to_the_same_message() -> None:
    message = ChatMessage(
        content="Paris.",
        tool_calls=[ToolCall("call_1", "lookup", {"q": "France"})],
        reasoning_content="Easy.",
        usage=Usage(5, 2),
        finish_reason="tool_calls",
    )
    response = message_to_response(message, model="m", id="chatcmpl-1", created=7)
    assert (response["object"], response["model"], response["id"], response["created"]) == (
        "chat.completion",
        "m",
        "chatcmpl-1",
        7,
    )
    assert response["usage"] == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    assert response_to_message(response) == message
    assert "usage" not in message_to_response(ChatMessage(content="x"))


def test_the_first_chunk_carries_the_role_and_reads_back_to_the_delta() -> None:
    delta = ChatMessageStreamDelta(content="Hi", tool_calls=[ToolCallDelta(0, "c", "f", "{")])
    chunk = delta_to_chunk(delta, model="m", id="x", created=3, role="assistant")
    assert chunk["created"] == 3 and next(iter(chunk["choices"][0]["delta"])) == "role"
    assert delta_from_chunk(chunk) == delta
    assert "created" not in delta_to_chunk(delta)


def test_the_usage_chunk_has_no_choices_and_reads_back_to_the_usage() -> None:
    chunk = usage_to_chunk(Usage(3, 4), model="m", id="x", created=1)
    assert chunk["choices"] == [] and delta_from_chunk(chunk) == ChatMessageStreamDelta(usage=Usage(3, 4))


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidOptionError("bad option"), 400, None),
        (MalformedChunkError("stream chunk field choices must be a list, got 'x'"), 502, None),
        (CapabilityError("no tools"), 400, None),
        (BadRequestError("bad", status_code=422), 422, None),
        (ContextLengthError("too long", status_code=400), 400, "context_length_exceeded"),
        (ContentFilterError("filtered"), 400, "content_filter"),
        (AuthenticationError("no key", status_code=401), 401, None),
        (AuthenticationError("not allowed", status_code=403), 403, None),
        (RateLimitError("slow down", retry_after=2.5), 429, "rate_limit_exceeded"),
        (ProviderTimeoutError("took too long"), 504, None),
        (ProviderConnectionError("refused"), 502, None),
        (ModelLoadError("no weights"), 503, None),
        (ServerError("overloaded", status_code=503, retry_after=4), 503, None),
        (ServerError("broken"), 500, None),
        (ProviderError("odd"), 500, None),
        (ToolCallParseError("unterminated", format="hermes", text="<tool_call>{"), 500, None),
        (RuntimeError("a bug"), 500, None),
    ],
)
def test_errors_get_the_status_a_client_expects_and_read_back_as_their_kind(
    error: Exception, status: int, code: str | None
) -> None:
    got_status, body, headers = error_to_wire(error)
    assert got_status == status and body["error"]["code"] == code and body["error"]["message"]
    if isinstance(error, (RateLimitError, ServerError)) and error.retry_after:
        assert headers == {"retry-after": str(int(-(-error.retry_after // 1)))}
    if isinstance(error, ProviderError) and type(error) is not ProviderError:
        kind = type(error_from_wire(body, status=got_status))
        expected = type(error)
        if expected in (ProviderTimeoutError, ProviderConnectionError, ModelLoadError):
            expected = ServerError  # a gateway's 5xx: the client sees a server error, and may retry
        assert kind is expected
    if isinstance(error, MalformedChunkError):  # a backend's bad chunk, relayed: the client's server failed
        assert type(error_from_wire(body, status=got_status)) is ServerError


def test_error_messages_are_redacted() -> None:
    _, body, _ = error_to_wire(AuthenticationError("key sk-abcdefghijklmnopqrstuvwxyz0123 refused"))
    assert "sk-abcdefghijklmnopqrstuvwxyz0123" not in body["error"]["message"]
