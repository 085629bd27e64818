"""The block combinator (:mod:`modelplug.toolcalls._blocks`): an unreadable element is recorded
and reading resyncs at the next element, with the same result however the text is split. Every
block format's use of it: ``test_sibling_recovery.py``."""

from __future__ import annotations

import re
from typing import Any

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import parse
from modelplug.toolcalls._blocks import Spaced, read_block, resync
from modelplug.toolcalls._calls import Done, Fail, OfferedTools, Outcome, Unusable
from modelplug.toolcalls._jsoncalls import BlockCalls
from modelplug.toolcalls._source import Read, Source, until
from tests.strategies import RENDER, every_split
from tests.toolcalls._support import run_reader, same, stream, whole


@pytest.mark.parametrize(
    ("text", "found", "end"),
    [
        ("junk <b> more", True, 5),  # a stop: not consumed
        ("junk </e> <b>", True, 9),  # an end first: consumed
        ("junk <b> </e>", True, 5),
        ("junk </c>", True, 5),
        ("junk only", False, 9),  # the text ends first: cursor at the end
        ("junk </e", False, 8),
    ],
)
def test_resync_stops_at_the_first_token_at_every_split(text: str, found: bool, end: int) -> None:
    for pieces in every_split(text):
        assert run_reader(lambda src: resync(src, ("<b>", "</c>"), ("</e>",)), pieces) == (found, end), pieces


def test_resync_waits_for_a_longer_token_that_starts_earlier() -> None:
    """``<bb>`` found first in a piece must not win over a longer token starting before it."""
    text = "x<long<bb>token>"
    for pieces in every_split(text):
        assert run_reader(lambda src: resync(src, ("<bb>", "<long<bb>token>")), pieces) == (True, 1), pieces


_B, _C, _E = Spaced("#", "<b>"), Spaced("#", "</c>"), Spaced("#", "</e>")


@pytest.mark.parametrize(
    ("text", "found", "end"),
    [
        ("junk #  <b> more", True, 5),  # a stop: not consumed, found by its head
        ("junk #\n</e> # <b>", True, 11),  # an end first: consumed with its spacing
        ("junk # x #<b>", True, 9),  # a head without a tail is passed over
        ("junk #</c", False, 9),
        ("junk #   ", False, 9),
        ("## <b>", True, 1),  # the second head is the token's
    ],
)
def test_resync_finds_a_spaced_token_by_its_head_at_every_split(text: str, found: bool, end: int) -> None:
    for pieces in every_split(text):
        assert run_reader(lambda src: resync(src, (_B, _C), (_E,)), pieces) == (found, end), pieces


def _element(src: Source, calls: BlockCalls) -> Any:
    """An element ``<b>NAME;`` (a name of letters; anything else fails) for the tests below."""

    def read(_: str) -> Read[tuple[str, str | None]]:
        a = src.pos
        if not (yield from until(src, ";", 20)) or "<" in src.text(a, src.pos):
            src.i = a - src.base
            return "the element is not closed", None
        name = src.text(a, src.pos)
        src.i += 1
        if not name.isalpha():
            return f"bad name {name!r}", None
        calls.number += 1
        return "", name

    return read


def _block(text: str, *, spaced: bool = False) -> tuple[list[tuple[Any, int]], list[str]]:
    results, errors = [], []
    for pieces in every_split(text):
        calls: BlockCalls | None = None

        def make(src: Source) -> Read[Outcome | None]:
            nonlocal calls
            calls = BlockCalls(OfferedTools(None), "test", src)
            if spaced:
                return read_block(src, calls, _element(src, calls), openers=(_B,), closers=(_C,), ends=(_E,))
            return read_block(src, calls, _element(src, calls), openers=("<b>",), closers=("</c>",), ends=("</e>",))

        outcome, cursor = run_reader(make, pieces)
        assert calls is not None
        results.append((type(outcome), cursor if outcome is None or outcome.end is None else outcome.end))
        errors.append(calls.errors)
    assert len(set(results)) == 1 and len({tuple(e) for e in errors}) == 1, text  # the same at every split
    return results[:1], errors[0]


def test_a_bad_element_is_recorded_and_the_next_ones_are_read() -> None:
    result, errors = _block("<b>a;<b>1x;</e><b>c;</c> after")
    assert result == [(Unusable, 24)]
    assert errors == ["call 2: bad name '1x'"]


def test_resync_at_the_next_opener_when_the_element_end_is_missing() -> None:
    result, errors = _block("<b>a;<b>no end here <b>c;</c>")
    assert result == [(Unusable, 29)]
    assert errors == ["call 2: the element is not closed"]


def test_spaced_tokens_open_end_and_close_a_block() -> None:
    result, errors = _block("# <b>a;#<b>no end here #\n<b>c; #</e> # </c> after", spaced=True)
    assert result == [(Unusable, 43)]  # after the closer
    assert errors == ["call 2: the element is not closed"]


def test_elements_ends_between_elements_are_dropped_and_the_block_may_end_without_closer() -> None:
    result, errors = _block("<b>a;</e> <b>b; prose")
    assert result == [(Done, 15)]
    assert errors == []


def test_the_text_ending_inside_a_bad_element_breaks_the_block() -> None:
    result, errors = _block("<b>a;<b>1x; and the text ends")
    assert result == [(Fail, 29)]  # nothing was announced: a failure, which prose after would make a mention
    assert errors == ["call 2: bad name '1x'"]


def test_no_element_at_the_start_leaves_the_decision_to_the_reader() -> None:
    assert _block("  prose") == ([(type(None), 2)], [])


_LISTS = {  # format -> (opener, closer, what an element opens with)
    "deepseek_v3": ("<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>"),
    "kimi_k2": ("<|tool_calls_section_begin|>", "<|tool_call_section_end|>", "<|tool_call_begin|>"),
    "step3": ("<｜tool_calls_begin｜>", "<｜tool_calls_end｜>", "<｜tool_call_begin｜>"),
    "kimi_k3": ("<|open|>tools<|sep|>", "<|close|>tools<|sep|>", "<|open|>call"),
    "plamo3": ("<|plamo:begin_tool_requests:plamo|>", "<|plamo:end_tool_requests:plamo|>", "a tool request"),
    "minimax_m3": ("]<]minimax[>[<tool_call>", "]<]minimax[>[</tool_call>", "'<invoke name=\"' or "),
}


@pytest.mark.parametrize("format", sorted(_LISTS))
def test_a_special_token_list_where_no_call_starts_is_an_error_through_its_closer(format: str) -> None:
    """``read_special_block``: special tokens are never prose, so a list holding something else
    is an error (``expected ...``) that runs through the closer (Kimi's singular one too), and
    the calls after it are read; a list the text ends in says so."""
    opener, closer, expected = _LISTS[format]
    text = f"{opener}junk{closer}" + RENDER[format]([("f", {"k": "v"})], "", "")
    with pytest.raises(ToolCallParseError, match=re.escape(f"expected {expected}")) as info:
        parse(text, format)
    assert [(c.name, c.arguments) for c in info.value.tool_calls] == [("f", {"k": "v"})]
    for pieces in every_split(text):
        assert same(stream(pieces, format), whole(text, format)), pieces
    name = "the section start" if format == "kimi_k2" else opener
    with pytest.raises(ToolCallParseError, match=re.escape(f"the text ends after {name}")):
        parse(f"{opener} ", format)


@pytest.mark.parametrize(
    ("format", "begin", "call", "args", "end", "close"),
    [
        ("kimi_k2", "<|tool_calls_section_begin|>", "<|tool_call_begin|>functions.{}:{}",
         "<|tool_call_argument_begin|>", "<|tool_call_end|>", "<|tool_calls_section_end|>"),
        ("deepseek_v31", "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>{}", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>",
         "<｜tool▁calls▁end｜>"),
    ],
)
def test_a_broken_call_whose_strings_spell_its_end_token_keeps_the_next_call(
    format: str, begin: str, call: str, args: str, end: str, close: str
) -> None:
    """A call whose JSON never closes and whose strings hold its own end token: it is cut at the
    first end token, and the text after that cut (the rest of its run-on JSON) is passed over up to
    the next call's token, so the next call is read, whole and at every split."""
    first = call.format("f", 0) + args + '{"a": ["' + end + '"], "b": "' + end + '"' + end
    second = call.format("g", 1) + args + '{"k": 1}' + end
    text = begin + first + second + close
    expected = whole(text, format)
    assert isinstance(expected[2], ToolCallParseError) and expected[1] == [("g", {"k": 1})], expected
    for pieces in every_split(text):
        assert same(stream(pieces, format), expected), pieces
