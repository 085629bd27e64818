"""The content rules of the incremental engine: live content, held-back marker prefixes, think
blocks, whitespace around calls, mentions versus broken calls, and early call announcements."""

from __future__ import annotations

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import StreamParser, parse
from modelplug.types import ChatMessageStreamDelta
from tests.toolcalls._support import merge, same, stream, whole

CALL = '<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>'


def _contents(deltas: list[ChatMessageStreamDelta]) -> str:
    return "".join(d.content or "" for d in deltas)


def test_content_streams_live() -> None:
    parser = StreamParser()
    assert _contents(parser.feed("Hello wor")) == "Hello wor"
    assert _contents(parser.feed("ld, how")) == "ld, how"
    assert _contents(parser.feed(" are you?")) == " are you?"
    assert parser.finish() == []


def test_only_a_possible_marker_is_held() -> None:
    parser = StreamParser("hermes")
    assert _contents(parser.feed("Sure <tool_")) == "Sure"  # the space waits: a call may follow
    assert _contents(parser.feed("s are handy")) == " <tool_s are handy"
    parser = StreamParser("hermes")
    seen = _contents(parser.feed("Sure <tool_")) + _contents(parser.feed(CALL[6:] + " Done."))
    assert seen == "Sure Done."
    assert "<" not in seen


@pytest.mark.parametrize(
    ("format", "marker"),
    [
        (None, "<tool_call>"),
        (None, "[TOOL_CALLS]"),
        (None, "<|tool_calls_section_begin|>"),
        (None, "<｜tool▁calls▁begin｜>"),
        (None, "<|channel|>"),
        ("hermes", "<tool_call>"),
        ("mistral", "[TOOL_CALLS]"),
        ("kimi_k2", "<|tool_calls_section_begin|>"),
        ("deepseek_v3", "<｜tool▁calls▁begin｜>"),
        ("gemma4", "<|tool_call>"),
        ("harmony", "<|start|>"),
        ("phi4_mini_json", "functools["),
    ],
)
def test_no_half_marker_ever_reaches_content(format: str | None, marker: str) -> None:
    text = f"Before {marker}"
    parser = StreamParser(format)
    shown = ""
    for char in text:
        shown += _contents(parser.feed(char))
        assert "Before".startswith(shown), shown


def test_markerless_json_is_held_only_while_it_may_be_a_call() -> None:
    parser = StreamParser("bare_json")
    assert _contents(parser.feed("Set {x} and {")) == "Set {x} and"
    assert _contents(parser.feed('"name": "f", "arguments"')) == ""
    deltas = parser.feed(": {}} then") + parser.finish()
    assert merge(deltas)[1][0]["name"] == "f"
    assert _contents(deltas) == " then"


def test_bracket_is_held_until_it_cannot_be_a_longer_marker() -> None:
    assert parse("[TOOL_CALLS]f{}").tool_calls[0].name == "f"
    assert same(stream(["[", "TOOL", "_CALLS]f", "{}"]), whole("[TOOL_CALLS]f{}"))


def _reasoning(deltas: list[ChatMessageStreamDelta]) -> str:
    return "".join(d.reasoning_content or "" for d in deltas)


def test_calls_inside_a_closed_think_block_are_reasoning() -> None:
    text = f"<think>Maybe {CALL}? No.</think>\nThe answer is 2."
    result = parse(text)
    assert result.tool_calls == ()
    assert result.reasoning_content == f"Maybe {CALL}? No."
    assert result.content == "\nThe answer is 2."
    parser = StreamParser()
    assert _reasoning(parser.feed("<think>Maybe ")) == "Maybe "  # reasoning streams live
    assert parser.feed(CALL) == []  # from a marker inside think, text waits for </think>
    rest = parser.feed("? No.</think>\nThe answer is 2.") + parser.finish()
    assert _reasoning(rest) == CALL + "? No."
    assert _contents(rest) == "\nThe answer is 2."


def test_a_call_in_an_unclosed_think_block_is_a_call() -> None:
    result = parse(f"<think>Let me call it. {CALL}")
    assert [call.name for call in result.tool_calls] == ["f"]
    assert result.reasoning_content == "Let me call it. "
    assert result.content is None


def test_think_then_call() -> None:
    result = parse(f"<think>plan</think>\n\n{CALL}")
    assert result.reasoning_content == "plan"
    assert result.content is None
    assert result.tool_calls[0].arguments == {"a": 1}


@pytest.mark.parametrize(
    ("text", "content"),
    [
        (f"A {CALL} B", "A B"),
        (f"A\n\n{CALL}\n\nB", "A\n\nB"),
        (f"{CALL}\n\nB", "B"),
        (f"A\n{CALL}\n", "A"),
        (f"{CALL}\n{CALL}\n", None),
        ("  Hello\n", "  Hello\n"),
        (f"  Hello {CALL}", "  Hello"),
    ],
)
def test_whitespace_around_calls(text: str, content: str | None) -> None:
    assert parse(text).content == content
    assert stream(list(text))[0] == content


def test_a_mentioned_marker_is_content() -> None:
    text = 'Write <tool_call>{"name": ...}</tool_call> to call a tool.'
    assert parse(text).content == text
    assert parse("The <tool_call> tag.").content == "The <tool_call> tag."


@pytest.mark.parametrize(
    "text",
    [
        '<tool_call>{"name": ...}</tool_call>',
        '<tool_call>{"name": ...}</tool_call>\n\n',
        '<tool_call>{"name": ...}</tool_call>' + CALL,
        "Okay.<tool_call>",
    ],
)
def test_a_broken_call_at_the_end_or_before_another_block_is_an_error(text: str) -> None:
    with pytest.raises(ToolCallParseError) as info:
        parse(text)
    assert info.value.content is not None and "<tool_call>" in info.value.content
    assert same(stream(list(text)), whole(text))


def test_a_name_goes_out_before_the_arguments() -> None:
    parser = StreamParser()
    deltas = parser.feed('<tool_call>{"name": "write_file", "arguments": {"content": "lots of te')
    piece, written = [p for d in deltas for p in d.tool_calls]
    assert (piece.index, piece.name, piece.arguments) == (0, "write_file", None)
    assert piece.id and piece.id.startswith("call_")
    # the string argument streams as it is written
    assert (written.index, written.id, written.name, written.arguments) == (0, None, None, '{"content": "lots of te')
    later = parser.feed('xt"}}</tool_call>') + parser.finish()
    (args,) = [p for d in later for p in d.tool_calls]
    assert (args.index, args.id, args.name, args.arguments) == (0, None, None, 'xt"}')


@pytest.mark.parametrize(
    ("text", "name_visible_after"),
    [
        ('<tool_call>{"name": "f", "arguments": {', '"f"'),
        ('[TOOL_CALLS]f{"a": ', "{"),
        ("<tool_call>\n<function=f>\n<parameter=a>", "<function=f>"),
        ("<tool_call>f\n<arg_key>", "<arg_key>"),
        ('<minimax:tool_call><invoke name="f">', ">"),
        ("<|tool_call>call:f{", "{"),
        ("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{", "{"),
        ("<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{", "{"),
        ("<|channel|>commentary to=functions.f <|constrain|>json<|message|>{", "{"),
    ],
)
def test_early_names_in_each_family(text: str, name_visible_after: str) -> None:
    parser = StreamParser()
    names = [p.name for d in parser.feed(text) for p in d.tool_calls]
    assert names == ["f"], text


def test_unknown_tools_are_not_announced() -> None:
    parser = StreamParser(tools=[{"name": "g"}])
    assert parser.feed('<tool_call>{"name": "f", "arguments": {') == []
    with pytest.raises(ToolCallParseError):
        parser.feed("}}</tool_call>")
        parser.finish()


def test_a_list_streams_call_by_call() -> None:
    parser = StreamParser("smollm2")
    deltas = parser.feed('<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "argum')
    pieces = [p for d in deltas for p in d.tool_calls]
    assert [(p.index, p.name) for p in pieces if p.name] == [(0, "a"), (1, "b")]
    assert [p.arguments for p in pieces if p.index == 0] == [None, "{}"]


def test_deltas_keep_order_and_merge_text() -> None:
    deltas = StreamParser().feed(f"One {CALL} two {CALL} three")
    kinds = ["content" if d.content else "tool" for d in deltas]
    assert kinds == ["content", "tool", "tool", "content", "tool", "tool", "content"]
