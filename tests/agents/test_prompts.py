"""The agent's prompts (:mod:`modelplug.agents.prompts`): what each one tells the model about the
tools, the task and the steps, from real tools made with ``@tool``."""

from __future__ import annotations

import json
import re

from modelplug.agents import tool
from modelplug.agents.prompts import (
    describe_tools,
    final_prompt,
    planning_prompt,
    planning_system_prompt,
    system_prompt,
    text_tools_prompt,
)


@tool
def weather(city: str, days: int = 1) -> str:
    """The forecast   for a city,
    in °C.

    Args:
        city: the city's name.
        days: how many days ahead.
    """
    return f"{city}: sunny"


@tool
def now() -> str:
    """The current time."""
    return "12:00"


TOOLS = [weather.tool, now.tool]


def test_each_tool_is_one_line_with_its_arguments_schema_and_its_description() -> None:
    first, second = describe_tools(TOOLS).splitlines()
    line = re.fullmatch(r"- (\w+)\((.*)\): (.*)", first)
    assert line is not None, first
    name, arguments, description = line.groups()
    assert name == "weather" and description == "The forecast for a city, in °C."
    assert set(json.loads(arguments)) == {"city", "days"}
    assert json.loads(arguments)["city"]["type"] == "string"
    assert second == "- now({}): The current time."


def test_the_text_call_form_is_json_inside_tool_call_tags() -> None:
    prompt = text_tools_prompt(TOOLS)
    assert describe_tools(TOOLS) in prompt
    [example] = re.findall(r"<tool_call>(.*)</tool_call>", prompt)
    assert set(json.loads(example)) == {"name", "arguments"}


def test_the_action_prompt_describes_the_tools_only_when_asked_and_ends_with_the_instructions() -> None:
    offered = system_prompt(TOOLS, describe=False, instructions="Answer in French.")
    assert "weather" not in offered and "final_answer" in offered and offered.endswith("\n\nAnswer in French.")
    described = system_prompt(TOOLS, describe=True)
    assert text_tools_prompt(TOOLS) in described and described.endswith(text_tools_prompt(TOOLS))


def test_the_planning_prompts_list_the_tools_and_count_the_steps_run() -> None:
    planning = planning_system_prompt(TOOLS, "Be brief.")
    assert describe_tools(TOOLS) in planning and "Do not call tools" in planning and planning.endswith("Be brief.")
    assert planning_prompt("Find the weather.", 1) == "Write the plan for this task:\nFind the weather."
    later = planning_prompt("Find the weather.", 4)
    assert later.startswith("3 step(s) have run") and later.endswith("\nFind the weather.")


def test_the_last_request_names_the_step_limit_and_repeats_the_task() -> None:
    prompt = final_prompt("Find the weather.", 6)
    assert "step limit (6)" in prompt and "no more tools" in prompt and prompt.endswith("\nFind the weather.")
