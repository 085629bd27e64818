"""Issue 12, kind 4: a call quoted inside a reasoning span is reasoning, not a call, and the span
goes to ``reasoning_content``; streamed and whole-text parses agree at every split."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modelplug.toolcalls import StreamParser, parse
from tests.strategies import FAMILY, RENDER, THINK_SPANS, calls, prose, splits
from tests.toolcalls._support import reasoning, same, stream, whole

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
