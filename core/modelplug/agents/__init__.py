"""Agents that call tools through any modelplug model, and stream their thoughts and calls live.

::

    from modelplug.agents import ToolCallingAgent, tool

    @tool
    def add(a: int, b: int) -> int:
        '''Add two integers.'''
        return a + b

    agent = ToolCallingAgent("transformers:default", [add], stream_outputs=True, max_steps=5)
    for event in agent.run("What is 2 + 3?", stream=True):
        print(event)        # StepStart, ModelDelta..., ModelOutput, ToolCallComplete, ToolResult, ...
    agent.memory.total_usage            # the run's token usage, the sum of its steps
    agent.memory.total_cost             # its cost in USD (None when a price is unknown)

    async with agent.arun("What is 2 + 3?", stream=True) as run:   # the same events, in async code
        async for event in run: ...

Modules: :mod:`~modelplug.agents.agent` (the run loop), :mod:`~modelplug.agents.events` (what a
streamed run yields), :mod:`~modelplug.agents.tools` (``@tool``, argument checks, built-in tools),
:mod:`~modelplug.agents.memory` (steps and the conversation), :mod:`~modelplug.agents.prompts`,
:mod:`~modelplug.agents.callable_model` (a plain function as a model).
"""

from __future__ import annotations

from modelplug.agents.agent import AgentRun, AsyncAgentRun, ToolCallingAgent, format_observation
from modelplug.agents.callable_model import model_from_callable
from modelplug.agents.events import (
    ActionStepEnd,
    AgentEvent,
    FinalAnswer,
    MaxStepsReached,
    ModelDelta,
    ModelOutput,
    PlanningStepEnd,
    StepStart,
    ToolCallComplete,
    ToolResult,
    event_to_dict,
)
from modelplug.agents.memory import ActionStep, AgentMemory, Observation, PlanningStep, TaskStep
from modelplug.agents.tools import (
    BUILTIN_TOOLS,
    FunctionTool,
    as_function_tool,
    calculator,
    current_time,
    final_answer,
    tool,
    validate_arguments,
)

__all__ = [
    "BUILTIN_TOOLS",
    "ActionStep",
    "ActionStepEnd",
    "AgentEvent",
    "AgentMemory",
    "AgentRun",
    "AsyncAgentRun",
    "FinalAnswer",
    "FunctionTool",
    "MaxStepsReached",
    "ModelDelta",
    "ModelOutput",
    "Observation",
    "PlanningStep",
    "PlanningStepEnd",
    "StepStart",
    "TaskStep",
    "ToolCallComplete",
    "ToolCallingAgent",
    "ToolResult",
    "as_function_tool",
    "calculator",
    "current_time",
    "event_to_dict",
    "final_answer",
    "format_observation",
    "model_from_callable",
    "tool",
    "validate_arguments",
]
