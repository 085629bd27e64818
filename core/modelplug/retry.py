"""Retrying the start of a request, with tenacity (for HTTP provider plugins).

:class:`RetryPolicy` comes from the reserved options (:mod:`modelplug.reserved`);
:func:`start_with_retries` and its async twin retry a stream until its first delta with content, never after,
then hand the provider's generator over to the caller. What is retried and how long it waits:
``docs/writing-a-plugin.md`` ("HTTP providers: the chat-client kit"). tenacity is imported when a
retry is configured, not with this module.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import Any, TypeVar

import attrs

from modelplug.errors import InvalidOptionError, ProviderConnectionError, RateLimitError, ServerError
from modelplug.log import get_logger
from modelplug.types import ChatMessageStreamDelta

__all__ = [
    "RETRY_OPTIONS",
    "AsyncStreamStarter",
    "RetriedAsyncStream",
    "RetryPolicy",
    "StreamStarter",
    "acall_with_retries",
    "astart_with_retries",
    "astream_with_retries",
    "call_with_retries",
    "start_with_retries",
    "stream_with_retries",
]

T = TypeVar("T")

#: The model options :meth:`RetryPolicy.from_options` reads; reserved by the core
#: (:mod:`modelplug.reserved`): checked before ``load``, never passed to a provider.
RETRY_OPTIONS = frozenset({"max_retries", "retry_backoff", "retry_max_wait"})
_RETRYABLE = (RateLimitError, ServerError, ProviderConnectionError)


@attrs.frozen
class RetryPolicy:
    """How often and how long to retry.

    Attributes:
        max_retries: retries after the first attempt (0: none).
        backoff: the first wait, in seconds, doubled on every retry (with jitter).
        max_wait: the longest single wait, in seconds.
    """

    max_retries: int = 2
    backoff: float = 0.5
    max_wait: float = 30.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any], provider: str) -> RetryPolicy:
        """Read ``max_retries``, ``retry_backoff`` and ``retry_max_wait`` from model options.

        Raises:
            InvalidOptionError: a value is negative or of the wrong type.
        """
        defaults = cls()
        values = {
            "max_retries": options.get("max_retries", defaults.max_retries),
            "retry_backoff": options.get("retry_backoff", defaults.backoff),
            "retry_max_wait": options.get("retry_max_wait", defaults.max_wait),
        }
        for name, value in values.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise InvalidOptionError(f"{provider} option {name!r} must be a number ≥ 0, got {value!r}")
        if not isinstance(values["max_retries"], int):
            raise InvalidOptionError(f"{provider} option 'max_retries' must be an int, got {values['max_retries']!r}")
        return cls(values["max_retries"], float(values["retry_backoff"]), float(values["retry_max_wait"]))

    def retryable(self, error: BaseException) -> bool:
        """Whether ``error`` is worth another attempt under this policy."""
        if not isinstance(error, _RETRYABLE):
            return False
        retry_after = getattr(error, "retry_after", None)
        return retry_after is None or retry_after <= self.max_wait


def _retrying_arguments(policy: RetryPolicy, *, provider: str, model: str) -> dict[str, Any]:
    """tenacity's arguments for ``policy``: one configuration for the sync and the async retries."""
    import tenacity

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(retry_after)
        return float(exponential(state))

    def log(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        sleep = state.next_action.sleep if state.next_action is not None else None
        get_logger().info(
            "retry", provider=provider, model=model, attempt=state.attempt_number, wait_s=sleep, error=repr(error)
        )

    exponential = tenacity.wait_random_exponential(multiplier=policy.backoff, max=policy.max_wait)
    return {
        "stop": tenacity.stop_after_attempt(policy.max_retries + 1),
        "wait": wait,
        "retry": tenacity.retry_if_exception(policy.retryable),
        "before_sleep": log,
        "reraise": True,
    }


def call_with_retries(policy: RetryPolicy, attempt: Callable[[], T], *, provider: str, model: str) -> T:
    """Run ``attempt`` until it returns, retrying the errors ``policy`` allows.

    ``attempt`` must raise modelplug errors (already mapped). The last error is re-raised as is.
    """
    if policy.max_retries == 0:
        return attempt()
    import tenacity

    retrying = tenacity.Retrying(**_retrying_arguments(policy, provider=provider, model=model))
    return retrying(attempt)


async def acall_with_retries(
    policy: RetryPolicy, attempt: Callable[[], Awaitable[T]], *, provider: str, model: str
) -> T:
    """:func:`call_with_retries` for a coroutine function: the waits are ``asyncio.sleep`` (the
    event loop is never blocked), a cancellation during a wait or an attempt propagates at once."""
    if policy.max_retries == 0:
        return await attempt()
    import tenacity

    retrying = tenacity.AsyncRetrying(**_retrying_arguments(policy, provider=provider, model=model))
    return await retrying(attempt)


#: What :func:`stream_with_retries` starts: a function that sends the request and returns a way to
#: close the response and the generator of its deltas (raising modelplug errors; it closes its own
#: response when it ends or fails, as a generator's ``finally`` does).
StreamStarter = Callable[[], tuple[Callable[[], object], Generator[ChatMessageStreamDelta, None, None]]]


def _first_content(delta: ChatMessageStreamDelta) -> bool:
    return bool(delta.content or delta.reasoning_content or delta.tool_calls)


def start_with_retries(
    policy: RetryPolicy, start: StreamStarter, *, provider: str, model: str
) -> tuple[Callable[[], object], Generator[ChatMessageStreamDelta, None, None], list[ChatMessageStreamDelta]]:
    """The retried part of a streamed request: ``start()`` and its deltas up to the first one with
    content, reasoning or a tool call, attempted again under ``policy`` when that part fails.

    Returns ``(close, deltas, held)``: the successful attempt's closer and generator, and the deltas
    read from it so far (the last one the first with content, unless the stream ended before one).
    The caller hands ``held`` on, then reads ``deltas`` itself: nothing after this point is retried,
    and no layer of this module sits between the caller and the provider's generator.

    Raises:
        ProviderError: the last attempt's error (a failed attempt's deltas and response are closed).
    """

    def attempt() -> tuple[
        Callable[[], object], Generator[ChatMessageStreamDelta, None, None], list[ChatMessageStreamDelta]
    ]:
        close, deltas = start()
        held: list[ChatMessageStreamDelta] = []
        try:
            for delta in deltas:
                held.append(delta)
                if _first_content(delta):
                    break
        except BaseException:
            deltas.close()
            close()
            raise
        return close, deltas, held

    return call_with_retries(policy, attempt, provider=provider, model=model)


def stream_with_retries(
    policy: RetryPolicy, start: StreamStarter, *, provider: str, model: str
) -> Iterator[ChatMessageStreamDelta]:
    """The deltas of a streamed request, retried under ``policy`` until the first delta with
    content, reasoning or a tool call has arrived (the deltas before it, e.g. a role chunk, are held
    back until then), and never after (:func:`start_with_retries`). Closing the returned generator
    closes the deltas and the response; so does an error, and the end of the stream.
    (:func:`modelplug.chat_client.open_stream` reads the same retried start without this generator's
    layer per delta.)
    """

    def run() -> Generator[ChatMessageStreamDelta, None, None]:
        close, deltas, held = start_with_retries(policy, start, provider=provider, model=model)
        try:
            yield from held
            yield from deltas
        finally:
            deltas.close()
            close()

    return run()


#: What :func:`astream_with_retries` starts: a coroutine function that sends the request and returns
#: a coroutine function closing the response and the async generator of its deltas (raising
#: modelplug errors; it closes its own response when it ends or fails).
AsyncStreamStarter = Callable[
    [], Awaitable[tuple[Callable[[], Awaitable[object]], AsyncGenerator[ChatMessageStreamDelta, None]]]
]


async def astart_with_retries(
    policy: RetryPolicy, start: AsyncStreamStarter, *, provider: str, model: str
) -> tuple[Callable[[], Awaitable[object]], AsyncGenerator[ChatMessageStreamDelta, None], list[ChatMessageStreamDelta]]:
    """:func:`start_with_retries` for an async stream (waits with ``asyncio.sleep``; a cancellation
    closes the attempt in flight, its deltas then its response, and propagates)."""

    async def attempt() -> tuple[
        Callable[[], Awaitable[object]], AsyncGenerator[ChatMessageStreamDelta, None], list[ChatMessageStreamDelta]
    ]:
        close, deltas = await start()
        held: list[ChatMessageStreamDelta] = []
        try:
            async for delta in deltas:
                held.append(delta)
                if _first_content(delta):
                    break
        except BaseException:
            try:
                await deltas.aclose()
            finally:
                await close()
            raise
        return close, deltas, held

    return await acall_with_retries(policy, attempt, provider=provider, model=model)


class RetriedAsyncStream(AsyncIterator[ChatMessageStreamDelta]):
    """The async iterator :func:`astream_with_retries` returns: its first ``__anext__`` runs
    :func:`astart_with_retries`; after the deltas held back then, each ``__anext__`` is the
    provider's own generator's (handed over, no coroutine of this class per delta).

    ``aclose()`` closes the provider's generator, then the response (``await close()``), once; the
    generator closes its response itself when it ends or fails (the :data:`AsyncStreamStarter`
    contract), and a consumer such as ``Model.astream`` calls ``aclose()`` then too.
    """

    __slots__ = ("_close", "_closed", "_deltas", "_held", "_model", "_policy", "_provider", "_start")

    def __init__(self, policy: RetryPolicy, start: AsyncStreamStarter, *, provider: str, model: str) -> None:
        self._policy = policy
        self._start: AsyncStreamStarter | None = start
        self._provider = provider
        self._model = model
        self._deltas: AsyncGenerator[ChatMessageStreamDelta, None] | None = None
        self._close: Callable[[], Awaitable[object]] | None = None
        self._held: list[ChatMessageStreamDelta] = []
        self._closed = False

    def __aiter__(self) -> RetriedAsyncStream:
        return self

    def __anext__(self) -> Awaitable[ChatMessageStreamDelta]:
        deltas = self._deltas
        if deltas is None or self._held:
            return self._begin_or_held()
        return deltas.__anext__()

    async def _begin_or_held(self) -> ChatMessageStreamDelta:
        if self._closed:
            raise StopAsyncIteration
        if self._deltas is None:
            start, self._start = self._start, None
            if start is None:  # the start failed: the stream has ended (no new request)
                raise StopAsyncIteration
            self._close, self._deltas, held = await astart_with_retries(
                self._policy, start, provider=self._provider, model=self._model
            )
            if self.closed:  # closed while the request was being made
                await self._shut()
                raise StopAsyncIteration
            held.reverse()  # popped from the end
            self._held = held
        if self._held:
            return self._held.pop()
        return await self._deltas.__anext__()

    async def _shut(self) -> None:
        deltas, close, self._close = self._deltas, self._close, None
        try:
            if deltas is not None:
                await deltas.aclose()
        finally:
            if close is not None:
                await close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    async def aclose(self) -> None:
        """Close the provider's generator, then the response (idempotent)."""
        self._closed = True
        self._held = []
        await self._shut()


def astream_with_retries(
    policy: RetryPolicy, start: AsyncStreamStarter, *, provider: str, model: str
) -> RetriedAsyncStream:
    """:func:`stream_with_retries` for an async stream: the same rule (retried until the first delta
    with content, reasoning or a tool call, never after), the same errors, as a
    :class:`RetriedAsyncStream` (the provider's generator handed over after the first delta).
    ``aclose()`` of the returned iterator closes the deltas and then the response; a cancellation, an
    error and the end of the stream close them through the generator's own ``finally``.
    """
    return RetriedAsyncStream(policy, start, provider=provider, model=model)
