"""Fixtures for the agent tests: scripted models through the replay provider, and a recording
provider (replay's scripts, plus a log of every request and of stream closes)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

import modelplug
from modelplug import _plugins as plugins
from modelplug.agents import ModelDelta, tool
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions
from modelplug.wire import delta_from_chunk
from modelplug_replay.script import response_chunks

_names = itertools.count(1)


def toolcalls_ready() -> bool:
    """Whether the core's text tool-call parser (issue 4) has landed."""
    try:
        from modelplug import toolcalls
    except ImportError:
        return False
    return hasattr(toolcalls, "parse") and hasattr(toolcalls, "StreamParser")


needs_toolcalls = pytest.mark.skipif(not toolcalls_ready(), reason="modelplug.toolcalls (issue 4) has not landed")


def call(name: str, arguments: Any, id: str) -> dict[str, Any]:
    """A wire tool call."""
    return {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}


def answer(*calls: dict[str, Any], content: str | None = None, usage: tuple[int, int] | None = None) -> dict[str, Any]:
    """A scripted assistant message dict with tool calls and usage (prompt, completion)."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "tool_calls": list(calls)}
    if usage is not None:
        message["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1]}
    return message


def outline(events: list[Any]) -> list[str]:
    """Event type names, with each run of ``ModelDelta`` collapsed to ``"deltas"``; a step start
    reads ``StepStart:<kind>``."""
    names: list[str] = []
    for event in events:
        if isinstance(event, ModelDelta):
            if not names or names[-1] != "deltas":
                names.append("deltas")
        elif type(event).__name__ == "StepStart":
            names.append(f"StepStart:{event.kind}")
        else:
            names.append(type(event).__name__)
    return names


@pytest.fixture
def replay() -> Callable[..., modelplug.Model]:
    """``replay(responses, **options)``: a fresh ``replay:agent`` model."""

    def make(responses: list[Any], **options: Any) -> modelplug.Model:
        return modelplug.load_model("replay:agent", responses=responses, **options)

    return make


@attrs.define(eq=False)  # pluggy keeps plugins in sets: hash by identity
class Recorder:
    """A streaming provider playing replay responses, recording requests and closes."""

    name: str
    responses: list[Any]
    declared: Capabilities
    requests: list[tuple[list[ChatMessage], GenerationOptions]] = attrs.Factory(list)
    closed: int = 0

    @modelplug.hookimpl
    def capabilities(self) -> Capabilities:
        return self.declared

    @modelplug.hookimpl
    def generate_stream(self, messages: list[ChatMessage], options: GenerationOptions) -> Iterator[Any]:
        self.requests.append((messages, options))
        return self._play(response_chunks(self.responses[len(self.requests) - 1]))

    def _play(self, chunks: list[Any]) -> Iterator[ChatMessageStreamDelta]:
        try:
            for chunk in chunks:
                delta = delta_from_chunk(chunk)
                if delta is not None:
                    yield delta
        finally:
            self.closed += 1


@pytest.fixture
def recorder() -> Iterator[Callable[..., tuple[modelplug.Model, Recorder]]]:
    """``recorder(responses, **capabilities)``: a model of a recording provider and the recorder."""
    names: list[str] = []

    def make(responses: list[Any], **capabilities: Any) -> tuple[modelplug.Model, Recorder]:
        declared = Capabilities(
            **{"streaming": True, "tool_calling": "native", "usage_in_stream": True, **capabilities}
        )
        name = f"agent-recorder-{next(_names)}"
        provider = Recorder(name, responses, declared)
        plugins.register_provider(name, provider)
        names.append(name)
        return modelplug.load_model(f"{name}:scripted"), provider

    yield make
    for name in names:
        plugins.unregister_provider(name)


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first.
        b: the second.
    """
    return a + b


def two_step_script() -> list[Any]:
    """Two steps: ``add(2, 3)`` (usage 100/10), then ``final_answer("5")`` (usage 130/7)."""
    return [
        answer(call("add", {"a": 2, "b": 3}, "call_1"), content="Adding.", usage=(100, 10)),
        answer(call("final_answer", {"answer": "5"}, "call_2"), usage=(130, 7)),
    ]
