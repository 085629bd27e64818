"""ToolCallingAgent.arun: the events, answer and memory of run(), asynchronously; async and sync tools;
tool timeouts; cancellation stops the model's stream."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from tests.agents.conftest import add, answer, call

from modelplug.agents import FinalAnswer, ModelDelta, ToolCallingAgent, ToolResult, event_to_dict, tool


@tool
async def aadd(a: int, b: int) -> int:
    """Add two integers, asynchronously.

    Args:
        a: the first.
        b: the second.
    """
    await asyncio.sleep(0)
    return a + b


def script(name: str = "add") -> list[Any]:
    return [
        answer(call(name, {"a": 2, "b": 3}, "call_1"), content="Adding.", usage=(100, 10)),
        answer(call("broken_tool", {}, "call_2"), usage=(120, 5)),
        answer(call("final_answer", {"answer": "5"}, "call_3"), usage=(130, 7)),
    ]


def _comparable(events: list[Any]) -> list[dict[str, Any]]:
    """Events as dicts without timings (durations differ between two runs)."""
    timing = {"duration_s", "ttft_s"}
    return [{k: v for k, v in event_to_dict(e).items() if k not in timing} for e in events]


@pytest.mark.parametrize("stream_outputs", [True, False])
@pytest.mark.parametrize("route", ["native", "thread"])
def test_arun_yields_the_events_of_run(replay, stream_outputs: bool, route: str) -> None:
    capabilities = {} if route == "native" else {"capabilities": {"async_streaming": False}}
    sync_agent = ToolCallingAgent(replay(script(), **capabilities), [add], stream_outputs=stream_outputs)
    expected = list(sync_agent.run("What is 2 + 3?", stream=True))
    agent = ToolCallingAgent(replay(script(), **capabilities), [add], stream_outputs=stream_outputs)

    async def main() -> list[Any]:
        return [event async for event in agent.arun("What is 2 + 3?", stream=True)]

    events = asyncio.run(main())
    assert _comparable(events) == _comparable(expected)
    assert any(isinstance(e, ModelDelta) for e in events) is stream_outputs
    assert agent.memory.total_usage == sync_agent.memory.total_usage
    assert len(agent.memory.steps) == len(sync_agent.memory.steps)


def test_await_arun_gives_the_answer_and_async_tools_are_awaited_on_the_loop(replay) -> None:
    agent = ToolCallingAgent(replay(script("aadd")), [aadd])
    loop_thread: list[int] = []

    async def main() -> Any:
        loop_thread.append(threading.get_ident())
        return await agent.arun("What is 2 + 3?")

    assert asyncio.run(main()) == "5"
    observations = [o.content for s in agent.memory.steps for o in getattr(s, "observations", ())]
    assert observations[0] == "5"
    assert "broken_tool" in observations[1]  # an unknown tool is still an observation


def test_sync_tools_run_off_the_loop_and_async_tools_time_out(replay) -> None:
    seen: list[int] = []

    @tool
    def slow(a: int, b: int) -> int:
        """Sleep, then add.

        Args:
            a: the first.
            b: the second.
        """
        seen.append(threading.get_ident())
        time.sleep(0.2)
        return a + b

    @tool(timeout_s=0.1)
    async def stuck(a: int, b: int) -> int:
        """Never finishes.

        Args:
            a: the first.
            b: the second.
        """
        await asyncio.sleep(3600)
        return 0

    lags: list[float] = []

    async def main(agent: ToolCallingAgent) -> list[Any]:
        done = asyncio.Event()

        async def tick() -> None:
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - before - 0.01)

        ticker = asyncio.create_task(tick())
        try:
            return [e async for e in agent.arun("2 + 3?", stream=True)]
        finally:
            done.set()
            await ticker

    events = asyncio.run(main(ToolCallingAgent(replay(script("slow")), [slow])))
    assert seen and seen[0] != threading.get_ident()
    assert max(lags) < 0.1  # the 0.2 s tool ran in a thread
    assert next(e.observation for e in events if isinstance(e, ToolResult)) == "5"
    started = time.perf_counter()
    events = asyncio.run(main(ToolCallingAgent(replay(script("stuck")), [stuck])))
    assert time.perf_counter() - started < 5
    first = next(e for e in events if isinstance(e, ToolResult))
    assert first.is_error and "did not finish within 0.1 s" in first.observation
    assert isinstance(events[-1], FinalAnswer)


def test_cancelling_arun_stops_the_models_stream(recorder) -> None:
    long_text = "word " * 2000
    model, provider = recorder([{"role": "assistant", "content": long_text}])
    agent = ToolCallingAgent(model, [add], stream_outputs=True)

    async def main() -> None:
        got = asyncio.Event()

        async def consume() -> None:
            async with agent.arun("talk", stream=True) as run:
                async for event in run:
                    if isinstance(event, ModelDelta):
                        got.set()
                        await asyncio.sleep(0)  # cancelled here, between two events

        task = asyncio.create_task(consume())
        await got.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert provider.closed == 1  # the provider's generator was closed
