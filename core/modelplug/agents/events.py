"""The events an agent run yields with ``agent.run(task, stream=True)``, and their JSON form
(:func:`event_to_dict`, what ``modelplug agent --json`` prints).

The order of the events in a run, and what ``step_number``, ``kind`` and the timings mean:
``docs/agents.md`` ("Streaming a run").
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

import attrs

from modelplug.types import ChatMessage, ChatMessageStreamDelta, ToolCall, Usage
from modelplug.wire import message_to_wire, usage_to_wire

__all__ = [
    "STEP_KINDS",
    "ActionStepEnd",
    "AgentEvent",
    "FinalAnswer",
    "MaxStepsReached",
    "ModelDelta",
    "ModelOutput",
    "PlanningStepEnd",
    "StepStart",
    "ToolCallComplete",
    "ToolResult",
    "event_to_dict",
]

#: Values of ``kind`` on step events.
STEP_KINDS: Final = ("planning", "action", "final")


@attrs.frozen
class StepStart:
    """A step begins: the model is about to be asked."""

    type: ClassVar[str] = "step_start"
    step_number: int
    kind: str


@attrs.frozen
class ModelDelta:
    """One delta of the model's stream (only with ``stream_outputs=True``)."""

    type: ClassVar[str] = "model_delta"
    step_number: int
    kind: str
    delta: ChatMessageStreamDelta


@attrs.frozen
class ModelOutput:
    """The model's complete answer of the step: the aggregate of its deltas (or what ``generate``
    returned), with its tool calls read, ``usage`` and ``finish_reason``. When the calls could not
    be read, the raw text without calls (a :class:`ToolResult` with the error follows)."""

    type: ClassVar[str] = "model_output"
    step_number: int
    kind: str
    message: ChatMessage


@attrs.frozen
class ToolCallComplete:
    """A tool call of the step's answer, complete (arguments decoded), about to run."""

    type: ClassVar[str] = "tool_call"
    step_number: int
    tool_call: ToolCall


@attrs.frozen
class ToolResult:
    """The observation the model will see for a tool call.

    ``tool_call`` is ``None`` for an observation that answers no call (the step's tool calls could
    not be read, or the model neither called a tool nor answered). ``is_error`` is true when the
    tool raised, was unknown, got bad arguments, or the calls could not be read. ``duration_s`` is
    the tool's run time.
    """

    type: ClassVar[str] = "tool_result"
    step_number: int
    tool_call: ToolCall | None
    observation: str
    is_error: bool = False
    duration_s: float = 0.0


@attrs.frozen
class PlanningStepEnd:
    """A planning step ended; ``plan`` is the model's plan text."""

    type: ClassVar[str] = "planning_step"
    step_number: int
    plan: str
    usage: Usage | None
    ttft_s: float | None
    duration_s: float


@attrs.frozen
class ActionStepEnd:
    """An action step (or the final step after ``max_steps``) ended.

    ``usage`` is the step's exact token usage as the provider reported it (the stream's aggregate,
    never a sum of deltas), ``None`` when it reported none. ``tool_calls`` counts the calls run.
    ``final`` says whether the step ended the run.
    """

    type: ClassVar[str] = "action_step"
    step_number: int
    kind: str
    usage: Usage | None
    ttft_s: float | None
    duration_s: float
    tool_calls: int = 0
    final: bool = False


@attrs.frozen
class MaxStepsReached:
    """``max_steps`` action steps ran without a final answer; the model is asked once more, without tools."""

    type: ClassVar[str] = "max_steps_reached"
    max_steps: int


@attrs.frozen
class FinalAnswer:
    """The run's answer (the argument of ``final_answer``, or the text of the last answer).

    ``usage`` is the run total: the sum of every step's usage (planning steps included), or
    ``None`` when the provider reported none (unknown, not zero). ``cost`` is the run's cost in US
    dollars (:attr:`~modelplug.agents.memory.AgentMemory.total_cost`), ``None`` when unknown.
    """

    type: ClassVar[str] = "final_answer"
    answer: Any
    step_number: int
    usage: Usage | None
    cost: float | None = None


AgentEvent = (
    StepStart
    | ModelDelta
    | ModelOutput
    | ToolCallComplete
    | ToolResult
    | PlanningStepEnd
    | ActionStepEnd
    | MaxStepsReached
    | FinalAnswer
)


def _call_dict(call: ToolCall) -> dict[str, Any]:
    data: dict[str, Any] = {"id": call.id, "name": call.name, "arguments": call.arguments}
    if call.arguments is None:
        data["raw_arguments"] = call.raw_arguments
    return data


def _delta_dict(delta: ChatMessageStreamDelta) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if delta.content is not None:
        data["content"] = delta.content
    if delta.reasoning_content is not None:
        data["reasoning_content"] = delta.reasoning_content
    if delta.tool_calls:
        data["tool_calls"] = [
            {
                k: v
                for k, v in (("index", d.index), ("id", d.id), ("name", d.name), ("arguments", d.arguments))
                if v is not None
            }
            for d in delta.tool_calls
        ]
    if delta.usage is not None:
        data["usage"] = usage_to_wire(delta.usage)
    if delta.finish_reason is not None:
        data["finish_reason"] = delta.finish_reason
    return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, Usage):
        return usage_to_wire(value)
    if isinstance(value, ToolCall):
        return _call_dict(value)
    if isinstance(value, ChatMessageStreamDelta):
        return _delta_dict(value)
    if isinstance(value, ChatMessage):
        data = message_to_wire(value)
        data["usage"] = None if value.usage is None else usage_to_wire(value.usage)
        data["finish_reason"] = value.finish_reason
        return data
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def event_to_dict(event: AgentEvent) -> dict[str, Any]:
    """The JSON-ready dict of ``event``: ``{"type": ..., <fields>}`` (deltas, tool calls and usage
    as plain dicts; a final answer that is not a JSON value becomes its ``repr``)."""
    data: dict[str, Any] = {"type": event.type}
    for field in attrs.fields(type(event)):
        data[field.name] = _jsonable(getattr(event, field.name))
    return data
