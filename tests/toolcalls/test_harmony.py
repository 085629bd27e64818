"""OpenAI's harmony format written by gpt-oss (:mod:`modelplug.toolcalls.harmony`), whole and at
every split."""

from __future__ import annotations

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import parse
from tests.strategies import every_split
from tests.toolcalls._support import check, reasoning

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
