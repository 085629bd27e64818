"""Coercion of argument values to a tool's JSON schema."""

from __future__ import annotations

from typing import Any

import pytest

from modelplug.toolcalls._schema import coerce_arguments, coerce_to_type, coerce_value, schema_types, type_name

SCHEMA = {
    "type": "object",
    "properties": {
        "n": {"type": "integer"},
        "x": {"type": "number"},
        "ok": {"type": "boolean"},
        "tags": {"type": "array"},
        "opts": {"type": "object"},
        "s": {"type": "string"},
        "maybe": {"type": ["integer", "null"]},
        "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "unit": {"enum": ["c", "f"]},
    },
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"n": " 5 "}, {"n": 5}),
        ({"n": "5.0"}, {"n": 5}),
        ({"n": "2026-01-15"}, {"n": "2026-01-15"}),  # does not convert: kept as written
        ({"n": ""}, {}),  # empty non-string value: left out, the tool's default applies
        ({"x": "2.5"}, {"x": 2.5}),
        ({"x": "nan"}, {"x": "nan"}),
        ({"ok": "True"}, {"ok": True}),
        ({"tags": '["a", 1]'}, {"tags": ["a", 1]}),
        ({"tags": "['a']"}, {"tags": ["a"]}),
        ({"opts": '{"k": 1}'}, {"opts": {"k": 1}}),
        ({"opts": "[1]"}, {"opts": "[1]"}),
        ({"s": " 5 "}, {"s": " 5 "}),  # whitespace in strings is data
        ({"maybe": "null"}, {"maybe": None}),
        ({"maybe": "3"}, {"maybe": 3}),
        ({"either": "3"}, {"either": "3"}),
        ({"unit": "c"}, {"unit": "c"}),
        ({"other": "5"}, {"other": "5"}),
        ({"n": 5}, {"n": 5}),
    ],
)
def test_coerce(given: dict[str, Any], expected: dict[str, Any]) -> None:
    assert coerce_arguments(given, SCHEMA) == expected


def test_schema_types() -> None:
    assert schema_types({"type": ["string", "null"]}) == {"string", "null"}
    assert schema_types({"oneOf": [{"type": "integer"}, {"type": "boolean"}]}) == {"integer", "boolean"}
    assert schema_types({"enum": [1, 2]}) == {"number"}
    assert schema_types({"properties": {}}) == {"object"}
    assert schema_types({}) == set()
    assert coerce_arguments({"a": "1"}, {"type": "object"}) == {"a": "1"}


@pytest.mark.parametrize(
    ("text", "written", "expected"),
    [
        ("3", "integer", 3),
        ("3", "int", 3),
        ("2.5", "float", 2.5),
        ("true", "bool", True),
        ('{"a": 1}', "dict[str, int]", {"a": 1}),
        ("[1, 2]", "array[integer]", [1, 2]),
        ("three", "integer", "three"),  # does not convert: stays text
        ("007", "string", "007"),
        ("x", "any", "x"),  # an unknown type: text
    ],
)
def test_coerce_to_a_written_type(text: str, written: str, expected: object) -> None:
    assert coerce_to_type(text, written) == expected


def test_coerce_one_value_by_its_schema() -> None:
    assert coerce_value("018956", {"type": "integer"}) == 18956
    assert coerce_value("018956", {"type": ["string", "integer"]}) == "018956"
    assert coerce_value("x", {"type": "integer"}) == "x"
    assert coerce_value("", {"type": "integer"}) == ""
    assert type_name(" List[str] ") == "array"
