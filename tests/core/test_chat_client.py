"""The chat-client kit (modelplug.chat_client) on its own; the providers built on it run the fault
suite (modelplug.testing.faults) against real SSE servers on 127.0.0.1."""

from __future__ import annotations

import base64
import email.utils
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from modelplug import chat_client, errors
from modelplug.secrets import redact, release_secret
from modelplug.types import ChatMessageStreamDelta


@pytest.fixture
def registered() -> Iterator[list[str]]:
    values: list[str] = []
    yield values
    for value in values:
        release_secret(value)


def test_every_credential_a_request_carries_is_registered(registered: list[str]) -> None:
    basic = base64.b64encode(b"alice:pa55-basic-word").decode()
    registered += chat_client.register_request_secrets(
        headers={
            "Authorization": "Bearer tok-bearer-1234",
            "X-Goog-Api-Key": "goog-key-5678",
            "Ocp-Apim-Subscription-Key": "azure-sub-9012",
            "Proxy-Authorization": f"Basic {basic}",
            "X-Custom-Token": "custom-tok-3456",
            "Content-Type": "application/json",
            "Cookie": "session=cookie-val-7890; theme=dark-mode",
        },
        cookies={"sid": "jar-cookie-1111"},
        urls=("https://user:url-pass-2222@host.example/v1?key=query-key-3333&mode=fast",),
        values=("plain-key-4444", None),
    )
    text = (
        "tok-bearer-1234 goog-key-5678 azure-sub-9012 pa55-basic-word custom-tok-3456 cookie-val-7890 "
        f"{basic} jar-cookie-1111 url-pass-2222 query-key-3333 plain-key-4444"
    )
    assert set(redact(text).split()) == {"***"}
    assert "application/json" not in registered and "fast" not in registered


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str] | None, expected: float | None) -> None:
    assert chat_client.retry_after_seconds(headers) == expected


def test_retry_after_as_an_http_date() -> None:
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    seconds = chat_client.retry_after_seconds(httpx.Headers({"Retry-After": later}))
    assert seconds is not None and 100 < seconds <= 120


def test_error_from_response_by_status_with_retry_after_and_the_servers_message() -> None:
    limited = chat_client.error_from_response(
        429, b'{"error": {"message": "slow down"}}', httpx.Headers({"Retry-After": "4"}), provider="p"
    )
    assert isinstance(limited, errors.RateLimitError) and limited.retry_after == 4.0 and "slow down" in str(limited)
    busy = chat_client.error_from_response(503, "", {"retry-after": "2"}, provider="p", reason="Service Unavailable")
    assert isinstance(busy, errors.ServerError) and busy.retry_after == 2.0 and "Service Unavailable" in str(busy)
    denied = chat_client.error_from_response(401, "not json at all", None, provider="p")
    assert isinstance(denied, errors.AuthenticationError) and "not json at all" in str(denied)
    detail = json.dumps({"detail": [{"loc": ["body", "x"], "msg": "bad field"}]})
    bad = chat_client.error_from_response(422, detail, None, provider="p")
    assert isinstance(bad, errors.BadRequestError) and "bad field" in str(bad)
    original = httpx.HTTPStatusError(
        "HTTP 500", request=httpx.Request("POST", "http://x"), response=httpx.Response(500)
    )
    failed = chat_client.error_from_response(500, b"", None, provider="p", original=original)
    assert isinstance(failed, errors.ServerError) and failed.original is original and failed.__cause__ is original


def test_error_from_transport_by_kind_and_cause() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:9")
    assert isinstance(
        chat_client.error_from_transport(httpx.ReadTimeout("t", request=request), provider="p"),
        errors.ProviderTimeoutError,
    )
    for error in (httpx.ConnectError("refused"), httpx.RemoteProtocolError("cut"), ConnectionResetError()):
        assert isinstance(chat_client.error_from_transport(error, provider="p"), errors.ProviderConnectionError)
    try:
        try:
            json.loads("{bad")
        except ValueError as inner:
            raise RuntimeError("the client failed") from inner
    except RuntimeError as outer:
        assert isinstance(chat_client.error_from_transport(outer, provider="p"), errors.ServerError)
    other = chat_client.error_from_transport(RuntimeError("odd"), provider="p")
    assert type(other) is errors.ProviderError and other.original is not None


def test_malformed_data_says_what_is_wrong() -> None:
    assert "not JSON" in str(chat_client.malformed_data_error(b"{x", provider="p"))
    assert "not UTF-8" in str(chat_client.malformed_data_error(b'{"a": "\xff"}', provider="p"))


def test_request_json_refuses_what_json_cannot_carry() -> None:
    assert chat_client.request_json({"a": "é"}, provider="p") == '{"a": "é"}'.encode()
    for body in ({"x": object()}, {"t": float("nan")}):
        with pytest.raises(errors.InvalidOptionError, match="cannot be sent as JSON"):
            chat_client.request_json(body, provider="p")


def test_timeouts_from_options() -> None:
    assert chat_client.Timeouts.from_options({}, "p") == chat_client.Timeouts(
        chat_client.DEFAULT_CONNECT_TIMEOUT, chat_client.DEFAULT_READ_TIMEOUT
    )
    assert chat_client.Timeouts.from_options({"timeout": 5, "connect_timeout": 1}, "p") == chat_client.Timeouts(1, 5)
    assert chat_client.Timeouts.from_options({"timeout": {"read": 30}}, "p").read == 30.0
    for bad in ({"timeout": 0}, {"timeout": True}, {"timeout": {"reed": 1}}, {"connect_timeout": "1"}):
        with pytest.raises(errors.InvalidOptionError):
            chat_client.Timeouts.from_options(bad, "p")


def test_closable_stream_close_from_another_thread_ends_a_blocked_read_quietly() -> None:
    unblock = threading.Event()
    closed: list[str] = []

    def deltas() -> Iterator[ChatMessageStreamDelta]:
        yield ChatMessageStreamDelta(content="Hi")
        unblock.wait(30)
        raise ConnectionResetError("the socket was shut down")

    stream = chat_client.ClosableStream(deltas())
    stream.add_closer(lambda: (closed.append("transport"), unblock.set()))
    assert next(stream).content == "Hi"
    threading.Timer(0.05, stream.close).start()
    assert list(stream) == [] and closed == ["transport"] and stream.closed
    late: list[int] = []
    stream.add_closer(lambda: late.append(1))  # a closer added after close() runs at once
    assert late == [1]


def test_closable_stream_errors_pass_through_when_not_closed() -> None:
    def deltas() -> Iterator[ChatMessageStreamDelta]:
        raise errors.ServerError("boom")
        yield ChatMessageStreamDelta()

    with pytest.raises(errors.ServerError):
        next(chat_client.ClosableStream(deltas()))


def test_open_stream_sends_no_new_attempt_after_close() -> None:
    from modelplug.retry import RetryPolicy

    attempts: list[int] = []
    stream: chat_client.ClosableStream

    def start() -> tuple[Callable[[], object], Iterator[ChatMessageStreamDelta]]:
        attempts.append(1)

        def deltas() -> Iterator[ChatMessageStreamDelta]:
            stream.close()  # closed while the first attempt waits for its first delta
            raise errors.ProviderConnectionError("reset by the close")
            yield ChatMessageStreamDelta()

        return (lambda: None), deltas()

    stream = chat_client.open_stream(RetryPolicy(max_retries=3, backoff=0.0), start, provider="p", model="m")  # type: ignore[arg-type]
    assert list(stream) == [] and attempts == [1]


def test_error_from_client_response_reads_the_body_or_falls_back() -> None:
    import httpx

    original = RuntimeError("client said 429")
    read = httpx.Response(429, content=b'{"error": {"message": "slow down"}}', headers={"retry-after": "2"})
    error = chat_client.error_from_client_response(read, provider="p", original=original)
    assert isinstance(error, errors.RateLimitError) and error.retry_after == 2.0
    assert "slow down" in str(error) and error.original is original and error.__cause__ is original
    unread = httpx.Response(500, stream=httpx.ByteStream(b"never read"))
    error = chat_client.error_from_client_response(unread, provider="p", original=original, fallback="the server broke")
    assert isinstance(error, errors.ServerError) and "the server broke" in str(error)
    mapped = chat_client.with_original(errors.ServerError("x"), original)
    assert mapped.original is original and mapped.__cause__ is original


def test_open_stream_hands_the_attempts_generator_over_after_the_first_delta() -> None:
    # After the retried start, each next() of the stream is the provider generator's own (no
    # generator of the kit between them): the frame that resumes the generator is the stream's.
    from modelplug.retry import RetryPolicy

    callers: list[str] = []
    closed: list[str] = []

    def deltas() -> Iterator[ChatMessageStreamDelta]:
        yield ChatMessageStreamDelta(content="a")  # held by the retried start
        for piece in "bcd":
            callers.append(sys._getframe(1).f_code.co_qualname)
            yield ChatMessageStreamDelta(content=piece)

    def start() -> tuple[Callable[[], object], Iterator[ChatMessageStreamDelta]]:
        return (lambda: closed.append("response")), deltas()

    stream = chat_client.open_stream(RetryPolicy(max_retries=1, backoff=0.0), start, provider="p", model="m")  # type: ignore[arg-type]
    assert [d.content for d in stream] == ["a", "b", "c", "d"]
    assert callers == ["ClosableStream.__next__"] * 3
    assert closed == ["response"]  # the end of the stream closed the response


def test_open_stream_retries_only_before_the_first_delta_with_content() -> None:
    from modelplug.retry import RetryPolicy

    attempts: list[int] = []

    def start() -> tuple[Callable[[], object], Iterator[ChatMessageStreamDelta]]:
        attempts.append(1)
        attempt = len(attempts)

        def deltas() -> Iterator[ChatMessageStreamDelta]:
            yield ChatMessageStreamDelta(finish_reason=None)  # a role chunk: held, not yet shown
            if attempt == 1:
                raise errors.ServerError("dropped before any text")
            yield ChatMessageStreamDelta(content="Hi")
            raise errors.ServerError("dropped after text")

        return (lambda: None), deltas()

    stream = chat_client.open_stream(RetryPolicy(max_retries=3, backoff=0.0), start, provider="p", model="m")  # type: ignore[arg-type]
    received = []
    with pytest.raises(errors.ServerError, match="after text"):
        for delta in stream:
            received.append(delta.content)
    assert attempts == [1, 1] and received == [None, "Hi"]


def test_open_stream_that_failed_to_start_stops_afterwards() -> None:
    from modelplug.retry import RetryPolicy

    def start() -> tuple[Callable[[], object], Iterator[ChatMessageStreamDelta]]:
        raise errors.AuthenticationError("bad key")

    stream = chat_client.open_stream(RetryPolicy(max_retries=0), start, provider="p", model="m")  # type: ignore[arg-type]
    with pytest.raises(errors.AuthenticationError):
        next(stream)
    assert list(stream) == []  # the failed start is not tried again
