"""OpenAI's harmony format written by gpt-oss (:mod:`modelplug.toolcalls.harmony`), whole and at
every split."""

from __future__ import annotations

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import parse
from tests.strategies import every_split
from tests.toolcalls._support import check, reasoning, same, stream, whole

ANALYSIS = "<|channel|>analysis<|message|>The user wants the weather.<|end|>"
CALL = (
    "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
    '{"city": "Paris"}<|call|>'
)
FINAL = "<|start|>assistant<|channel|>final<|message|>It is sunny.<|return|>"


@pytest.mark.parametrize("format", ["harmony", None])
def test_analysis_is_reasoning_a_recipient_is_a_call_and_final_is_content(format: str | None) -> None:
    text = ANALYSIS + CALL + FINAL
    check(text, format, "It is sunny.", [("get_weather", {"city": "Paris"})])
    for pieces in every_split(text):
        assert reasoning(pieces, format) == "The user wants the weather.", pieces


def test_the_recipient_may_be_in_the_role_and_an_empty_body_is_no_arguments() -> None:
    text = "<|start|>assistant to=functions.ping<|channel|>commentary json<|message|><|call|>"
    check(text, "harmony", None, [("ping", {})])


def test_commentary_without_a_recipient_is_content() -> None:
    check("<|channel|>commentary<|message|>Checking first.<|end|>", "harmony", "Checking first.", [])


def test_a_body_cut_inside_its_json_is_an_error() -> None:
    with pytest.raises(ToolCallParseError):
        parse('<|channel|>commentary to=functions.f<|message|>{"city": "Par', "harmony")


def _broken(text: str, format: str | None) -> ToolCallParseError:
    """``text`` parses to an error, and streams to the same outcome at every split."""
    outcome = whole(text, format)
    assert isinstance(outcome[2], ToolCallParseError), outcome
    for pieces in every_split(text):
        assert same(stream(pieces, format), outcome), pieces
    return outcome[2]


@pytest.mark.parametrize("format", ["harmony", None])
def test_a_call_header_closed_before_its_body_is_that_call_error_and_the_next_message_is_read(
    format: str | None,
) -> None:
    head = "<|start|>assistant<|channel|>commentary to=functions."
    text = head + "a <|constrain|>json<|call|>" + head + 'b <|constrain|>json<|message|>{"k": 2}<|call|>'
    error = _broken(text, format)
    # b's arguments are never given to a; a is named; the text of the broken message stays
    assert [(c.name, c.arguments) for c in error.tool_calls] == [("b", {"k": 2})]
    assert "'a'" in str(error)
    assert error.content == head + "a <|constrain|>json<|call|>"


def test_a_header_closed_before_its_body_without_a_recipient_is_text_not_lost() -> None:
    text = "<|channel|>final<|end|> hi <|channel|>final<|message|>ok<|return|>"
    check(text, "harmony", "<|channel|>final<|end|> hi ok", [])


@pytest.mark.parametrize("recipient", ["functions.", "", "<think>x", "[TOOL_CALLS]"])
def test_a_recipient_that_names_no_tool_is_an_error_whole_and_streamed(recipient: str) -> None:
    text = f'<|channel|>commentary to={recipient}<|message|>{{"a": 1}}<|call|>'
    error = _broken(text, "harmony")
    assert error.tool_calls == ()
    assert "names no tool" in str(error)
