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
