"""The retry policy and the retry loop of the HTTP providers (modelplug.retry)."""

from __future__ import annotations

from typing import Any

import pytest

from modelplug import errors
from modelplug.retry import RetryPolicy, call_with_retries


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


def test_the_async_stream_hands_the_attempts_generator_over_after_the_first_delta() -> None:
    # After the retried start, the consumer awaits the provider generator's own __anext__: the frame
    # that resumes the generator is the consumer's coroutine, with no coroutine of retry between.
    import asyncio
    import sys
    from collections.abc import AsyncGenerator, Awaitable, Callable

    from modelplug.retry import astream_with_retries
    from modelplug.types import ChatMessageStreamDelta

    callers: list[str] = []
    closed: list[str] = []
    attempts: list[int] = []

    async def deltas(attempt: int) -> AsyncGenerator[ChatMessageStreamDelta, None]:
        yield ChatMessageStreamDelta()  # held back until the first delta with content
        if attempt == 1:
            raise errors.ServerError("dropped before any text")
        yield ChatMessageStreamDelta(content="a")
        for piece in "bc":
            callers.append(sys._getframe(1).f_code.co_qualname)
            yield ChatMessageStreamDelta(content=piece)

    async def start() -> tuple[Callable[[], Awaitable[object]], AsyncGenerator[ChatMessageStreamDelta, None]]:
        attempts.append(1)

        async def close() -> None:
            closed.append("response")

        return close, deltas(len(attempts))

    async def consume() -> list[str | None]:
        stream = astream_with_retries(RetryPolicy(max_retries=2, backoff=0.0), start, provider="p", model="m")
        received = []
        async for delta in stream:
            received.append(delta.content)
        await stream.aclose()
        return received

    assert asyncio.run(consume()) == [None, "a", "b", "c"]
    assert [caller.rsplit(".", 1)[-1] for caller in callers] == ["consume", "consume"]
    assert attempts == [1, 1] and closed == ["response", "response"]  # the failed attempt's and the last one's


def test_an_async_stream_that_failed_to_start_ends_without_a_new_request() -> None:
    import asyncio

    from modelplug.retry import astream_with_retries

    attempts: list[int] = []

    async def start() -> Any:
        attempts.append(1)
        raise errors.AuthenticationError("bad key")

    async def consume() -> None:
        stream = astream_with_retries(RetryPolicy(max_retries=2, backoff=0.0), start, provider="p", model="m")
        with pytest.raises(errors.AuthenticationError):
            await stream.__anext__()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()

    asyncio.run(consume())
    assert attempts == [1]  # not retryable, and not started again
