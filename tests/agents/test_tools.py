"""Agent tools: @tool, conversions, argument checks, and the built-in calculator and clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import pytest

from modelplug.agents import (
    BUILTIN_TOOLS,
    FunctionTool,
    as_function_tool,
    calculator,
    current_time,
    final_answer,
    tool,
    validate_arguments,
)
from modelplug.errors import InvalidOptionError
from modelplug.tools import as_tool
from modelplug.types import Tool


def weather(city: str, unit: Literal["C", "F"] = "C", days: list[int] | None = None) -> str:
    """Current weather in a city.

    Args:
        city: the city name.
        unit: the temperature unit.
        days: days ahead.
    """
    return f"{city}: 20 {unit}"


def test_tool_decorator_builds_the_schema_and_stays_callable() -> None:
    decorated = tool(weather)
    assert isinstance(decorated, FunctionTool)
    assert decorated.name == "weather"
    assert decorated.tool.description == "Current weather in a city."
    assert decorated.tool.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "the city name."},
            "unit": {"enum": ["C", "F"], "type": "string", "description": "the temperature unit."},
            "days": {
                "anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}],
                "description": "days ahead.",
            },
        },
        "required": ["city"],
    }
    assert decorated("Paris") == "Paris: 20 C"
    assert as_tool(decorated) is decorated.tool  # the core understands it too


def test_tool_decorator_takes_a_name_and_description() -> None:
    renamed = tool(name="forecast", description="Weather, renamed.")(weather)
    assert (renamed.name, renamed.tool.description) == ("forecast", "Weather, renamed.")


def test_as_function_tool_accepts_every_form() -> None:
    plain = as_function_tool(weather)
    assert plain.name == "weather" and plain.function is weather
    described = Tool("lookup", "Look up a word.", {"type": "object", "properties": {"word": {"type": "string"}}})
    paired = as_function_tool((described, lambda word: word.upper()))
    assert paired.tool is described and paired.function(word="x") == "X"
    wire = {"type": "function", "function": {"name": "echo", "parameters": {"type": "object", "properties": {}}}}
    assert as_function_tool((wire, lambda: "e")).name == "echo"
    decorated = tool(weather)
    assert as_function_tool(decorated) is decorated


@pytest.mark.parametrize("value", [Tool("lookup"), {"type": "function", "function": {"name": "lookup"}}])
def test_a_tool_without_implementation_is_refused(value: Any) -> None:
    with pytest.raises(InvalidOptionError, match="'lookup' has no implementation"):
        as_function_tool(value)


def test_async_functions_are_tools() -> None:
    async def fetch(url: str) -> str:
        """Fetch a page."""
        return url

    assert as_function_tool(fetch).tool.parameters["properties"]["url"] == {"type": "string"}
    assert as_function_tool((Tool("fetch"), fetch)).function is fetch


def test_varargs_functions_are_refused() -> None:
    def anything(*args: Any) -> None:
        """Takes anything."""

    with pytest.raises(InvalidOptionError, match=r"\*args"):
        tool(anything)


@pytest.mark.parametrize(
    ("arguments", "problems"),
    [
        ({"city": "Paris"}, []),
        ({"city": "Paris", "unit": "F", "days": [1, 2]}, []),
        ({"city": "Paris", "days": None}, []),
        ({}, ["missing required argument 'city'"]),
        ({"city": 3}, ["argument 'city' must be of type string, got int 3"]),
        ({"city": "P", "unit": "K"}, ["argument 'unit' must be one of ['C', 'F'], got 'K'"]),
        ({"city": "P", "days": "3"}, ["argument 'days' matches none of the allowed schemas, got '3'"]),
        ({"city": "P", "when": 1}, ["unknown argument 'when' (expected: city, unit, days)"]),
        ([1], ["arguments must be a JSON object, got list"]),
    ],
)
def test_validate_arguments(arguments: Any, problems: list[str]) -> None:
    assert validate_arguments(tool(weather).tool.parameters, arguments) == problems


def test_validate_arguments_basic_types() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "x": {"type": "number"},
            "b": {"type": "boolean"},
            "o": {"type": "object"},
        },
        "additionalProperties": True,
    }
    assert validate_arguments(schema, {"n": 1, "x": 1.5, "b": False, "o": {}, "extra": 1}) == []
    assert validate_arguments(schema, {"n": True, "x": "1", "b": 0, "o": []}) == [
        "argument 'n' must be of type integer, got bool True",
        "argument 'x' must be of type number, got str '1'",
        "argument 'b' must be of type boolean, got int 0",
        "argument 'o' must be of type object, got list []",
    ]
    items = {"type": "object", "properties": {"xs": {"type": "array", "items": {"type": "integer"}}}}
    assert validate_arguments(items, {"xs": [1, "2"]}) == ["argument 'xs'[1] must be of type integer, got str '2'"]


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(2 + 3) * 4 ** 2 / 8", 10.0),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("2 ** -1", 0.5),
        ("+1.5e3 - 500", 1000.0),
        ("2 ** 4000", 2**4000),
        ("  (1)  ", 1),
    ],
)
def test_calculator_evaluates_arithmetic(expression: str, value: float) -> None:
    assert calculator(expression) == value


@pytest.mark.parametrize(
    ("expression", "error", "message"),
    [
        ("__import__('os').system('true')", ValueError, "not allowed"),
        ("x + 1", ValueError, "not allowed"),
        ("(1).__class__", ValueError, "not allowed"),
        ("[1, 2]", ValueError, "not allowed"),
        ("'a' * 3", ValueError, "not allowed"),
        ("True + 1", ValueError, "not allowed"),
        ("1 if 1 else 2", ValueError, "not allowed"),
        ("1 << 3", ValueError, "not allowed"),
        ("lambda: 1", ValueError, "not allowed"),
        ("9 ** 9 ** 9", ValueError, "too large"),
        ("2 ** 5000", ValueError, "too large"),
        ("(2 ** 4000) * (2 ** 4000)", ValueError, "too large"),
        ("1.5 ** 100000", ValueError, "too large"),
        ("10.0 ** 400", ValueError, "too large"),
        ("(-8) ** 0.5", ValueError, "not a real number"),
        ("1 / 0", ZeroDivisionError, "division by zero"),
        ("1 +", ValueError, "not an arithmetic expression"),
        ("1" * 501, ValueError, "too long"),
    ],
)
def test_calculator_refuses_everything_else(expression: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        calculator(expression)


def test_current_time_is_utc_iso() -> None:
    parsed = datetime.fromisoformat(current_time())
    assert parsed.tzinfo is not None and parsed.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 60


def test_builtin_tools() -> None:
    assert set(BUILTIN_TOOLS) == {"calculator", "current_time"}
    assert final_answer.name == "final_answer" and final_answer.tool.parameters["required"] == ["answer"]
    assert final_answer(answer=[1, 2]) == [1, 2]
    assert current_time.tool.parameters == {"type": "object", "properties": {}}
