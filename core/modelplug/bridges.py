"""The two bridges between a provider's stream and a caller of the other colour, written once.

- :func:`aiter_in_thread`: a sync iterator (a provider's ``generate_stream``) as an async iterator.
  One worker thread per stream runs the iterator and hands each delta to the event loop through an
  anyio memory object stream (bounded: the thread waits when the consumer falls behind), so the loop
  never blocks. Closing or cancelling the async side closes the sync iterator in its thread.
- :func:`iter_on_loop_thread`: an async iterator (a provider's ``agenerate_stream``) as a sync
  iterator, driven on an event loop in a background thread shared by every such stream (an anyio
  blocking portal; the thread exists while at least one of these streams is open).

Details and guarantees: ``docs/async.md``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Final, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from modelplug.log import get_logger

__all__ = ["CLOSE_GRACE_S", "THREAD_BUFFER", "aiter_in_thread", "iter_on_loop_thread"]

T = TypeVar("T")

#: Items a worker thread may run ahead of its async consumer before it waits.
THREAD_BUFFER: Final = 64
#: Seconds the async side waits, when closed or cancelled, for the worker thread to close the sync
#: iterator. A thread still inside ``next()`` (a backend that sends nothing) closes it as soon as
#: ``next()`` returns; the caller is not held longer than this.
CLOSE_GRACE_S: Final = 2.0


class _Failed:
    """The exception the sync iterator raised, carried to the loop."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _close(iterator: Any) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        try:
            close()
        except Exception as error:  # a provider failing while it cleans up must not hide the answer
            get_logger().warning("stream_close_failed", error=repr(error))


class ThreadIterator(AsyncIterator[T]):
    """An async iterator over a sync iterator run in its own worker thread (see :func:`aiter_in_thread`).

    Attributes:
        thread: the worker thread (``None`` before the first ``__anext__``).
    """

    def __init__(
        self, factory: Callable[[], Iterator[T]], *, name: str = "modelplug-stream", buffer: int = THREAD_BUFFER
    ) -> None:
        self._factory = factory
        self._name = name
        self._buffer = buffer
        self._receive: MemoryObjectReceiveStream[T | _Failed] | None = None
        self._done: anyio.Event | None = None
        self.thread: threading.Thread | None = None
        self._closed = False

    def __aiter__(self) -> ThreadIterator[T]:
        return self

    def _start(self) -> MemoryObjectReceiveStream[T | _Failed]:
        send, receive = anyio.create_memory_object_stream[T | _Failed](self._buffer)
        self._receive = receive
        self._done = anyio.Event()
        token = anyio.lowlevel.current_token()
        self.thread = threading.Thread(
            target=self._produce, args=(send, token, self._done), name=self._name, daemon=True
        )
        self.thread.start()
        return receive

    def _produce(self, send: MemoryObjectSendStream[T | _Failed], token: Any, done: anyio.Event) -> None:
        """The worker thread: run the iterator, hand each item to the loop, close the iterator at the end."""

        def hand_over(item: T | _Failed) -> bool:
            try:
                anyio.from_thread.run_sync(send.send_nowait, item, token=token)
            except anyio.WouldBlock:  # the consumer is behind: wait (in the loop) for room
                try:
                    anyio.from_thread.run(send.send, item, token=token)
                except Exception:
                    return False
            except Exception:  # the consumer closed (BrokenResourceError) or the loop is gone
                return False
            return True

        try:
            iterator = self._factory()
        except BaseException as error:  # the hook failed before returning its iterator
            iterator = None
            hand_over(_Failed(error))
        try:
            while iterator is not None:
                try:
                    item = next(iterator)
                except StopIteration:
                    break
                except BaseException as error:
                    hand_over(_Failed(error))
                    break
                if not hand_over(item):
                    break
        finally:
            _close(iterator)
            for finish in (send.close, done.set):
                with contextlib.suppress(Exception):  # the loop is gone: nobody is waiting
                    anyio.from_thread.run_sync(finish, token=token)

    async def __anext__(self) -> T:
        receive = self._receive
        if receive is None:
            if self._closed:
                raise StopAsyncIteration
            receive = self._start()
        try:
            item = await receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None
        if type(item) is _Failed:
            raise item.error
        return item  # type: ignore[return-value]

    def close_nowait(self) -> None:
        """Tell the worker to stop without waiting for it (for finalizers; prefer :meth:`aclose`)."""
        self._closed = True
        if self._receive is not None:
            self._receive.close()

    async def aclose(self) -> None:
        """Stop the worker: it closes the sync iterator as soon as it holds the thread again (at
        once when it waits for the consumer, after ``next()`` returns when it is inside the provider).
        Waits up to :data:`CLOSE_GRACE_S` for that, shielded from cancellation. Idempotent."""
        if self._closed:
            return
        self._closed = True
        receive, done = self._receive, self._done
        if receive is None or done is None:  # never started: no thread, no iterator
            return
        receive.close()
        with anyio.move_on_after(CLOSE_GRACE_S, shield=True) as scope:
            await done.wait()
        if scope.cancelled_caught:
            get_logger().warning("stream_close_pending", thread=self._name, waited_s=CLOSE_GRACE_S)


def aiter_in_thread(factory: Callable[[], Iterator[T]], *, name: str = "modelplug-stream") -> ThreadIterator[T]:
    """The sync iterator ``factory()`` returns, as an async iterator that never blocks the event loop.

    The worker thread (named ``name``) starts at the first ``__anext__``, calls ``factory`` (so a
    hook that does I/O before returning its iterator does not block the loop either) and runs up to
    :data:`THREAD_BUFFER` items ahead of the consumer. An exception raised by ``factory`` or the
    iterator is raised by ``__anext__`` after the items before it. ``aclose()`` (also on
    cancellation, from :class:`~modelplug.astream.AsyncChatStream`) closes the iterator in its thread
    and waits for the thread to end.
    Works on any event loop anyio supports (asyncio, trio).
    """
    return ThreadIterator(factory, name=name)


# -- async -> sync --------------------------------------------------------------------------------

_PORTALS: anyio.from_thread.BlockingPortalProvider | None = None
_PORTALS_LOCK = threading.Lock()
_END: Final = object()


def _portals() -> anyio.from_thread.BlockingPortalProvider:
    global _PORTALS
    with _PORTALS_LOCK:
        if _PORTALS is None:
            _PORTALS = anyio.from_thread.BlockingPortalProvider()
        return _PORTALS


async def _anext(iterator: AsyncIterator[T]) -> T | object:
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:  # cannot cross a future as such
        return _END


async def _aclose(iterator: Any) -> None:
    aclose: Callable[[], Any] | None = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


def iter_on_loop_thread(iterator: AsyncIterator[T]) -> Iterator[T]:
    """``iterator`` (async, not started yet) iterated from sync code.

    Each ``__anext__`` runs on the core's loop thread (an anyio blocking portal, shared by every
    stream open at the time, ended when the last one closes). Closing the returned generator (a
    ``break``, ``ChatStream.close()``) runs ``aclose()`` on the loop, which stops the provider's backend.
    Exceptions cross unchanged.
    """
    with _portals() as portal:
        try:
            while True:
                item = portal.call(_anext, iterator)
                if item is _END:
                    return
                yield item  # type: ignore[misc]
        finally:
            try:
                portal.call(_aclose, iterator)
            except Exception as error:  # a provider failing while it cleans up must not hide the answer
                get_logger().warning("stream_close_failed", error=repr(error))
