"""A plain function as the agent's model (backward compatibility)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.agents.conftest import needs_toolcalls, outline

from modelplug import _plugins as plugins
from modelplug.agents import ToolCallingAgent, ToolResult, model_from_callable, tool
from modelplug.agents.callable_model import CALLABLE_CAPABILITIES
from modelplug.errors import InvalidOptionError
from modelplug.types import ChatMessage, ToolCall, Usage


@tool
def double(n: int) -> int:
    """Double a number."""
    return 2 * n


@needs_toolcalls  # the core reads text answers of "text" providers for calls
def test_a_function_returning_text_is_the_answer() -> None:
    seen: list[list[dict[str, Any]]] = []

    def respond(messages: list[dict[str, Any]]) -> str:
        seen.append(messages)
        return "Forty-two."

    agent = ToolCallingAgent(respond, [double])
    assert agent.run("Meaning of life?") == "Forty-two."
    assert [m["role"] for m in seen[0]] == ["system", "user"]  # OpenAI wire dicts
    assert seen[0][1] == {"role": "user", "content": "Meaning of life?"}
    system = seen[0][0]["content"]  # the tools, as text, at the end of the system message
    assert system.startswith("You are an agent")
    assert "- double(" in system and "- final_answer(" in system and "<tool_call>" in system
    assert agent.model.capabilities == CALLABLE_CAPABILITIES
    assert agent.model.model_id.endswith("respond")


def test_a_function_returning_native_tool_calls() -> None:
    replies = iter(
        [
            ChatMessage(tool_calls=[ToolCall("c1", "double", {"n": 21})], usage=Usage(10, 2)),
            {"tool_calls": [{"id": "c2", "function": {"name": "final_answer", "arguments": '{"answer": 42}'}}]},
        ]
    )
    seen: list[list[dict[str, Any]]] = []

    def respond(messages: list[dict[str, Any]]) -> Any:
        seen.append(messages)
        return next(replies)

    agent = ToolCallingAgent(respond, [double])
    events = list(agent.run("Double 21.", stream=True))
    assert outline(events) == [
        "StepStart:action", "ModelOutput", "ToolCallComplete", "ToolResult", "ActionStepEnd",
        "StepStart:action", "ModelOutput", "ToolCallComplete", "ToolResult", "ActionStepEnd",
        "FinalAnswer",
    ]  # fmt: skip
    assert [e.observation for e in events if isinstance(e, ToolResult)] == ["42", "42"]
    assert events[-1].answer == 42 and events[-1].usage == Usage(10, 2)
    # the second call saw the call and its result, threaded by id
    assert seen[1][-2]["tool_calls"][0]["id"] == "c1"
    assert seen[1][-1] == {"role": "tool", "content": "42", "tool_call_id": "c1", "name": "double"}


@needs_toolcalls
def test_a_function_writing_calls_as_text() -> None:
    replies = iter(
        [
            '<tool_call>{"name": "double", "arguments": {"n": 4}}</tool_call>',
            '<tool_call>{"name": "final_answer", "arguments": {"answer": "8"}}</tool_call>',
        ]
    )
    agent = ToolCallingAgent(lambda messages: next(replies), [double])
    events = list(agent.run("Double 4.", stream=True))
    assert [e.observation for e in events if isinstance(e, ToolResult)] == ["8", "8"]
    assert events[-1].answer == "8"


@needs_toolcalls
def test_the_provider_is_registered_until_the_agent_closes() -> None:
    with ToolCallingAgent(lambda messages: "ok", [double]) as agent:
        name = agent.model.provider
        assert name in {p.name for p in plugins.list_providers()}
        assert agent.run("?") == "ok"
    assert name not in {p.name for p in plugins.list_providers()}


def test_a_request_without_tools_is_passed_unchanged() -> None:
    seen: list[list[dict[str, Any]]] = []
    model = model_from_callable(lambda messages: seen.append(messages) or "ok")
    try:
        assert model.generate([{"role": "user", "content": "hi"}]).content == "ok"
        assert model.generate("hi", tools=[double]).content == "ok"
    finally:
        model.close()
    assert seen[0] == [{"role": "user", "content": "hi"}]
    assert seen[1][0]["role"] == "system" and "- double(" in seen[1][0]["content"]  # a system message is added


def test_each_function_gets_its_own_provider() -> None:
    first, second = model_from_callable(lambda m: "a"), model_from_callable(lambda m: "b")
    try:
        assert first.provider != second.provider
        assert (first.generate("x").content, second.generate("x").content) == ("a", "b")
    finally:
        first.close()
        second.close()


def test_a_bad_return_value_is_reported() -> None:
    model = model_from_callable(lambda messages: 42)
    try:
        with pytest.raises(InvalidOptionError, match="must return a string or an assistant ChatMessage"):
            model.generate("x")
    finally:
        model.close()
    with pytest.raises(InvalidOptionError, match="must be callable"):
        model_from_callable("not a function")  # type: ignore[arg-type]
