"""The embedded model from async code: the core runs ``generate_stream`` in worker threads, the event
loop stays responsive, and cancelling a stream ends its generation thread."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from .conftest import live_workers

pytestmark = pytest.mark.slow

PROMPTS = [f"Write a short poem about the number {n}." for n in range(8)]


def _wait_no_workers(timeout: float = 10.0) -> list[threading.Thread]:
    deadline = time.monotonic() + timeout
    while live_workers() and time.monotonic() < deadline:
        time.sleep(0.01)
    return live_workers()


def test_eight_streams_never_block_the_event_loop(model: Any) -> None:
    """While 8 embedded-model streams run, the loop runs a 5 ms ticker on time (lag < 50 ms)."""
    lags: list[float] = []

    async def main() -> list[Any]:
        done = asyncio.Event()

        async def tick() -> None:
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.005)
                lags.append(time.perf_counter() - before - 0.005)

        ticker = asyncio.create_task(tick())
        try:
            streams = [model.astream(prompt, max_tokens=24, temperature=0) for prompt in PROMPTS]
            return await asyncio.gather(*(s.until_done() for s in streams))
        finally:
            done.set()
            await ticker

    messages = asyncio.run(main())
    assert all(m.content and m.usage.completion_tokens > 0 for m in messages)
    assert len(lags) > 50
    assert max(lags) < 0.05, f"the loop was blocked for {max(lags) * 1000:.1f} ms"
    assert not _wait_no_workers()


def test_astream_equals_stream_and_cancelling_ends_the_generation_thread(model: Any) -> None:
    expected = model.generate(PROMPTS[0], max_tokens=24, temperature=0)

    async def main() -> tuple[Any, Any]:
        answer = await model.agenerate(PROMPTS[0], max_tokens=24, temperature=0)
        stream = model.astream("Tell me a very long story about a lighthouse.", max_tokens=400, temperature=0)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await stream.until_done()
        return answer, stream

    answer, stream = asyncio.run(main())
    assert answer.content == expected.content
    assert stream.outcome == "cancelled"
    assert stream.message.content  # what arrived before the timeout is kept
    assert not _wait_no_workers()  # the generation thread ended
