"""The tool-call kinds of tests/data/behaviour_cases.json (smolagents-style single-blob parsing),
tested through modelplug's API: ``parse_json_blob``, ``tool_call_from_text``, ``decode_json_string``
and ``parse``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import decode_json_string, parse, parse_json_blob, tool_call_from_text

DATA = Path(__file__).parents[1] / "data"
CASES: list[dict[str, Any]] = json.loads((DATA / "behaviour_cases.json").read_text(encoding="utf-8"))


def _cases(kind: str) -> list[Any]:
    return [pytest.param(case, id=case["id"]) for case in CASES if case["kind"] == kind]


def _expect_error(expected: dict[str, Any], call: Any) -> None:
    with pytest.raises(ToolCallParseError) as info:
        call()
    for needle in expected.get("error_contains", []):
        assert needle in str(info.value)


@pytest.mark.parametrize("case", _cases("parse_json_blob"))
def test_parse_json_blob(case: dict[str, Any]) -> None:
    expected = case["expected"]
    if "error" in expected:
        _expect_error(expected, lambda: parse_json_blob(case["input"]["text"]))
        return
    data, prefix = parse_json_blob(case["input"]["text"])
    assert data == expected["data"]
    assert prefix == expected["prefix"]


@pytest.mark.parametrize("case", _cases("parse_tool_call_text"))
def test_tool_call_from_text(case: dict[str, Any]) -> None:
    given, expected = case["input"], case["expected"]

    def call() -> Any:
        return tool_call_from_text(
            given["text"], name_key=given["tool_name_key"], arguments_key=given["tool_arguments_key"]
        )

    if "error" in expected:
        _expect_error(expected, call)
        return
    tool_call = call()
    assert tool_call.name == expected["name"]
    arguments = tool_call.arguments if tool_call.arguments is not None else tool_call.raw_arguments
    assert arguments == expected["arguments"]
    assert tool_call.id.startswith("call_")


@pytest.mark.parametrize("case", _cases("parse_json"))
def test_decode_json_string(case: dict[str, Any]) -> None:
    assert decode_json_string(case["input"]["arguments"]) == case["expected"]["arguments"]


@pytest.mark.parametrize("case", _cases("parse_tool_calls"))
def test_message_tool_calls(case: dict[str, Any]) -> None:
    """A message without native tool calls gets them from its text; native calls get their JSON
    string arguments decoded (the wire layer does that for real messages; here the decoding rule)."""
    message, expected = case["input"]["message"], case["expected"]
    if message.get("tool_calls"):
        calls = [
            {"id": c["id"], "name": c["function"]["name"], "arguments": decode_json_string(c["function"]["arguments"])}
            for c in message["tool_calls"]
        ]
        assert calls == expected["tool_calls"]
        return
    result = parse(message["content"])
    assert [{"name": c.name, "arguments": c.arguments} for c in result.tool_calls] == expected["tool_calls"]
    assert result.content is None


def test_json_blob_skips_think_and_reports_where() -> None:
    data, prefix = parse_json_blob('<think>{not json}</think>\nSure: {"a": 1} trailing')
    assert data == {"a": 1}
    assert prefix == "<think>{not json}</think>\nSure: "
    with pytest.raises(ToolCallParseError) as info:  # {nope} is prose; {also: no} opens like an object
        parse_json_blob("x {nope} y {also: no}")
    assert info.value.offset == 11
    assert "invalid or missing JSON" in str(info.value)
    with pytest.raises(ToolCallParseError) as info:  # only prose braces: the first failure is reported
        parse_json_blob("x {nope} y {not either}")
    assert info.value.offset == 2


def test_tool_call_from_text_non_object_arguments_kept_raw() -> None:
    call = tool_call_from_text('{"name": "f", "arguments": [1, 2]}')
    assert call.arguments is None
    assert call.raw_arguments == "[1, 2]"
    assert tool_call_from_text('{"name": "f"}').arguments == {}


def test_json_blob_several_objects_is_an_error_not_the_first() -> None:
    with pytest.raises(ToolCallParseError) as info:
        parse_json_blob('{"name": "a"} then {"name": "b"}')
    assert "several JSON objects" in str(info.value)
    assert "offsets 0 and 19" in str(info.value)


def test_json_blob_reads_python_literal_dicts_without_evaluating() -> None:
    data, prefix = parse_json_blob("Call: {'name': 'f', 'arguments': {'ok': True, 'n': None, 't': (1, 2)}}")
    assert data == {"name": "f", "arguments": {"ok": True, "n": None, "t": [1, 2]}}
    assert prefix == "Call: "
    with pytest.raises(ToolCallParseError):
        parse_json_blob("{'name': __import__('os').getcwd()}")


def test_json_blob_error_names_the_outer_object_not_a_nested_one() -> None:
    text = '{"name": "f", "arguments": {"a": 1}, oops}'
    with pytest.raises(ToolCallParseError) as info:
        tool_call_from_text(text)
    message = str(info.value)
    assert f"invalid JSON at offset {text.index('oops')}" in message
    assert "needs a key" not in message


def test_json_blob_deep_nesting_is_a_parse_error() -> None:
    for text in ('{"a":' * 100_000, "{'a':" * 100_000, "[" * 100_000 + "{"):
        with pytest.raises(ToolCallParseError) as info:
            parse_json_blob(text)
        assert not isinstance(info.value, RecursionError)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('{"name": "f", "arguments": {"x": NaN}}', "arguments.x is nan"),
        ('{"name": "f", "arguments": {"x": [1, 1e999]}}', "arguments.x[1] is inf"),
        ('{"name": "f", "arguments": {"x": -Infinity}}', "arguments.x is -inf"),
    ],
)
def test_non_finite_numbers_are_not_json_and_the_error_names_them(text: str, named: str) -> None:
    for read in (parse_json_blob, tool_call_from_text):
        with pytest.raises(ToolCallParseError) as info:
            read(text)  # type: ignore[operator]
        assert named in str(info.value)


def test_an_integer_too_long_to_convert_is_a_parse_error() -> None:
    for read in (parse_json_blob, tool_call_from_text):
        with pytest.raises(ToolCallParseError) as info:
            read('{"name": "f", "arguments": {"x": %s}}' % ("1" * 5000))  # type: ignore[operator]
        assert "digits" in str(info.value)


_FIRST = '{"name": "a", "arguments": {"x": 1}}'


@pytest.mark.parametrize(
    ("text", "needles", "offset"),
    [
        # the outer object fails: its offset and reason, never the inner object or a missing key of it
        ('{"name": "a" "arguments": {"x": 1}}', ["invalid JSON at offset 13", "object at offset 0"], 0),
        ('{name: "a", arguments: {"x": 1}}', ["invalid JSON at offset 1", "double quotes"], 0),
        ("say {'name': 'a' 'arguments': {'x': 1}}", ["invalid JSON at offset 5", "object at offset 4"], 4),
        ('{"name": "a" oops} then {"name": "b", "arguments": {}}', ["invalid JSON at offset 13"], 0),
        # a second object, closed or not, or a brace opening one at the very end
        (_FIRST + ' then {"name": "b", "arguments": {"x": 1}}', ["several JSON objects", "offsets 0 and 42"], 42),
        (
            _FIRST + ' then {"name": "b", "arguments": {"x": 1}',
            ["several JSON objects", "offsets 0 and 42", "the second cannot be read"],
            42,
        ),
        (_FIRST + " and {", ["several JSON objects", "offsets 0 and 41", "the second cannot be read"], 41),
        (_FIRST + " and {name: 'b'", ["several JSON objects", "offsets 0 and 41"], 41),
        # a key given twice, in JSON or a Python dict, at any depth
        ('{"name": "a", "arguments": {}, "name": "b"}', ["the key 'name' is given twice"], 0),
        ('{"name": "a", "arguments": {"x": 1, "x": 2}}', ["the key 'arguments.x' is given twice"], 0),
        ("{'name': 'a', 'arguments': {}, 'name': 'b'}", ["the key 'name' is given twice"], 0),
        # a Python literal with a value that is no literal: the value is named, not a JSON error at offset 1
        ("{'name': 'a', 'arguments': {'x': float('nan')}}", ["offset 33", "float(...) is an expression"], 0),
        ("{'name': 'a', 'arguments': {'x': b'ab'}}", ["offset 33", "the bytes b'ab' has no JSON form"], 0),
        ("{'name': 'a', 'arguments': {'x': 1j}}", ["offset 33", "'1j' is not a JSON number"], 0),
        ("{'name': 'a', 'arguments': {'x': f'{y}'}}", ["offset 33", "the f-string f'{y}' has no JSON form"], 0),
        ("{'name': 'a', 'arguments': {'x': os.sep}}", ["offset 33", "os.<name> is an expression"], 0),
        # a lone surrogate is not Unicode text (the call could never be encoded as UTF-8)
        ('{"name": "a", "arguments": {"x": ["\\ud800"]}}', ["arguments.x[0] holds a lone surrogate (U+D800)"], 0),
        ('{"name": "a", "arguments": {"\\udfff": 1}}', ["'\\udfff' holds a lone surrogate (U+DFFF)"], 0),
    ],
)
def test_json_blob_errors_name_what_is_wrong(text: str, needles: list[str], offset: int) -> None:
    for read in (parse_json_blob, tool_call_from_text):
        with pytest.raises(ToolCallParseError) as info:
            read(text)  # type: ignore[operator]
        message = str(info.value)
        for needle in needles:
            assert needle in message, (read, message)
        assert "needs a key" not in message
        assert info.value.offset == offset
        message.encode("utf-8")  # the message itself never holds a lone surrogate


def test_tool_call_from_text_several_objects_carry_the_first_call() -> None:
    for second in (' {"name": "b", "arguments": {}}', ' {"name": "b", "arguments": {', " {"):
        with pytest.raises(ToolCallParseError) as info:
            tool_call_from_text(_FIRST + second)
        assert [(c.name, c.arguments) for c in info.value.tool_calls] == [("a", {"x": 1})]


@pytest.mark.parametrize(
    ("text", "prefix"),
    [  # braces in prose that do not open like an object are prose, before or after the blob
        (_FIRST + " and {so on}", ""),
        (_FIRST + " and so {on", ""),
        (_FIRST + ' and the set {"x", "y"}', ""),
        ("Use {braces} here: " + _FIRST, "Use {braces} here: "),
        ("A {half-open brace, then " + _FIRST, "A {half-open brace, then "),
    ],
)
def test_json_blob_prose_braces_are_not_objects(text: str, prefix: str) -> None:
    assert parse_json_blob(text) == ({"name": "a", "arguments": {"x": 1}}, prefix)
    assert tool_call_from_text(text).name == "a"
