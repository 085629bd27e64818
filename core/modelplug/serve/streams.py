"""The one place the server gets a model's deltas: :func:`open_stream`.

Until the core has ``Model.astream`` (issue 14), the sync :meth:`modelplug.Model.stream` is
iterated in worker threads, one ``next()`` at a time, each under the model's thread limiter.
Closing (:meth:`ThreadedStream.aclose`, also when the request is cancelled) closes the
:class:`~modelplug.ChatStream`, from any thread: the provider's generator is closed as soon as it
hands over the delta it is producing, which ends a generation thread or closes an HTTP response.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

import anyio
import anyio.to_thread

if TYPE_CHECKING:
    from modelplug.model import Model
    from modelplug.stream import ChatStream
    from modelplug.types import ChatMessage, ChatMessageStreamDelta, Usage

__all__ = ["ServedStream", "ThreadedStream", "open_stream"]

_END: Final = object()


class ServedStream(Protocol):
    """What the server needs of a stream: async iteration over deltas, the aggregate, ``aclose``."""

    def __aiter__(self) -> ServedStream: ...

    async def __anext__(self) -> ChatMessageStreamDelta: ...

    @property
    def message(self) -> ChatMessage: ...

    @property
    def usage(self) -> Usage | None: ...

    async def aclose(self) -> None: ...


class ThreadedStream:
    """A sync :class:`~modelplug.ChatStream` iterated from async code, one worker-thread call per delta.

    A cancelled ``__anext__`` returns at once (the worker thread is abandoned, not waited for);
    :meth:`aclose` then stops the backend within the delta it is producing.
    """

    __slots__ = ("_limiter", "_stream")

    def __init__(self, stream: ChatStream, limiter: anyio.CapacityLimiter | None = None) -> None:
        self._stream = stream
        self._limiter = limiter

    def __aiter__(self) -> ThreadedStream:
        return self

    async def __anext__(self) -> ChatMessageStreamDelta:
        delta = await anyio.to_thread.run_sync(next, self._stream, _END, abandon_on_cancel=True, limiter=self._limiter)
        if delta is _END:
            raise StopAsyncIteration
        return delta  # type: ignore[return-value]

    @property
    def message(self) -> ChatMessage:
        """The answer aggregated so far."""
        return self._stream.message

    @property
    def usage(self) -> Usage | None:
        """The last usage the provider reported (``None`` before any)."""
        return self._stream.usage

    async def aclose(self) -> None:
        """Stop the stream and its backend (idempotent; never waits for the backend)."""
        self._stream.close()


async def open_stream(
    model: Model,
    messages: Sequence[ChatMessage],
    options: Mapping[str, Any],
    *,
    limiter: anyio.CapacityLimiter | None = None,
) -> ServedStream:
    """Start streaming ``model``'s answer to ``messages`` with keyword ``options`` (as for
    :meth:`modelplug.Model.stream`, with the one-delta fallback allowed for providers that do not stream).

    Raises:
        InvalidOptionError, CapabilityError, ProviderError: as :meth:`modelplug.Model.stream`.
    """

    def start() -> ChatStream:
        return model.stream(list(messages), allow_fallback=True, **options)

    stream = await anyio.to_thread.run_sync(start, limiter=limiter)
    return ThreadedStream(stream, limiter)
