"""The two bridges between a provider's stream and a caller of the other colour, written once.

- :func:`aiter_in_thread`: a sync iterator (a provider's ``generate_stream``) as an async iterator.
  One worker thread per stream runs the iterator and queues each delta for the event loop (bounded:
  the thread waits when the consumer falls behind), waking the loop through anyio only when it waits,
  so the loop never blocks. Closing or cancelling the async side closes the sync iterator in its thread.
- :func:`iter_on_loop_thread`: an async iterator (a provider's ``agenerate_stream``) as a sync
  iterator, driven on an event loop in a background thread shared by every such stream (an anyio
  blocking portal; the thread exists while at least one of these streams is open).

Details and guarantees: ``docs/async.md``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Final, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel

from modelplug.log import get_logger

__all__ = ["CLOSE_GRACE_S", "THREAD_BUFFER", "aiter_in_thread", "iter_on_loop_thread"]

T = TypeVar("T")

#: Items a worker thread may run ahead of its async consumer before it waits.
THREAD_BUFFER: Final = 64
#: Seconds the async side waits, when closed or cancelled, for the worker thread to close the sync
#: iterator. A thread still inside ``next()`` (a backend that sends nothing) closes it as soon as
#: ``next()`` returns; the caller is not held longer than this.
CLOSE_GRACE_S: Final = 2.0


#: The end of a stream, as an item.
_END: Final = object()


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

    The worker appends to a deque under a lock and wakes the loop only when the consumer is waiting
    for an item, so a fast producer hands over whole bursts for one wake-up; it waits on the lock's
    condition when :data:`THREAD_BUFFER` items are queued (backpressure).

    Attributes:
        thread: the worker thread (``None`` before the first ``__anext__``).
    """

    def __init__(
        self, factory: Callable[[], Iterator[T]], *, name: str = "modelplug-stream", buffer: int = THREAD_BUFFER
    ) -> None:
        self._factory = factory
        self._iterator: Iterator[T] | None = None  # what the factory returned, once it has
        self._name = name
        self._buffer = buffer
        self._items: deque[Any] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._waiter: anyio.Event | None = None  # set by the consumer when it waits for an item
        self._done: anyio.Event | None = None
        self._token: Any = None
        self._call_soon: Callable[[Callable[[], object]], object] | None = None
        self.thread: threading.Thread | None = None
        self._closed = False
        self._ended = False

    def __aiter__(self) -> ThreadIterator[T]:
        return self

    def _start(self) -> None:
        self._done = anyio.Event()
        self._token = anyio.lowlevel.current_token()
        native = self._token.native_token  # an asyncio loop, or another backend's own token
        self._call_soon = getattr(native, "call_soon_threadsafe", None)
        self.thread = threading.Thread(target=self._produce, name=self._name, daemon=True)
        self.thread.start()

    def _wake(self, event: anyio.Event) -> bool:
        """Set ``event`` on the loop (from the worker); ``False`` when the loop is gone. On asyncio
        the worker does not wait for the loop to do it (``call_soon_threadsafe``), so it goes on
        producing meanwhile; other backends get anyio's blocking call."""
        try:
            if self._call_soon is not None:
                self._call_soon(event.set)
            else:
                anyio.from_thread.run_sync(event.set, token=self._token)
        except Exception:
            return False
        return True

    def _put(self, item: Any, *, last: bool = False) -> bool:
        """Queue ``item`` (waiting while the queue is full, unless ``last``); ``False``: closed, stop."""
        cond = self._cond
        with cond:
            while not last and len(self._items) >= self._buffer and not self._closed:
                cond.wait()
            if self._closed and not last:
                return False
            self._items.append(item)
            waiter, self._waiter = self._waiter, None
        return waiter is None or self._wake(waiter)

    def _produce(self) -> None:
        """The worker thread: run the iterator, queue each item, close the iterator at the end."""
        iterator: Iterator[T] | None = None
        end: Any = _END
        try:
            iterator = self._iterator = self._factory()
            while True:
                try:
                    item = next(iterator)
                except StopIteration:
                    break
                if not self._put(item):
                    break
        except BaseException as error:  # the hook or the iterator failed: the consumer raises it
            end = _Failed(error)
        finally:
            _close(iterator)
            self._put(end, last=True)
            done = self._done
            if done is not None:
                self._wake(done)

    async def __anext__(self) -> T:
        if self._ended:
            raise StopAsyncIteration
        if self.thread is None:
            if self._closed:
                raise StopAsyncIteration
            self._start()
        cond = self._cond
        while True:
            with cond:
                if self._items:
                    item = self._items.popleft()
                    if len(self._items) == self._buffer - 1:
                        cond.notify()  # the worker may be waiting for room
                    break
                waiter = self._waiter = anyio.Event()
            await waiter.wait()
        if item is _END:
            self._ended = True
            raise StopAsyncIteration
        if type(item) is _Failed:
            self._ended = True
            raise item.error
        return item  # type: ignore[no-any-return]

    def close_nowait(self) -> None:
        """Tell the worker to stop without waiting for it (for finalizers; prefer :meth:`aclose`)."""
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()

    async def aclose(self) -> None:
        """Stop the worker: it closes the sync iterator as soon as it holds the thread again (at
        once when it waits for room, after ``next()`` returns when it is inside the provider).
        A :class:`~modelplug.chat_client.ClosableStream` (the HTTP providers' streams) is also closed
        from here at once, which ends a read blocked on a stalled server. Waits up to
        :data:`CLOSE_GRACE_S` for the thread to end, shielded from cancellation. Idempotent."""
        if self._closed:
            return
        self.close_nowait()
        done = self._done
        if done is None:  # never started: no thread, no iterator
            return
        self._interrupt()
        with anyio.move_on_after(CLOSE_GRACE_S, shield=True) as scope:
            await done.wait()
        if scope.cancelled_caught:
            get_logger().warning("stream_close_pending", thread=self._name, waited_s=CLOSE_GRACE_S)

    def _interrupt(self) -> None:
        """Close, from the loop's thread, an iterator whose ``close()`` any thread may call (the
        chat-client kit's :class:`~modelplug.chat_client.ClosableStream`): a worker blocked in a read
        of a stalled server is released at once. A generator is left to its own thread."""
        iterator = self._iterator
        thread = self.thread
        if iterator is None or thread is None or not thread.is_alive():
            return
        from modelplug.chat_client import ClosableStream

        if isinstance(iterator, ClosableStream):
            try:
                iterator.close()
            except Exception as error:
                get_logger().warning("stream_close_failed", error=repr(error))


def aiter_in_thread(factory: Callable[[], Iterator[T]], *, name: str = "modelplug-stream") -> ThreadIterator[T]:
    """The sync iterator ``factory()`` returns, as an async iterator that never blocks the event loop.

    The worker thread (named ``name``) starts at the first ``__anext__``, calls ``factory`` (so a
    hook that does I/O before returning its iterator does not block the loop either) and runs up to
    :data:`THREAD_BUFFER` items ahead of the consumer. An exception raised by ``factory`` or the
    iterator is raised by ``__anext__`` after the items before it. ``aclose()`` (also on
    cancellation, from :class:`~modelplug._astream.AsyncChatStream`) closes the iterator in its thread
    and waits for the thread to end.
    Works on any event loop anyio supports (asyncio, trio).
    """
    return ThreadIterator(factory, name=name)


# -- async -> sync --------------------------------------------------------------------------------

_PORTALS: anyio.from_thread.BlockingPortalProvider | None = None
_PORTALS_LOCK = threading.Lock()


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
    stream open at the time, ended when the last one closes). Closing the returned iterator (a
    ``break``, ``ChatStream.close()``) runs ``aclose()`` on the loop, which stops the provider's
    backend; closed from another thread while a ``__anext__`` is pending (a stalled provider), it
    cancels that call, so the waiting thread's iteration ends at once. Exceptions cross unchanged.
    """
    return _LoopThreadIterator(iterator)


class _LoopThreadIterator(Iterator[T]):
    """See :func:`iter_on_loop_thread`."""

    __slots__ = ("_closing", "_done", "_iterator", "_lock", "_pending", "_portal", "_portals")

    def __init__(self, iterator: AsyncIterator[T]) -> None:
        self._iterator = iterator
        self._portals = _portals()
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._pending: Any = None  # the concurrent.futures.Future of the __anext__ in flight
        self._closing = False
        self._done = False
        self._lock = threading.Lock()

    def __next__(self) -> T:
        import concurrent.futures

        with self._lock:
            if self._closing or self._done:
                raise StopIteration
            if self._portal is None:
                self._portal = self._portals.__enter__()
            future = self._portal.start_task_soon(_anext, self._iterator)
            self._pending = future
        try:
            item = future.result()
        except concurrent.futures.CancelledError:  # close() from another thread cancelled the call
            self._finish()
            raise StopIteration from None
        except BaseException:
            self._finish()
            raise
        finally:
            with self._lock:
                self._pending = None
        if item is _END or self._closing:
            self._finish()
            raise StopIteration
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the provider (its ``aclose()`` on the loop); from any thread. Idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            pending = self._pending
        if pending is not None and pending.cancel():  # the waiting thread finishes on its way out
            return
        if pending is None:
            self._finish()

    def _finish(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
            portal = self._portal
        if portal is None:
            return
        try:
            portal.call(_aclose, self._iterator)
        except Exception as error:  # a provider failing while it cleans up must not hide the answer
            get_logger().warning("stream_close_failed", error=repr(error))
        finally:
            self._portals.__exit__(None, None, None)

    def __del__(self) -> None:
        # Dropped without close(): end the provider and let the shared loop thread go.
        if not getattr(self, "_done", True) and getattr(self, "_pending", None) is None:
            self.close()
