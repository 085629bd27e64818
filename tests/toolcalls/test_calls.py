"""The rules every format shares (:mod:`modelplug.toolcalls._calls`): reading a call object,
decoding arguments, refusing tools not offered, call ids."""

from __future__ import annotations

import re
from typing import Any

import pytest

from modelplug.toolcalls._calls import BadCall, OfferedTools, as_arguments, decode_value, mint_id, read_call
from modelplug.types import Tool


def test_minted_ids_are_fresh_and_shaped() -> None:
    ids = {mint_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"call_[0-9a-f]{24}", i) for i in ids)


@pytest.mark.parametrize(
    ("text", "decoded"),
    [
        ('{"a": [1, null]}', (True, {"a": [1, None]})),
        ("{'a': (1, None, True)}", (True, {"a": [1, None, True]})),
        ('"tab\there"', (True, "tab\there")),  # raw control characters inside JSON strings are read
        ("{'a': f()}", (False, None)),  # a call is never evaluated
        ("{", (False, None)),
    ],
)
def test_decode_value_reads_json_or_a_python_literal(text: str, decoded: tuple[bool, Any]) -> None:
    assert decode_value(text) == decoded


@pytest.mark.parametrize(
    ("raw", "arguments"),
    [(None, {}), ("", {}), ("  ", {}), ({"a": 1}, {"a": 1}), ('{"a": 1}', {"a": 1}), ("{'a': 1}", {"a": 1})],
)
def test_as_arguments(raw: Any, arguments: dict[str, Any]) -> None:
    assert as_arguments(raw) == arguments


@pytest.mark.parametrize(("raw", "says"), [("[1]", "the string '[1]'"), ([1], "list [1]"), (5, "int 5")])
def test_arguments_that_are_not_an_object_say_what_they_were(raw: Any, says: str) -> None:
    with pytest.raises(BadCall, match=re.escape(says)):
        as_arguments(raw)


@pytest.mark.parametrize(
    ("obj", "call"),
    [
        ({"name": " f ", "arguments": {"a": 1}, "id": "c1"}, ("f", {"a": 1}, "c1")),
        ({"name": "f", "parameters": '{"a": 1}'}, ("f", {"a": 1}, None)),
        ({"type": "function", "id": "c2", "function": {"name": "f", "arguments": "{}"}}, ("f", {}, "c2")),
        ({"tool_name": "f", "parameters": {}}, ("f", {}, None)),
        ({"name": "f"}, ("f", {}, None)),
    ],
)
def test_read_call_inside_a_marker(obj: Any, call: tuple[str, dict[str, Any], str | None]) -> None:
    assert read_call(obj) == call


@pytest.mark.parametrize(
    "obj", [{"name": "f"}, {"tool_name": "f", "arguments": {}}, {"name": "f", "arguments": 3}, [1]]
)
def test_without_a_marker_only_a_clear_call_is_a_call(obj: Any) -> None:
    assert read_call(obj, markerless=True) is None


@pytest.mark.parametrize(("obj", "reason"), [([1], "JSON object"), ({"arguments": {}}, "string 'name'")])
def test_an_unusable_call_inside_a_marker_says_why(obj: Any, reason: str) -> None:
    with pytest.raises(BadCall, match=reason):
        read_call(obj)


def test_keyed_calls() -> None:
    assert read_call({"get_weather": {"city": "Paris"}}, keyed=True) == ("get_weather", {"city": "Paris"}, None)
    with pytest.raises(BadCall, match="tool name as its key"):
        read_call({" ": {}}, keyed=True)


def test_offered_tools_refuse_and_coerce() -> None:
    tool = Tool("f", "", {"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}})
    offered = OfferedTools({"f": tool})
    assert offered.known("f") and not offered.known("g")
    assert offered.unknown("g") == "tool 'g' was not offered (offered: f)"
    assert offered.arguments("f", {"n": "3"}) == {"n": 3}
    assert offered.keeps_strings("f", "s") and not offered.keeps_strings("f", "n")
    assert offered.schema("f", "n") == {"type": "integer"}
    assert offered.schema("f", "x") is None and offered.schema("g", "n") is None
    anything = OfferedTools(None)
    assert anything.known("g") and anything.arguments("g", {"n": "3"}) == {"n": "3"}
