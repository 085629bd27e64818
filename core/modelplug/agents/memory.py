"""What an agent remembers of a run: one record per step, and the conversation rebuilt from them.

Each model step keeps the messages it was sent, the aggregate of its answer, its token usage as
the provider reported it and its timings (seconds). The two forms of
:meth:`AgentMemory.to_messages` (``summary_mode``) are described in ``docs/agents.md`` ("Memory
and usage").
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from modelplug.types import ChatMessage, ToolCall, Usage

__all__ = ["ActionStep", "AgentMemory", "Observation", "PlanningStep", "Step", "TaskStep"]

#: The user message that follows a plan in the conversation.
PLAN_FOLLOW_UP = "Now carry out this plan, step by step, with the tools."


@attrs.frozen
class Observation:
    """What the model is told about one tool call (or, with ``tool_call=None``, about its answer
    as a whole: unreadable calls, no call at all)."""

    tool_call: ToolCall | None
    content: str
    is_error: bool = False
    duration_s: float = 0.0

    def to_message(self) -> ChatMessage:
        """A ``tool`` message answering the call, or a ``user`` message when there is no call."""
        if self.tool_call is None:
            return ChatMessage(role="user", content=self.content)
        return ChatMessage(role="tool", content=self.content, tool_call_id=self.tool_call.id, name=self.tool_call.name)


@attrs.frozen
class TaskStep:
    """The task given to ``run``."""

    task: str


@attrs.frozen
class PlanningStep:
    """A planning step: the model was asked for a plan, without tools.

    Attributes:
        step_number: the number of the action step the plan precedes.
        model_input_messages: the messages the model was sent.
        message: its answer (the aggregate of the stream).
        usage: the step's token usage (``None`` when the provider reported none).
        ttft_s: seconds to the first delta with text (``None`` when not streamed).
        duration_s: seconds the model call took.
    """

    step_number: int
    model_input_messages: tuple[ChatMessage, ...]
    message: ChatMessage
    usage: Usage | None
    ttft_s: float | None
    duration_s: float

    @property
    def plan(self) -> str:
        """The plan text."""
        return self.message.text


@attrs.frozen
class ActionStep:
    """An action step (``kind="action"``), or the last answer asked for after ``max_steps``
    (``kind="final"``).

    Attributes:
        step_number: 1 for the first action step; ``max_steps + 1`` for the final one.
        kind: ``"action"`` or ``"final"``.
        model_input_messages: the messages the model was sent.
        message: its answer (the aggregate of the stream), as remembered: when its tool calls
            could not be read, the raw text, without calls.
        tool_calls: the calls that were run, in order.
        observations: what the model is told next: one per call, in order, then any observation
            that answers no call.
        usage: the step's exact token usage (``None`` when the provider reported none).
        ttft_s: seconds to the first delta with text or a tool call (``None`` when not streamed).
        duration_s: seconds the model call took (tools not included).
        is_final: whether the step ended the run; ``final_answer`` is then the answer.
    """

    step_number: int
    kind: str
    model_input_messages: tuple[ChatMessage, ...]
    message: ChatMessage
    tool_calls: tuple[ToolCall, ...]
    observations: tuple[Observation, ...]
    usage: Usage | None
    ttft_s: float | None
    duration_s: float
    is_final: bool = False
    final_answer: Any = None


Step = TaskStep | PlanningStep | ActionStep


def _arguments_text(call: ToolCall) -> str:
    if call.arguments is None:
        return call.raw_arguments or ""
    return json.dumps(call.arguments, ensure_ascii=False)


def _step_messages(step: Step) -> tuple[ChatMessage, ...]:
    """The messages of one step in the full conversation (see the module docstring)."""
    if isinstance(step, TaskStep):
        return (ChatMessage(role="user", content=step.task),)
    if isinstance(step, PlanningStep):
        return ChatMessage(role="assistant", content=step.plan), ChatMessage(role="user", content=PLAN_FOLLOW_UP)
    calls = [o for o in step.observations if o.tool_call is not None]
    others = [o for o in step.observations if o.tool_call is None]
    assistant = ChatMessage(role="assistant", content=step.message.content, tool_calls=step.message.tool_calls)
    return (assistant, *(o.to_message() for o in calls + others))


def _merge_same_roles(messages: list[ChatMessage]) -> list[ChatMessage]:
    merged: list[ChatMessage] = []
    for message in messages:
        if merged and merged[-1].role == message.role:
            merged[-1] = ChatMessage(role=message.role, content=f"{merged[-1].text}\n\n{message.text}")
        else:
            merged.append(message)
    return merged


class AgentMemory:
    """The steps of an agent's runs, and the conversation they make.

    Attributes:
        system_prompt: the system message of action steps.
        steps: every step so far, in order.
    """

    __slots__ = ("_rendered", "steps", "system_prompt")

    def __init__(self, system_prompt: str) -> None:
        self.system_prompt = system_prompt
        self.steps: list[Step] = []
        # id(step) -> (step, its messages): steps are immutable, so each is rendered once and a
        # step of a long run costs O(steps) pointer copies, not O(steps) new messages.
        self._rendered: dict[int, tuple[Step, tuple[ChatMessage, ...]]] = {}

    def reset(self) -> None:
        """Forget every step."""
        self.steps.clear()
        self._rendered.clear()

    @property
    def action_steps(self) -> list[ActionStep]:
        """The action steps (and the final one), in order."""
        return [s for s in self.steps if isinstance(s, ActionStep)]

    @property
    def planning_steps(self) -> list[PlanningStep]:
        """The planning steps, in order."""
        return [s for s in self.steps if isinstance(s, PlanningStep)]

    @property
    def total_usage(self) -> Usage | None:
        """The sum of every step's usage (planning included), or ``None`` when no step's provider
        reported any: an unknown usage is not zero tokens. Steps without usage add nothing."""
        total: Usage | None = None
        for step in self.steps:
            usage = getattr(step, "usage", None)
            if usage is not None:
                total = usage if total is None else total + usage
        return total

    @property
    def total_cost(self) -> float | None:
        """The run's cost in US dollars: the sum of every model step's ``message.cost``, or ``None``
        when any step's cost is unknown (a partial sum would understate it)."""
        total = 0.0
        steps = [step for step in self.steps if isinstance(step, (PlanningStep, ActionStep))]
        for step in steps:
            if step.message.cost is None:
                return None
            total += step.message.cost
        return total if steps else None

    def to_messages(self, summary_mode: bool = False) -> list[ChatMessage]:
        """The conversation so far as chat messages (see the module docstring for both modes)."""
        if summary_mode:
            return self._summary()
        messages = [ChatMessage(role="system", content=self.system_prompt)]
        rendered = self._rendered
        for step in self.steps:
            cached = rendered.get(id(step))
            if cached is None or cached[0] is not step:
                cached = rendered[id(step)] = (step, _step_messages(step))
            messages.extend(cached[1])
        return messages

    def _summary(self) -> list[ChatMessage]:
        messages: list[ChatMessage] = []
        for step in self.steps:
            if isinstance(step, TaskStep):
                messages.append(ChatMessage(role="user", content=step.task))
            elif isinstance(step, ActionStep):
                said = [step.message.text] if step.message.text else []
                said += [f"Calling tool {c.name}({_arguments_text(c)})" for c in step.message.tool_calls]
                if said:
                    messages.append(ChatMessage(role="assistant", content="\n".join(said)))
                seen = []
                for observation in step.observations:
                    call = observation.tool_call
                    label = f"Observation from {call.name}" if call is not None else "Note"
                    seen.append(f"{label}: {observation.content}")
                if seen:
                    messages.append(ChatMessage(role="user", content="\n".join(seen)))
        return _merge_same_roles(messages)
