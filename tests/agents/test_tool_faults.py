"""Tool faults become observations for the model, never exceptions out of run(); unknown usage stays
unknown; the event iterator can be closed from another thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from tests.agents.conftest import answer, call

from modelplug.agents import FinalAnswer, ModelDelta, ToolCallingAgent, ToolResult, tool
from modelplug.agents.agent import DEFAULT_TOOL_TIMEOUT_S, MAX_OBSERVATION_CHARS, format_observation


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


def _circular() -> list[Any]:
    items: list[Any] = []
    items.append(items)
    return items


@tool
def unprintable() -> object:
    """Returns an object whose str() fails."""
    return Unprintable()


@tool
def circular() -> object:
    """Returns a list that contains itself."""
    return _circular()


@tool
def exits() -> str:
    """Raises SystemExit."""
    raise SystemExit(4)


@tool(timeout_s=0.2)
def hangs() -> str:
    """Never returns in time."""
    threading.Event().wait(3)  # abandoned by the agent after 0.2 s
    return "late"


@tool
def huge() -> str:
    """Returns far too much text."""
    return "x" * (MAX_OBSERVATION_CHARS * 5)


def _script(name: str) -> list[Any]:
    return [
        answer(call(name, {}, "call_1")),
        answer(call("final_answer", {"answer": "done"}, "call_2")),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unprintable", "cannot be turned into text: RuntimeError: no text for you"),
        ("circular", "cannot be turned into text: ValueError"),
        ("exits", "raised SystemExit: 4"),
        ("hangs", "did not finish within 0.2 s"),
        ("huge", "[... cut:"),
    ],
)
def test_tool_faults_are_observations(replay, name: str, expected: str) -> None:
    tools = {"unprintable": unprintable, "circular": circular, "exits": exits, "hangs": hangs, "huge": huge}
    agent = ToolCallingAgent(replay(_script(name)), [tools[name]])
    events = list(agent.run("go", stream=True))
    results = [e for e in events if isinstance(e, ToolResult) and e.tool_call is not None and e.tool_call.name == name]
    assert len(results) == 1 and expected in results[0].observation
    assert len(results[0].observation) < MAX_OBSERVATION_CHARS + 100
    assert isinstance(events[-1], FinalAnswer) and events[-1].answer == "done"


def test_default_tool_timeout_is_documented() -> None:
    assert DEFAULT_TOOL_TIMEOUT_S > 0
    assert "DEFAULT_TOOL_TIMEOUT_S" in (ToolCallingAgent.__doc__ or "")


def test_format_observation_never_raises() -> None:
    assert "cannot be turned into text" in format_observation(Unprintable())
    assert format_observation(b"bytes \xff") == "bytes \ufffd"


def test_unknown_usage_is_none_not_zero(replay) -> None:
    agent = ToolCallingAgent(replay([answer(call("final_answer", {"answer": "x"}, "c1"))]), [])
    events = list(agent.run("go", stream=True))
    assert isinstance(events[-1], FinalAnswer) and events[-1].usage is None
    assert agent.memory.total_usage is None


def test_closing_the_event_iterator_from_another_thread(replay) -> None:
    words = " ".join(["word"] * 2000)
    agent = ToolCallingAgent(replay([words], delay=0.002), [], stream_outputs=True)
    events = agent.run("go", stream=True)
    problems: list[BaseException] = []

    def close() -> None:
        try:
            events.close()  # the iterating thread is inside next(), waiting for the model
        except BaseException as error:
            problems.append(error)

    seen = [next(events), next(events)]
    closer = threading.Thread(target=close)
    closer.start()
    seen.extend(events)  # ends cleanly: no exception, no FinalAnswer
    closer.join()
    assert problems == []
    assert not any(isinstance(e, FinalAnswer) for e in seen)
    assert sum(isinstance(e, ModelDelta) for e in seen) < 2000  # stopped before the whole answer streamed
    assert list(events) == []


def test_an_async_tool_past_its_time_limit_in_run_is_cancelled_not_left_running(replay) -> None:
    import asyncio

    cancelled = threading.Event()

    @tool(timeout_s=0.2)
    async def waits_forever() -> str:
        """Awaits a reply that never comes."""
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        return "never"

    agent = ToolCallingAgent(replay(_script("waits_forever")), [waits_forever])
    events = list(agent.run("go", stream=True))
    [result] = [e for e in events if isinstance(e, ToolResult) and e.tool_call and e.tool_call.name == "waits_forever"]
    assert "did not finish within 0.2 s" in result.observation
    assert cancelled.wait(5), "the timed-out coroutine is still running in its thread"
    deadline = threading.Event()
    for _ in range(50):
        if not any(t.name == "modelplug-tool" and t.is_alive() for t in threading.enumerate()):
            break
        deadline.wait(0.1)
    assert not any(t.name == "modelplug-tool" and t.is_alive() for t in threading.enumerate())


def test_an_async_tool_raising_its_own_timeout_error_is_not_taken_for_the_time_limit(replay) -> None:
    import asyncio

    @tool(timeout_s=5)
    async def upstream_timeout() -> str:
        """Its backend timed out (the tool's own TimeoutError, long before its limit)."""
        await asyncio.sleep(0)
        raise TimeoutError("upstream took too long")

    agent = ToolCallingAgent(replay(_script("upstream_timeout")), [upstream_timeout])
    events = list(agent.run("go", stream=True))
    [result] = [e for e in events if isinstance(e, ToolResult) and e.tool_call and e.tool_call.name != "final_answer"]
    assert "raised TimeoutError: upstream took too long" in result.observation
    assert "did not finish within" not in result.observation


def _raises_cancelled() -> Any:
    import asyncio

    async def cancels() -> str:
        """Raises CancelledError though nobody cancelled the run."""
        raise asyncio.CancelledError("the tool's own")

    return tool(cancels, name="cancels")


def _raises_interrupt() -> Any:
    def interrupts() -> str:
        """Raises KeyboardInterrupt in its worker thread."""
        raise KeyboardInterrupt

    return tool(interrupts, name="interrupts")


@pytest.mark.parametrize(
    ("make", "expected"),
    [(_raises_cancelled, "raised CancelledError"), (_raises_interrupt, "raised KeyboardInterrupt")],
)
def test_arun_turns_a_tools_own_cancelled_error_or_interrupt_into_an_observation(replay, make, expected) -> None:
    import asyncio

    faulty = make()
    agent = ToolCallingAgent(replay(_script(faulty.name)), [faulty])

    async def events() -> list[Any]:
        async with agent.arun("go", stream=True) as run:
            return [event async for event in run]

    got = asyncio.run(asyncio.wait_for(events(), 30))
    [result] = [
        e for e in got if isinstance(e, ToolResult) and e.tool_call is not None and e.tool_call.name == faulty.name
    ]
    assert result.is_error and expected in result.observation
    assert isinstance(got[-1], FinalAnswer) and got[-1].answer == "done"


def test_cancelling_arun_while_an_async_tool_runs_cancels_the_run(replay) -> None:
    import asyncio

    started = asyncio.Event()

    @tool
    async def slow() -> str:
        """Takes a while."""
        started.set()
        await asyncio.sleep(30)
        return "late"

    agent = ToolCallingAgent(replay(_script("slow")), [slow])

    async def main() -> None:
        task = asyncio.create_task(agent.arun("go"))
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)

    asyncio.run(main())
