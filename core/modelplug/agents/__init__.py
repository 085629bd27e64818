"""Agents that call tools through any modelplug model, and stream their thoughts and calls live.

The guide, with examples, is ``docs/agents.md``. Modules: :mod:`~modelplug.agents.agent` (the run
loop), :mod:`~modelplug.agents.events` (what a streamed run yields), :mod:`~modelplug.agents.tools`
(``@tool``, argument checks, built-in tools), :mod:`~modelplug.agents.memory` (steps and the
conversation), :mod:`~modelplug.agents.prompts`, :mod:`~modelplug.agents.callable_model` (a plain
function as a model).
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
