"""The literal-only Python reader: values, calls, and what it refuses (it never evaluates)."""

from __future__ import annotations

from typing import Any

import pytest

from modelplug.toolcalls._literals import LiteralSyntaxError, parse_call_list, parse_calls, parse_literal


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("{'a': 1, \"b\": [True, None, false, null]}", {"a": 1, "b": [True, None, False, None]}),
        ("(1, 2)", [1, 2]),
        ("(1)", 1),
        ("(1,)", [1]),
        ("{1, 2}", [1, 2]),
        ("{1: 'x', None: 2, True: 3}", {"1": "x", "null": 2, "true": 3}),
        ("'''multi\nline'''", "multi\nline"),
        ("r'\\d+'", "\\d+"),
        ("'it\\'s'", "it's"),
        ('"caf\\u00e9"', "café"),
        ("-1.5e3", -1500.0),
        ("0x1F", 31),
        ("1_000", 1000),
        ("'a\nb'", "a\nb"),  # models put raw newlines in single-quoted strings
    ],
)
def test_values(text: str, value: Any) -> None:
    assert parse_literal(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo hi')",
        "open('/etc/passwd')",
        "1 + 1",
        "x",
        "b'bytes'",
        "f'{x}'",
        "[1, 2",
        "{'a' 1}",
        "[" * 500 + "]" * 500,
    ],
)
def test_refused(text: str) -> None:
    with pytest.raises(LiteralSyntaxError):
        parse_literal(text)


def test_call_lists() -> None:
    (call,) = parse_call_list("[geo(size=(800, 600), from=1, **{'q': 'x'})]")
    assert (call.name, call.arguments) == ("geo", {"size": [800, 600], "from": 1, "q": "x"})
    assert parse_call_list("[]") == []
    bad, good = parse_call_list("[a(x=b'z'), b(y=some_name)]")
    assert bad.arguments is None and good.arguments is None  # no JSON form: the calls are unusable
    (dotted,) = parse_call_list("[grocery.order(items=[])]")
    assert dotted.name == "grocery.order"


@pytest.mark.parametrize("text", ["[f(x=1]", "[f(x=1)) ]", "[f(x=1) g(y=2)]", "[f(x=1), g(y='open)]"])
def test_bad_call_lists(text: str) -> None:
    with pytest.raises(LiteralSyntaxError):
        parse_call_list(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [("[f(1)]", "f"), ("[f(x == 1)]", "f"), ("[1]", ""), ("[f(x=)]", "f"), ("[f(x=[1, (2, 3)], y='a,b', z=)]", "f")],
)
def test_a_broken_call_is_reported_and_its_siblings_read(text: str, name: str) -> None:
    inner = text[1:-1]
    calls = parse_call_list(f"[a(k='v'), {inner}, b(n=2)]")
    assert [(c.name, c.arguments) for c in calls] == [("a", {"k": "v"}), (name, None), ("b", {"n": 2})]
    assert calls[1].error and "offset" in calls[1].error
    (alone,) = parse_call_list(text)
    assert alone.arguments is None and alone.error


def test_call_sequences() -> None:
    calls = parse_calls("f(a=1)\ng(b=null); h()", ",;")
    assert [(c.name, c.arguments) for c in calls] == [("f", {"a": 1}), ("g", {"b": None}), ("h", {})]
