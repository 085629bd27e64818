"""Tools from OpenAI dicts and Python callables (modelplug.tools)."""

from __future__ import annotations

import functools

import pytest

from modelplug.errors import InvalidOptionError
from modelplug.tools import as_tool, json_schema_for


def add(a: int, b: int = 1) -> int:
    return a + b


class Multiplier:
    def __call__(self, x: float) -> float:
        return 2 * x


def test_partial_and_callable_objects_are_named() -> None:
    # Both raised a bare AttributeError ('__name__').
    assert as_tool(functools.partial(add, b=2)).name == "add"
    tool = as_tool(Multiplier())
    assert tool.name == "Multiplier" and tool.parameters["properties"] == {"x": {"type": "number"}}


def test_a_lambda_needs_a_name() -> None:
    # It became a tool named '<lambda>', which no chat API accepts.
    with pytest.raises(InvalidOptionError, match="give it a name"):
        as_tool(lambda x: x)


def test_unhashable_annotations_describe_any_value() -> None:
    def odd(a, b=None):  # type: ignore[no-untyped-def]
        pass

    odd.__annotations__ = {"a": [int], "b": {"x": 1}}
    assert json_schema_for([int]) == {}
    assert as_tool(odd).parameters["properties"] == {"a": {}, "b": {}}  # was TypeError: unhashable type


def test_tool_dict_fields_of_the_wrong_type_are_named() -> None:
    with pytest.raises(InvalidOptionError, match="'parameters' must be"):
        as_tool({"type": "function", "function": {"name": "f", "parameters": "x"}})
    with pytest.raises(InvalidOptionError, match="'description' must be"):
        as_tool({"name": "f", "description": 5})
