"""The one place the server gets a model's deltas: :func:`open_stream`.

Until the core has ``Model.astream`` (issue 14), the sync :meth:`modelplug.Model.stream` runs in a
worker thread (anyio's pool, under the model's limiter) per request, which hands deltas to the event
loop through a small buffer (the loop is woken only when it waits: a fast provider's deltas cross in
batches, not one thread hop each). Closing (:meth:`ThreadedStream.aclose`, also when the request is
cancelled) closes the :class:`~modelplug.ChatStream` from the loop's thread: the provider's
generator is closed as soon as it hands over the delta it is producing, which ends a generation
thread or closes an HTTP response.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

import anyio
import anyio.to_thread

if TYPE_CHECKING:
    from modelplug.model import Model
    from modelplug.stream import ChatStream
    from modelplug.types import ChatMessage, ChatMessageStreamDelta, Usage

__all__ = ["ServedStream", "ThreadedStream", "open_stream"]

#: Deltas a stream's thread may produce ahead of the client before it waits.
MAX_BUFFERED: Final = 256


class ServedStream(Protocol):
    """What the server needs of a stream: async iteration over deltas, the aggregate, ``aclose``."""

    def __aiter__(self) -> ServedStream: ...

    async def __anext__(self) -> ChatMessageStreamDelta: ...

    @property
    def message(self) -> ChatMessage: ...

    @property
    def usage(self) -> Usage | None: ...

    async def aclose(self) -> None: ...


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class ThreadedStream:
    """A sync :class:`~modelplug.ChatStream`, started and iterated in its own thread, read from async code.

    The thread runs ahead of the reader by at most :data:`MAX_BUFFERED` deltas. An error of the
    stream (of ``Model.stream`` itself, or while iterating) is raised by ``__anext__`` after the
    deltas before it. A cancelled ``__anext__`` returns at once; :meth:`aclose` stops the backend
    within the delta it is producing.
    """

    def __init__(self, start: Any, limiter: anyio.CapacityLimiter | None = None) -> None:
        self._start = start
        self._loop = asyncio.get_running_loop()
        self._lock = threading.Condition()
        self._buffer: collections.deque[ChatMessageStreamDelta] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._done = False
        self._closed = False
        self._error: BaseException | None = None
        self._stream: ChatStream | None = None
        # a task owns the worker-thread call (starting a thread of our own blocks the loop ~0.5 ms)
        self._task = self._loop.create_task(anyio.to_thread.run_sync(self._produce, limiter=limiter))

    def _produce(self) -> None:
        try:
            stream = self._stream = self._start()
            if self._closed:  # closed while Model.stream was starting
                stream.close()
            for delta in stream:
                with self._lock:
                    while len(self._buffer) >= MAX_BUFFERED and not self._closed:
                        self._lock.wait()
                    if self._closed:
                        break
                    self._buffer.append(delta)
                    waiter = self._waiter
                if waiter is not None:
                    self._loop.call_soon_threadsafe(_wake, waiter)
        except BaseException as error:  # handed to the reader
            self._error = error
        finally:
            with self._lock:
                self._done = True
                waiter = self._waiter
            if waiter is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(_wake, waiter)

    def __aiter__(self) -> ThreadedStream:
        return self

    async def __anext__(self) -> ChatMessageStreamDelta:
        while True:
            with self._lock:
                if self._buffer:
                    delta = self._buffer.popleft()
                    if len(self._buffer) == MAX_BUFFERED - 1:
                        self._lock.notify()
                    return delta
                if self._done:
                    if self._error is not None:
                        raise self._error
                    raise StopAsyncIteration
                waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    @property
    def message(self) -> ChatMessage:
        """The answer aggregated so far (what the thread received, maybe ahead of the reader)."""
        from modelplug.types import ChatMessage

        return ChatMessage() if self._stream is None else self._stream.message

    @property
    def usage(self) -> Usage | None:
        """The last usage the provider reported (``None`` before any)."""
        return None if self._stream is None else self._stream.usage

    async def aclose(self) -> None:
        """Stop the stream and its backend (idempotent; never waits for the backend)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        if self._stream is not None:
            self._stream.close()


async def open_stream(
    model: Model,
    messages: Sequence[ChatMessage],
    options: Mapping[str, Any],
    *,
    limiter: anyio.CapacityLimiter | None = None,
) -> ServedStream:
    """Start streaming ``model``'s answer to ``messages`` with keyword ``options`` (as for
    :meth:`modelplug.Model.stream`, with the one-delta fallback allowed for providers that do not
    stream); ``limiter`` bounds the worker threads (one per open stream). Errors of ``Model.stream``
    (``InvalidOptionError``, ``CapabilityError``, ``ProviderError``) are raised by the first ``__anext__``.
    """

    def start() -> ChatStream:
        return model.stream(list(messages), allow_fallback=True, **options)

    return ThreadedStream(start, limiter)
