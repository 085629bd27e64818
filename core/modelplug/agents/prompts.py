"""The prompts of :class:`~modelplug.agents.ToolCallingAgent`: the system prompt of action steps,
the planning prompt and the last request after ``max_steps``. Plain functions of the tools and the
task, so they are easy to read, test and replace (the agent's ``instructions`` are appended to the
system prompt)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from modelplug.types import Tool

__all__ = [
    "describe_tools",
    "final_call_prompt",
    "final_prompt",
    "planning_prompt",
    "planning_system_prompt",
    "system_prompt",
    "text_tools_prompt",
]


def describe_tools(tools: Sequence[Tool]) -> str:
    """One line per tool: ``- name(arguments JSON schema): description``."""
    lines = []
    for tool in tools:
        arguments = json.dumps(tool.parameters.get("properties", {}), ensure_ascii=False)
        description = " ".join(tool.description.split())
        lines.append(f"- {tool.name}({arguments}): {description}")
    return "\n".join(lines)


def text_tools_prompt(tools: Sequence[Tool]) -> str:
    """The tools and how to call them as text (hermes ``<tool_call>`` form), for a model that is
    not given the tools through its API or chat template."""
    return (
        "Tools:\n" + describe_tools(tools) + "\n\nTo call a tool, write the call on its own line as\n"
        '<tool_call>{"name": "TOOL_NAME", "arguments": {"ARGUMENT": "VALUE"}}</tool_call>\n'
        "You may write several calls in one answer; they run in order."
    )


def system_prompt(tools: Sequence[Tool], *, describe: bool, instructions: str | None = None) -> str:
    """The system prompt of action steps.

    ``describe`` lists the tools and how to call them as text: for providers that are not given
    the tools (``tool_calling="none"``). Other providers get the tools with each request, and
    their API or chat template shows them to the model, so they are not repeated here.
    """
    parts = [
        "You are an agent that solves the user's task step by step with tools. In each step, call one "
        "or more tools; you will see their results in the next step. When you know the answer, call "
        "final_answer with it."
    ]
    if describe:
        parts.append(text_tools_prompt(tools))
    if instructions:
        parts.append(instructions)
    return "\n\n".join(parts)


def planning_system_prompt(tools: Sequence[Tool], instructions: str | None = None) -> str:
    """The system prompt of planning steps (tools are described, not offered)."""
    parts = [
        "You plan the work of an agent that solves tasks with these tools:\n" + describe_tools(tools),
        "Do not call tools now. Write a short plan: what is known, what is still to find out, and the "
        "numbered steps to get the answer.",
    ]
    if instructions:
        parts.append(instructions)
    return "\n\n".join(parts)


def planning_prompt(task: str, step_number: int) -> str:
    """The user message that asks for a plan before action step ``step_number``."""
    if step_number <= 1:
        return f"Write the plan for this task:\n{task}"
    return f"{step_number - 1} step(s) have run (above). Update the plan for the task:\n{task}"


def final_prompt(task: str, max_steps: int) -> str:
    """The user message that asks for the answer once ``max_steps`` steps have run."""
    return (
        f"The step limit ({max_steps}) is reached and no more tools can be called. Using what you found "
        f"above, give your final answer to the task now, as plain text:\n{task}"
    )


#: The most characters of one result repeated in :func:`final_call_prompt`.
MAX_RESULT_CHARS = 1000


def final_call_prompt(task: str, results: Sequence[str]) -> str:
    """The user message before a forced ``final_answer`` call (the model repeated a call whose
    result it already had): the last ``results`` (``name: content`` lines, each cut to
    :data:`MAX_RESULT_CHARS`) and the task, so the answer is in front of the model."""
    shown = "\n".join(r if len(r) <= MAX_RESULT_CHARS else r[:MAX_RESULT_CHARS] + "..." for r in results)
    found = f"The tools gave:\n{shown}\n" if shown else ""
    return f"{found}Now call final_answer with the answer to the task, as text:\n{task}"
