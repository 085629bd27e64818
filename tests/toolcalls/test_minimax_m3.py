"""MiniMax-M3 (:mod:`modelplug.toolcalls.minimax_m3`): parameters as elements named by their key,
nesting for objects and arrays, read against the tool's schema; whole and at every split. The
shapes are those of vLLM's and SGLang's tests for their parsers (rewritten here)."""

from __future__ import annotations

import json

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import StreamParser, parse
from tests.toolcalls._support import check, same, stream, whole

NS = "]<]minimax[>["


def _e(tag: str, body: str) -> str:
    return f"{NS}<{tag}>{body}{NS}</{tag}>"


def _block(*invokes: str) -> str:
    return f"{NS}<tool_call>\n" + "\n".join(invokes) + f"\n{NS}</tool_call>"


def _invoke(name: str, *params: str) -> str:
    return f'{NS}<invoke name="{name}">' + "".join(params) + f"{NS}</invoke>"


ORDER = _invoke(
    "create_order",
    _e("user_id", "42"),
    _e("urgent", "true"),
    _e("note", "Please leave at front desk."),
    _e("shipping", _e("city", "Singapore") + _e("zip", "018956")),
    _e("items", _e("item", _e("sku", "book-001") + _e("qty", "2")) + _e("item", _e("sku", "pen-007") + _e("qty", "5"))),
    _e("metadata", _e("source", "mobile") + _e("campaign", "may-launch")),
    _e("duplicate_demo", _e("tag", "a") + _e("tag", "b")),
)
_ITEM = {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}}
SCHEMA = {
    "type": "object",
    "properties": {
        "user_id": {"type": "integer"},
        "urgent": {"type": "boolean"},
        "note": {"type": "string"},
        "shipping": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}}},
        "items": {"type": "array", "items": _ITEM},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        "duplicate_demo": {"type": "object"},
    },
}
TOOLS = [{"name": "create_order", "parameters": SCHEMA}, {"name": "ping"}]


def test_nested_parameters_follow_the_schema() -> None:
    expected = {
        "user_id": 42,
        "urgent": True,
        "note": "Please leave at front desk.",
        "shipping": {"city": "Singapore", "zip": 18956},
        "items": [{"sku": "book-001", "qty": 2}, {"sku": "pen-007", "qty": 5}],
        "metadata": {"source": "mobile", "campaign": "may-launch"},
        "duplicate_demo": {"tag": ["a", "b"]},  # a tag given again makes a list
    }
    check("I will create it.\n" + _block(ORDER), "minimax_m3", "I will create it.", [("create_order", expected)], TOOLS)


def test_without_a_schema_values_are_text_and_containers_objects() -> None:
    (call,) = parse(_block(ORDER), "minimax-m3").tool_calls
    assert call.arguments["user_id"] == "42"
    assert call.arguments["shipping"] == {"city": "Singapore", "zip": "018956"}
    assert call.arguments["items"] == {"item": [{"sku": "book-001", "qty": "2"}, {"sku": "pen-007", "qty": "5"}]}


def test_several_invokes_and_tag_spacing() -> None:
    spaced = f'{NS} <invoke name="ping">\n{NS}\n</invoke>'
    text = _block(_invoke("create_order", _e("user_id", "1")), _invoke("create_order", _e("user_id", "2")), spaced)
    text = text.replace(f"{NS}<tool_call>", f"{NS} <tool_call>")  # spacing after the token is layout
    expected = [("create_order", {"user_id": 1}), ("create_order", {"user_id": 2}), ("ping", {})]
    check(text, "minimax_m3", None, expected, TOOLS)


def test_arrays_by_position_and_empty_containers() -> None:
    schema = {
        "properties": {
            "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "boolean"}]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "opts": {"type": "object"},
            "text": {"type": "string"},
        }
    }
    text = _block(
        _invoke(
            "f",
            _e("pair", _e("item", "3") + _e("item", "false")),
            _e("tags", ""),
            _e("opts", ""),
            _e("text", ""),
        )
    )
    check(text, "minimax_m3", None, [("f", {"pair": [3, False], "tags": [], "opts": {}, "text": ""})], [
        {"name": "f", "parameters": schema}
    ])  # fmt: skip


def test_each_argument_goes_out_once_the_next_one_starts() -> None:
    text = _block(_invoke("w", _e("path", "a.txt"), _e("content", "x" * 50)))
    parser = StreamParser("minimax_m3")
    cut = text.index("x" * 50)
    pieces = [c.arguments for d in parser.feed(text[:cut]) for c in d.tool_calls if c.arguments]
    assert "".join(pieces) == '{"path": "a.txt"'
    rest = [c.arguments for d in [*parser.feed(text[cut:]), *parser.finish()] for c in d.tool_calls if c.arguments]
    assert json.loads("".join(pieces + rest)) == {"path": "a.txt", "content": "x" * 50}


_BAD = {
    "mismatched closing tag": _e("a", "1").replace("</a>", "</b>"),
    "text before an element": f"{NS}<a>x{NS}<b>1{NS}</b>{NS}</a>",
    "a parameter without a valid name": f"{NS}<two words>1{NS}</two words>",
    "given again after other parameters": _e("a", "1") + _e("b", "2") + _e("a", "3"),
}


@pytest.mark.parametrize("fault", sorted(_BAD))
def test_a_call_that_cannot_be_read_keeps_its_siblings(fault: str) -> None:
    text = _block(_invoke("ping"), _invoke("bad", _BAD[fault]), _invoke("ping", _e("n", "1")))
    with pytest.raises(ToolCallParseError, match=r"call 2 \('bad'\)") as info:
        parse(text, "minimax_m3")
    assert [(c.name, c.arguments) for c in info.value.tool_calls] == [("ping", {}), ("ping", {"n": "1"})]
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], "minimax_m3"), whole(text, "minimax_m3"))


def test_cut_block_mention_and_stray_closer() -> None:
    with pytest.raises(ToolCallParseError, match="ends inside"):
        cut = f'\n{NS}<invoke name="create_order">{NS}<user_id>2'
        parse(f"plain {NS}<tool_call>\n" + _invoke("ping") + cut, "minimax_m3")
    check(f"plain {NS}<tool_ca", "minimax_m3", f"plain {NS}<tool_ca", [])
    check(f"plain {NS}<b>x{NS}</b>", "minimax_m3", f"plain {NS}<b>x{NS}</b>", [])
    check(_block(_invoke("ping")) + f"\n{NS}</tool_call>\n", "minimax_m3", None, [("ping", {})])
    # read when named only: detection leaves the namespace token alone
    assert parse(_block(_invoke("ping"))).tool_calls == ()


def test_deep_nesting_is_linear_and_no_recursion() -> None:
    depth = 20_000
    body = "".join(f"{NS}<a>" for _ in range(depth)) + "x" + "".join(f"{NS}</a>" for _ in range(depth))
    with pytest.raises(ToolCallParseError, match="nested too deep"):
        parse(_block(_invoke("f", body)), "minimax_m3")


def test_a_call_whose_end_is_missing_fails_alone() -> None:
    """Issue 12, kind 1: the next invoke (spacing after the namespace token included) is where the
    block goes on, so a call without ``</invoke>``, or with a value that runs into the next invoke,
    never takes the next call with it; whole and at every split."""
    for bad in (
        f'{NS}<invoke name="bad">{_e("n", "1")}',  # no </invoke>
        f'{NS}<invoke name="bad">{NS}<n>1',  # a value without its closing tag
        f'{NS}<invoke name="bad">{NS}<n>1{NS}</m>{NS}<x y>',  # a mistyped tag, then a tag that is no element
    ):
        text = _block(_invoke("ping"), bad, f'{NS} \n <invoke name="ping">{_e("n", "2")}{NS}</invoke>')
        with pytest.raises(ToolCallParseError, match=r"call 2 \('bad'\)") as info:
            parse(text, "minimax_m3")
        assert [(c.name, c.arguments) for c in info.value.tool_calls] == [("ping", {}), ("ping", {"n": "2"})]
        for k in range(len(text) + 1):
            assert same(stream([text[:k], text[k:]], "minimax_m3"), whole(text, "minimax_m3"))
    with pytest.raises(ToolCallParseError, match=r"runs into '\]<\]minimax\[>\[<invoke name=\"' before '</n>'"):
        parse(_block(f'{NS}<invoke name="bad">{NS}<n>1', _invoke("ping")), "minimax_m3")


def test_a_block_without_its_closer_ends_after_its_last_call() -> None:
    """As every block format: the calls read are kept and the text after them is content."""
    check(f"{NS}<tool_call>{_invoke('ping')}\nThat is all.", "minimax_m3", "That is all.", [("ping", {})])
