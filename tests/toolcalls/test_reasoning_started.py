"""Issue 12, kind 4: a reasoning span whose opener was in the prompt (Qwen3's and DeepSeek-R1's
chat templates end the generation prompt with ``<think>``): with ``reasoning_started`` the text
before the closer is ``reasoning_content``; whole text and every split agree."""

from __future__ import annotations

from typing import Any

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import FORMATS, StreamParser, open_span, parse
from modelplug.types import ChatMessageStreamDelta
from tests.strategies import RENDER
from tests.toolcalls._support import merge

HERMES = '<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>'


def _streamed(pieces: list[str], format: str | None, started: bool | str) -> tuple[Any, ...]:
    parser = StreamParser(format, reasoning_started=started)
    deltas: list[ChatMessageStreamDelta] = []
    error = None
    for piece in pieces:
        deltas += parser.feed(piece)
    try:
        deltas += parser.finish()
    except ToolCallParseError as exc:
        error = exc
        deltas += exc.deltas  # type: ignore[attr-defined]
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
