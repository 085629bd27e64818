"""Reasoning spans (:mod:`modelplug.toolcalls.reasoning`). A call quoted inside a reasoning span is
reasoning, not a call, and the span goes to ``reasoning_content``. A span whose opener was in the
prompt (Qwen3's and DeepSeek-R1's chat templates end the generation prompt with ``<think>``): with
``reasoning_started`` the text before the closer is ``reasoning_content``. Streamed and whole-text
parses agree at every split."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import FORMATS, StreamParser, open_span, parse
from tests.strategies import FAMILY, RENDER, THINK_SPANS, calls, prose, splits
from tests.toolcalls._support import feed_all, merge, reasoning, same, stream, whole

HERMES = '<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>'


def _every_split_agrees(text: str, format: str | None) -> None:
    expected, thought = whole(text, format), reasoning([text], format)
    for k in range(len(text) + 1):
        pieces = [text[:k], text[k:]]
        assert same(stream(pieces, format), expected), k
        assert reasoning(pieces, format) == thought, k
    assert reasoning(list(text), format) == thought


@pytest.mark.parametrize(
    ("format", "text", "thought", "content", "names"),
    [
        ("hermes", f"<think>I could {HERMES}.</think>Done.", f"I could {HERMES}.", "Done.", []),
        (None, f"<think>I could {HERMES}.</think>{HERMES}", f"I could {HERMES}.", None, ["f"]),
        (
            "seed_oss",
            "<seed:think>maybe <seed:tool_call><function=f></function></seed:tool_call></seed:think>"
            "<seed:tool_call><function=g><parameter=x>1</parameter></function></seed:tool_call>",
            "maybe <seed:tool_call><function=f></function></seed:tool_call>",
            None,
            ["g"],
        ),
        (
            "gemma4",
            "<|channel>thought\nI could <|tool_call>call:f{a:1}<tool_call|><channel|>Fine.",
            "I could <|tool_call>call:f{a:1}<tool_call|>",
            "Fine.",
            [],
        ),
        (
            "harmony",
            f"<|channel|>analysis<|message|>I could {HERMES}<|end|>"
            "<|start|>assistant<|channel|>commentary to=functions.g <|constrain|>json<|message|>{}<|call|>",
            f"I could {HERMES}",
            None,
            ["g"],
        ),
    ],
)
def test_a_call_quoted_in_a_reasoning_span_is_reasoning(
    format: str | None, text: str, thought: str, content: str | None, names: list[str]
) -> None:
    for mode in (format, None):
        result = parse(text, mode)
        assert result.reasoning_content == thought
        assert result.content == content
        assert [call.name for call in result.tool_calls] == names
        _every_split_agrees(text, mode)


def test_reasoning_streams_live_until_a_marker_then_waits_for_the_closer() -> None:
    parser = StreamParser("hermes")
    assert [d.reasoning_content for d in parser.feed("<think>Let me see")] == ["Let me see"]
    assert [d.reasoning_content for d in parser.feed(" <tool_call>{")] == [" "]  # up to the marker
    assert parser.feed('"name": "f"}</tool_call> no.') == []  # held: the span may never close
    later = parser.feed("</think>Answer") + parser.finish()
    assert "".join(d.reasoning_content or "" for d in later) == '<tool_call>{"name": "f"}</tool_call> no.'
    assert parser.result.reasoning_content == 'Let me see <tool_call>{"name": "f"}</tool_call> no.'
    assert parser.result.content == "Answer"
    assert parser.result.tool_calls == ()


def test_a_span_that_never_closes_gives_its_calls_back() -> None:
    text = f"<think>Plan: call it. {HERMES}"
    result = parse(text)
    assert result.reasoning_content == "Plan: call it. "
    assert [call.name for call in result.tool_calls] == ["f"]
    _every_split_agrees(text, "hermes")


def test_a_span_that_never_closes_without_a_marker_is_all_reasoning() -> None:
    result = parse("<think>thinking until the budget ran out")
    assert result.reasoning_content == "thinking until the budget ran out"
    assert result.content is None


def test_tags_around_reasoning_are_not_content() -> None:
    assert parse("<think>a</think>b<think>c</think>").reasoning_content == "ac"
    assert parse("<think>a</think>b<think>c</think>").content == "b"
    assert parse("x </think> y").content == "x </think> y"  # a stray closer is text


@pytest.mark.parametrize("format", [None, "hermes", "smollm2"])
def test_the_first_closer_ends_the_span_as_in_upstream_reasoning_parsers(format: str | None) -> None:
    # vLLM's and SGLang's reasoning parsers split at the first </think>: a closer the model writes
    # inside its reasoning ends the span there, and the rest, a second </think> included, is content
    text = "<think>the tag </think> ends it</think>Answer " + HERMES
    result = parse(text, format)
    assert result.reasoning_content == "the tag "
    assert result.content == " ends it</think>Answer"
    assert [c.name for c in result.tool_calls] == ["f"]
    _every_split_agrees(text, format)


@pytest.mark.parametrize("format", sorted(THINK_SPANS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_calls_quoted_in_every_span_of_every_format(format: str, data: st.DataObject) -> None:
    opener, closer = data.draw(st.sampled_from(THINK_SPANS[format]), label="span")
    quoted = data.draw(calls(FAMILY[format]), label="quoted")
    real = data.draw(calls(FAMILY[format]), label="real")
    inner = RENDER[format](quoted, data.draw(prose, label="thinking"), "")
    assume(closer not in inner)  # the first closer ends a span, even inside a quoted string
    text = opener + inner + closer + RENDER[format](real, "", data.draw(prose, label="after"))
    result = parse(text, format)
    assert result.reasoning_content == (inner or None)
    assert [(call.name, call.arguments) for call in result.tool_calls] == real
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format), whole(text, format))
    assert reasoning(pieces, format) == result.reasoning_content


def _streamed(pieces: list[str], format: str | None, started: bool | str) -> tuple[Any, ...]:
    deltas, error = feed_all(StreamParser(format, reasoning_started=started), pieces)
    content, calls, thought = merge(deltas)
    return content, [(c["name"], c["arguments"]) for c in calls], thought, error is None


def _whole(text: str, format: str | None, started: bool | str) -> tuple[Any, ...]:
    try:
        result = parse(text, format, reasoning_started=started)
    except ToolCallParseError as exc:
        return exc.content, [(c.name, c.arguments) for c in exc.tool_calls], None, False
    calls = [(c.name, c.arguments) for c in result.tool_calls]
    return result.content, calls, result.reasoning_content, True


def _check(text: str, format: str | None, started: bool | str, expected: tuple[Any, ...]) -> None:
    assert _whole(text, format, started) == expected
    for k in range(len(text) + 1):
        assert _streamed([text[:k], text[k:]], format, started) == expected, k
    assert _streamed(list(text), format, started) == expected


@pytest.mark.parametrize("format", ["hermes", "qwen3_coder", "deepseek_v3", None])
def test_text_before_the_closer_is_reasoning(format: str | None) -> None:
    call = RENDER[format or "hermes"]([("f", {"a": "x"})], "", "")
    text = f"The user asks; I could write {HERMES} here.</think>\n\nSure.{call}"
    thought = f"The user asks; I could write {HERMES} here."
    _check(text, format, True, ("\n\nSure.", [("f", {"a": "x"})], thought, True))


@pytest.mark.parametrize("format", FORMATS)
def test_every_format_can_start_inside_think(format: str) -> None:
    _check("plan</think>Answer.", format, True, ("Answer.", [], "plan", True))


def test_without_the_argument_the_text_before_the_closer_stays_content() -> None:
    assert _whole("plan</think>Answer.", "hermes", False) == ("plan</think>Answer.", [], None, True)


def test_a_span_that_never_closes_is_reasoning_up_to_a_call() -> None:
    _check("still thinking", "hermes", True, (None, [], "still thinking", True))
    _check(f"thinking then {HERMES}", "hermes", True, (None, [("f", {"a": 1})], "thinking then ", True))


def test_other_span_openers_and_offsets() -> None:
    _check("plan</seed:think>Answer.", "seed_oss", "<seed:think>", ("Answer.", [], "plan", True))
    with pytest.raises(ToolCallParseError) as caught:
        parse('a</think><tool_call>{"name": 1}</tool_call>', "hermes", reasoning_started=True)
    assert caught.value.offset == len("a</think>")  # offsets are the text's, the opener is not in it
    assert caught.value.text == 'a</think><tool_call>{"name": 1}</tool_call>'


def test_a_bad_opener_is_refused() -> None:
    with pytest.raises(ValueError, match="does not open a reasoning span"):
        StreamParser("hermes", reasoning_started="<seed:think>")
    with pytest.raises(ValueError, match="does not open a reasoning span"):
        parse("x", "hermes", reasoning_started="<tool_call>")


@pytest.mark.parametrize(
    ("prompt", "format", "opener"),
    [
        ("<|im_start|>assistant\n<think>\n", None, "<think>"),
        ("<｜Assistant｜><think>\n", "deepseek_v3", "<think>"),
        ("<|im_start|>assistant\n<think>\n\n</think>\n\n", None, None),  # thinking turned off
        ("<|im_start|>user\nwhat is <think>?<|im_end|>\n<|im_start|>assistant\n", None, None),
        ("<seed:think>", "seed_oss", "<seed:think>"),
        ("<seed:think>", "hermes", None),
        ("<|turn>model\n<|channel>thought\n", "gemma4", "<|channel>thought"),
    ],
)
def test_open_span_reads_the_end_of_a_rendered_prompt(prompt: str, format: str | None, opener: str | None) -> None:
    assert open_span(prompt, format) == opener


#: The tools the span table offers: ``f`` is quoted inside the span, ``g`` is called after it.
_TOOLS = [
    {"name": name, "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}} for name in ("f", "g")
]
#: Every kind of reasoning span (kind 4 of issue 12): (format, opener, closer, a call of the
#: format quoted inside the span, a call of the format to ``g`` after it). The quoted call is
#: written with the span's own format where its markup can stand inside the span (an Inkling
#: block ends at the next content token, so its quote is a call object and a hermes call).
SPAN_TABLE = [
    ("hermes", "<think>", "</think>", HERMES, '<tool_call>{"name": "g", "arguments": {"a": 2}}</tool_call>'),
    (
        "seed_oss",
        "<seed:think>",
        "</seed:think>",
        "<seed:tool_call><function=f><parameter=a>1</parameter></function></seed:tool_call>",
        "<seed:tool_call><function=g><parameter=a>2</parameter></function></seed:tool_call>",
    ),
    (
        "gemma4",
        "<|channel>thought\n",
        "<channel|>",
        "<|tool_call>call:f{a:1}<tool_call|>",
        "<|tool_call>call:g{a:2}<tool_call|>",
    ),
    (
        "harmony",
        "<|channel|>analysis<|message|>",
        "<|end|>",
        f'to=functions.f {{"a": 1}} or {HERMES}',
        '<|start|>assistant<|channel|>commentary to=functions.g <|constrain|>json<|message|>{"a": 2}<|call|>',
    ),
    (
        "cohere_command4",
        "<|START_THINKING|>",
        "<|END_THINKING|>",
        '<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "f", "parameters": {"a": 1}}]<|END_ACTION|>',
        '<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "g", "parameters": {"a": 2}}]<|END_ACTION|>',
    ),
    (
        "hy_v3",
        "<think:opensource>",
        "</think:opensource>",
        "<tool_calls><tool_call>f<tool_sep><arg_key>a</arg_key><arg_value>1</arg_value></tool_call></tool_calls>",
        "<tool_calls><tool_call>g<tool_sep><arg_key>a</arg_key><arg_value>2</arg_value></tool_call></tool_calls>",
    ),
    (
        "muse_glimmer",
        "<|start|>assistant to=self<|message|>",
        "<|eom|>",
        '<atem:function_calls><atem:invoke name="f"><atem:parameter name="a">1</atem:parameter></atem:invoke>'
        "</atem:function_calls>",
        "<|start|>assistant to=g<|message|><atem:function_calls><atem:invoke name=\"g\">"
        '<atem:parameter name="a">2</atem:parameter></atem:invoke></atem:function_calls><|eom|>',
    ),
    (
        "inkling",
        "<|message_model|><|content_thinking|>",
        "<|end_message|>",
        f'{{"name": "f", "args": {{"a": 1}}}} or {HERMES}',
        '<|message_model|>g<|content_invoke_tool_json|>{"name": "g", "args": {"a": 2}}<|end_message|>',
    ),
]


def _read(pieces: list[str], format: str | None, tools: Any, calls: bool) -> tuple[Any, ...]:
    """(content, [(name, arguments)], reasoning, error or None) of a StreamParser fed ``pieces``."""
    deltas, error = feed_all(StreamParser(format, tools, calls=calls), pieces)
    content, merged, thought = merge(deltas)
    return content, [(c["name"], c["arguments"]) for c in merged], thought, error


@pytest.mark.parametrize(("format", "opener", "closer", "quoted", "real"), SPAN_TABLE, ids=[r[0] for r in SPAN_TABLE])
@pytest.mark.parametrize("detect", [False, True], ids=["named", "detected"])
@pytest.mark.parametrize("tools", [True, False], ids=["tools", "no-tools"])
def test_a_call_quoted_in_every_kind_of_span_is_reasoning(
    format: str, opener: str, closer: str, quoted: str, real: str, detect: bool, tools: bool
) -> None:
    """With tools the call after the span is read and the quoted one is not; without tools
    (``calls=False``, the core's reading when none were given) the span is split all the same
    and the call after it stays content as written. Whole and streamed at every split."""
    thought = f"I could {quoted} here."
    text = f"{opener}{thought}{closer}{real}"
    mode = None if detect else format
    expected = (None, [("g", {"a": 2})], thought, None) if tools else (real, [], thought, None)
    offered = _TOOLS if tools else None
    result = parse(text, mode, offered, calls=tools)
    assert (result.content, [(c.name, c.arguments) for c in result.tool_calls], result.reasoning_content, None) == (
        expected
    )
    for k in range(len(text) + 1):
        assert _read([text[:k], text[k:]], mode, offered, tools) == expected, k
    assert _read(list(text), mode, offered, tools) == expected
