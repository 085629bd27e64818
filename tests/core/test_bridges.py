"""The sync<->async bridges: order, errors, closing, cancellation, backpressure, no thread left behind."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from modelplug._bridges import THREAD_BUFFER, aiter_in_thread, iter_on_loop_thread


def _threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def _wait_gone(prefix: str, timeout: float = 5.0) -> None:
    """Wait until no thread named ``prefix...`` is alive (a thread ends just after it signals the loop)."""
    deadline = time.monotonic() + timeout
    while _threads_named(prefix) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not _threads_named(prefix), _threads_named(prefix)


class Source:
    """A sync generator that records where it ran and whether it was closed."""

    def __init__(self, count: int = 5, delay: float = 0.0, fail_at: int | None = None) -> None:
        self.count, self.delay, self.fail_at = count, delay, fail_at
        self.produced = 0
        self.closed_in: str | None = None

    def __iter__(self) -> Iterator[int]:
        try:
            for number in range(self.count):
                if self.fail_at == number:
                    raise ValueError(f"failed at {number}")
                if self.delay:
                    time.sleep(self.delay)
                self.produced += 1
                yield number
        finally:
            self.closed_in = threading.current_thread().name


def test_thread_bridge_yields_every_item_in_order_and_the_thread_ends() -> None:
    source = Source(count=300)

    async def main() -> list[int]:
        return [item async for item in aiter_in_thread(source.__iter__, name="bridge-order")]

    assert asyncio.run(main()) == list(range(300))
    assert source.closed_in == "bridge-order"  # the generator ran and ended in its worker thread
    _wait_gone("bridge-order")


def test_thread_bridge_raises_the_iterators_error_after_the_items_before_it() -> None:
    source = Source(count=5, fail_at=3)

    async def main() -> list[int]:
        got: list[int] = []
        with pytest.raises(ValueError, match="failed at 3"):
            async for item in aiter_in_thread(source.__iter__, name="bridge-error"):
                got.append(item)
        return got

    assert asyncio.run(main()) == [0, 1, 2]
    _wait_gone("bridge-error")


def test_thread_bridge_raises_the_factorys_error_at_the_first_item() -> None:
    def factory() -> Iterator[int]:
        raise LookupError("no such model")

    async def main() -> None:
        iterator = aiter_in_thread(factory, name="bridge-factory")
        with pytest.raises(LookupError, match="no such model"):
            await iterator.__anext__()

    asyncio.run(main())
    _wait_gone("bridge-factory")


def test_aclose_closes_the_sync_iterator_in_its_thread_and_ends_the_thread() -> None:
    source = Source(count=10_000, delay=0.001)

    async def main() -> None:
        iterator = aiter_in_thread(source.__iter__, name="bridge-aclose")
        assert await iterator.__anext__() == 0
        await iterator.aclose()
        assert source.closed_in == "bridge-aclose"  # aclose waited for the thread to close it

    asyncio.run(main())
    assert source.produced < 10_000
    _wait_gone("bridge-aclose")


def test_cancelling_a_waiting_consumer_stops_the_iterator() -> None:
    source = Source(count=10_000, delay=0.05)

    async def consume(iterator: AsyncIterator[int]) -> None:
        try:
            async for _ in iterator:
                pass
        finally:
            await iterator.aclose()  # what AsyncChatStream does on cancellation

    async def main() -> None:
        iterator = aiter_in_thread(source.__iter__, name="bridge-cancel")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await consume(iterator)

    asyncio.run(main())
    assert source.closed_in == "bridge-cancel"
    assert source.produced < 20
    _wait_gone("bridge-cancel")


def test_the_worker_waits_when_the_consumer_falls_behind() -> None:
    source = Source(count=10 * THREAD_BUFFER)

    async def main() -> None:
        iterator = aiter_in_thread(source.__iter__, name="bridge-pressure")
        await iterator.__anext__()
        await asyncio.sleep(0.3)  # the worker fills the buffer, then waits
        assert THREAD_BUFFER <= source.produced <= THREAD_BUFFER + 2
        await iterator.aclose()

    asyncio.run(main())
    _wait_gone("bridge-pressure")


def test_a_slow_sync_iterator_never_blocks_the_loop() -> None:
    source = Source(count=8, delay=0.1)
    lags: list[float] = []

    async def ticker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(ticker(stop))
        assert [item async for item in aiter_in_thread(source.__iter__, name="bridge-lag")] == list(range(8))
        stop.set()
        await task

    asyncio.run(main())
    assert len(lags) > 20
    assert max(lags) < 0.05, max(lags)
    _wait_gone("bridge-lag")


class AsyncSource:
    def __init__(self, count: int = 5, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.closed = False
        self.loop_thread: str | None = None

    async def __call__(self) -> AsyncIterator[int]:
        self.loop_thread = threading.current_thread().name
        try:
            for number in range(self.count):
                if self.fail_at == number:
                    raise ValueError(f"failed at {number}")
                await asyncio.sleep(0)
                yield number
        finally:
            self.closed = True


def _portal_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()}


def test_loop_thread_bridge_yields_every_item_off_the_calling_thread() -> None:
    before = _portal_threads()
    source = AsyncSource(count=50)
    assert list(iter_on_loop_thread(source())) == list(range(50))
    assert source.loop_thread is not None and source.loop_thread != threading.current_thread().name
    assert source.closed
    deadline = time.monotonic() + 5
    while _portal_threads() - before and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not _portal_threads() - before  # the loop thread ends with the last stream


def test_loop_thread_bridge_passes_errors_and_closing_stops_the_async_source() -> None:
    failing = AsyncSource(count=5, fail_at=2)
    got: list[int] = []
    with pytest.raises(ValueError, match="failed at 2"):
        for item in iter_on_loop_thread(failing()):
            got.append(item)
    assert got == [0, 1]
    long = AsyncSource(count=1000)
    iterator = iter_on_loop_thread(long())
    assert next(iterator) == 0
    iterator.close()  # type: ignore[attr-defined]
    assert long.closed


def test_streams_on_the_loop_thread_share_it() -> None:
    first, second = AsyncSource(count=3), AsyncSource(count=3)
    one, two = iter_on_loop_thread(first()), iter_on_loop_thread(second())
    assert next(one) == 0 and next(two) == 0
    assert first.loop_thread == second.loop_thread
    assert list(one) == [1, 2] and list(two) == [1, 2]
