"""Acceptance of the async path over real HTTP: many concurrent ``astream`` calls on one event loop
against the loopback SSE replay server, through the ``openai`` provider (its native async path when
it declares one, else its sync path in the core's worker threads)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import modelplug
from modelplug.testing.http.processes import ReplayServer

pytestmark = pytest.mark.slow


def _model(server: ReplayServer, selector: str) -> modelplug.Model:
    return modelplug.load_model(f"openai:{selector}", base_url=server.url(), api_key="sk-test", max_retries=0)


def _bridge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("modelplug-openai") and t.is_alive()]


def test_256_concurrent_astreams_on_one_loop_all_aggregate_exactly(replay_server: ReplayServer) -> None:
    selector = "text/40@tag=load256"
    with _model(replay_server, selector) as model:
        expected = model.generate("hi")
        assert expected.content and expected.usage is not None

        async def one(number: int) -> modelplug.ChatMessage:
            async with model.astream(f"hi {number}") as stream:
                async for _ in stream:
                    pass
            assert stream.outcome == "ok"
            return stream.message

        async def main() -> list[modelplug.ChatMessage]:
            return await asyncio.gather(*(one(n) for n in range(256)))

        messages = asyncio.run(main())
    assert len(messages) == 256
    assert all(message == expected for message in messages)
    deadline = time.monotonic() + 10
    while _bridge_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _bridge_threads()


def test_cancelling_one_of_many_streams_stops_only_that_one(replay_server: ReplayServer) -> None:
    with _model(replay_server, "text/30@delay=0.02,tag=keep") as keep, _model(
        replay_server, "text/2000@delay=0.02,tag=cancelled"
    ) as doomed:
        expected = keep.generate("hi")

        async def main() -> tuple[list[modelplug.ChatMessage], modelplug.ChatMessage]:
            kept = [asyncio.create_task(keep.astream(f"hi {n}").until_done()) for n in range(8)]
            stream = doomed.astream("long")
            cancelled = asyncio.create_task(stream.until_done())
            await asyncio.sleep(0.2)
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            assert stream.outcome == "cancelled"
            return await asyncio.gather(*kept), stream.message

        finished, partial = asyncio.run(main())
    assert finished == [expected] * 8
    assert partial.content and len(partial.content) < len(" t00") * 2000
    record = replay_server.wait_outcome("text/2000@delay=0.02,tag=cancelled")
    assert record["outcome"] == "disconnected"  # the HTTP response was closed
    assert record["events_sent"] < 2000
    outcomes = {r["outcome"] for r in replay_server.requests("text/30@delay=0.02,tag=keep")}
    assert outcomes == {"complete"}


def test_cancelling_a_stream_stalled_on_the_server_returns_at_once(replay_server: ReplayServer) -> None:
    """The worker thread is blocked in a read when the task is cancelled: the HTTP stream is closed
    from the loop, the read fails, the thread ends; the cancellation does not wait for the server."""
    selector = "text/20@delay=5,tag=stalled"
    with _model(replay_server, selector) as model:

        async def main() -> tuple[float, modelplug.ChatMessage]:
            stream = model.astream("hi")
            async with stream:
                async for delta in stream:
                    if delta.content:
                        break  # the next event comes in 5 s
                started = time.perf_counter()
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await stream.__anext__()
            return time.perf_counter() - started, stream.message

        waited, partial = asyncio.run(main())
    assert waited < 1.5, f"the cancellation waited {waited:.2f} s for the stalled server"
    assert partial.content
    deadline = time.monotonic() + 2
    while _bridge_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _bridge_threads()
