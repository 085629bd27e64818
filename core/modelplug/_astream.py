"""``AsyncChatStream``: the object :meth:`modelplug.Model.astream` returns.

The async twin of :class:`~modelplug._stream.ChatStream`: ``async for`` it for deltas, read
:attr:`~modelplug._stream.StreamRecord.message` for the aggregate so far (also after an error or a
cancellation), ``await stream.aclose()`` or leave its ``async with`` block to stop the backend. The
generation's :class:`~modelplug._pipeline.DeltaPipeline` (stops, text tool calls) runs here, on the
deltas of the provider's async source: its native ``agenerate_stream``, or its ``generate_stream``
in a worker thread (:mod:`modelplug._bridges`). See ``docs/async.md``.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from modelplug._bridges import CLOSE_GRACE_S
from modelplug._pipeline import DeltaPipeline
from modelplug._stream import StreamRecord
from modelplug.errors import ModelplugError, ToolCallParseError
from modelplug.log import get_logger
from modelplug.types import ChatMessage, ChatMessageStreamDelta

if TYPE_CHECKING:
    from modelplug._cost import Price

__all__ = ["AsyncChatStream"]

CHECKPOINT_MASK = 63
"""A checkpoint (one turn of the event loop) every 64 reads from the source, so that a provider
whose async iterator never suspends cannot starve the loop (``asyncio.timeout`` would never fire)."""


class AsyncChatStream(StreamRecord):
    """A live async stream of deltas from one generation (attributes: see
    :class:`~modelplug._stream.StreamRecord`).

    Args:
        source: the provider's async iterator of deltas (started at the first ``__anext__``).
        provider, model_id: for errors and the ``generation`` log event.
        pipeline: the generation's :class:`~modelplug._pipeline.DeltaPipeline` (``None``: pass through).
        drain_after_stop: after a stop sequence, read the source to its end for the usage it sends
            last (as ``agenerate`` does) instead of closing it.
        hook: the hook ``source`` comes from, named in contract errors.
        price: prices that override the price database for ``message.cost`` (:mod:`modelplug._cost`).

    Errors raised while iterating are those of :class:`~modelplug._stream.ChatStream`: a
    :class:`~modelplug.errors.ProviderError` for the backend's failures, a
    :class:`~modelplug.errors.PluginContractError` for a value that is not a delta, a
    :class:`~modelplug.errors.ToolCallParseError` after every recoverable delta. Cancellation
    (``task.cancel()``, ``asyncio.timeout``) closes the source first, then propagates.
    """

    __slots__ = (
        "_deferred",
        "_drain",
        "_pending",
        "_pipeline",
        "_reads",
        "_source",
        "_source_closed",
        "_source_done",
    )

    def __init__(
        self,
        source: AsyncIterator[ChatMessageStreamDelta],
        *,
        provider: str,
        model_id: str,
        pipeline: DeltaPipeline | None = None,
        drain_after_stop: bool = False,
        hook: str = "agenerate_stream",
        price: Price | None = None,
    ) -> None:
        super().__init__(provider=provider, model_id=model_id, hook=hook, price=price)
        self._source = source
        self._pipeline = pipeline if pipeline is not None and pipeline.active else None
        self._drain = drain_after_stop
        self._pending: deque[ChatMessageStreamDelta] = deque()
        self._deferred: ToolCallParseError | None = None
        self._source_done = False
        self._source_closed = False
        self._reads = 0

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> ChatMessageStreamDelta:
        # one coroutine per delta: the loop below is inlined here rather than awaited as a helper
        try:
            while True:
                if self._pending:
                    return self._accept(self._pending.popleft())
                if self._finished:
                    raise StopAsyncIteration
                if self._source_done:
                    if self._deferred is not None:
                        error, self._deferred = self._deferred, None
                        self._fail(error)
                        raise error
                    raise StopAsyncIteration
                self._reads += 1
                if not self._reads & CHECKPOINT_MASK:
                    # a provider may yield without ever suspending; this gives the loop a turn so that
                    # timeouts, cancellation and other tasks still run
                    await anyio.lowlevel.checkpoint()
                try:
                    raw: object = await self._source.__anext__()  # checked below: providers are not always typed
                except StopAsyncIteration:
                    self._end_source()
                    continue
                except ModelplugError as error:
                    self._fail(error)
                    raise
                except Exception as error:
                    raise self._failure(error) from error
                pipeline = self._pipeline
                if pipeline is None:
                    return self._accept(raw)
                if not isinstance(raw, ChatMessageStreamDelta):
                    self._accept(raw)  # raises the contract error
                else:
                    self._pending.extend(pipeline.feed(raw))
                    if not pipeline.active:  # it holds nothing (e.g. the reasoning split is over)
                        self._pipeline = None
                    elif pipeline.stopped and not self._drain:
                        await self._close_source_async()
                        self._end_source()
        except StopAsyncIteration:
            self._finish("ok")
            await self._close_source_async()
            raise
        except BaseException:  # an error (already recorded), or cancellation: stop the backend, keep the answer
            if not self._finished:
                self._finish("cancelled")
            await self._close_source_async()
            raise

    def _end_source(self) -> None:
        """The source has ended (or was closed after a stop): queue the pipeline's held-back deltas."""
        self._source_done = True
        if self._pipeline is None:
            return
        try:
            self._pending.extend(self._pipeline.finish())
        except ToolCallParseError as error:
            self._pending.extend(error.deltas)  # delivered first, then the error is raised
            self._deferred = error

    async def _close_source_async(self) -> None:
        """Close the source once, shielded from cancellation (at most :data:`~modelplug._bridges.CLOSE_GRACE_S`
        for a native source; the thread bridge bounds its own wait)."""
        if self._source_closed:
            return
        self._source_closed = True
        aclose = getattr(self._source, "aclose", None)
        if aclose is None:
            return
        with anyio.move_on_after(CLOSE_GRACE_S, shield=True):
            try:
                await aclose()
            except Exception as error:  # a provider failing while it cleans up must not hide the answer
                get_logger().warning("stream_close_failed", provider=self.provider, error=repr(error))

    async def until_done(self) -> ChatMessage:
        """Consume the rest of the stream and return the complete message."""
        async for _ in self:
            pass
        return self.message

    async def aclose(self) -> None:
        """Stop the stream and the backend behind it (the provider's async generator is closed, or
        the worker thread closes the sync one and ends). Idempotent; nothing received is lost."""
        if not self._finished:
            self._finish("cancelled")
        await self._close_source_async()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Dropped without aclose(): a worker thread must not wait for a consumer that is gone.
        if not getattr(self, "_source_closed", True):
            close_nowait: Any = getattr(self._source, "close_nowait", None)
            if close_nowait is not None:
                with contextlib.suppress(Exception):  # nothing to report to in a finalizer
                    close_nowait()

    def __repr__(self) -> str:
        state = self.outcome or "open"
        return f"<AsyncChatStream {self.provider}:{self.model_id} {state}>"
