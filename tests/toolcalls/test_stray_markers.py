"""Closing markers left without their block and an empty ``[TOOL_CALLS]``
(:mod:`modelplug.toolcalls.stray_markers`): dropped after the calls when only whitespace follows,
else content; whole and at every split."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelplug.toolcalls.stray_markers import CLOSERS
from tests.strategies import FAMILY, RENDER, calls, prose, splits
from tests.toolcalls._support import check, same, stream, whole

HERMES = '<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>'


@pytest.mark.parametrize(
    ("format", "text"),
    [
        ("hermes", f"{HERMES}</tool_call>\n"),
        ("qwen3_coder", "<tool_call><function=f><parameter=a>1</parameter></function></tool_call></tool_call>"),
        ("lfm2", "<|tool_call_start|>[f(a=1)]<|tool_call_end|><|tool_call_end|>"),
        ("jamba", '<tool_calls>[{"name": "f", "arguments": {"a": 1}}]</tool_calls></tool_calls>'),
        ("gemma4", "<|tool_call>call:f{a:1}<tool_call|><tool_call|>"),
        ("mistral", '[TOOL_CALLS]f{"a": 1}[TOOL_CALLS]'),
        (
            "kimi_k2",
            "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>"
            '{"a": 1}<|tool_call_end|><|tool_calls_section_end|><|tool_calls_section_end|>',
        ),
    ],
)
def test_stray_closing_markers_after_the_calls_are_dropped(format: str, text: str) -> None:
    name = "f"
    arguments: dict[str, Any] = {"a": 1} if format != "qwen3_coder" else {"a": "1"}
    check(text, format, None, [(name, arguments)])
    check(text, None, None, [(name, arguments)])


def test_a_stray_closer_followed_by_prose_or_before_any_call_is_content() -> None:
    check(f"{HERMES} Done </tool_call> really.", "hermes", "Done </tool_call> really.", [("f", {"a": 1})])
    check("Use </tool_call> to end a call", "hermes", "Use </tool_call> to end a call", [])
    check("Hello</tool_call>", "hermes", "Hello</tool_call>", [])
    # the same closer before the first call is content, after it is dropped
    text = f"Use </tool_call> to end a call.\n{HERMES}</tool_call>\n"
    check(text, "hermes", "Use </tool_call> to end a call.", [("f", {"a": 1})])


def test_an_empty_tool_calls_marker_is_no_call() -> None:
    check("Nothing to call.[TOOL_CALLS]", "mistral", "Nothing to call.", [])
    check("[TOOL_CALLS]  ", "mistral", None, [])


@pytest.mark.parametrize("format", sorted(CLOSERS))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_stray_closer_after_the_calls_changes_nothing_in_every_format(format: str, data: st.DataObject) -> None:
    expected = data.draw(calls(FAMILY[format]), label="calls")
    closer = data.draw(st.sampled_from(CLOSERS[format]), label="closer")
    text = RENDER[format](expected, data.draw(prose, label="before"), "")
    clean = whole(text, format)
    assert clean[2] is None
    if closer.endswith(":"):  # a tag with a tokenizer's suffix (Hy's </tool_calls:opensource>)
        closer += "opensource>"
    with_closer = text + closer + "\n"
    got = whole(with_closer, format)
    assert same(got, clean)
    assert same(stream(data.draw(splits(with_closer), label="pieces"), format), clean)


@pytest.mark.parametrize(
    ("format", "text"),
    [
        ("kimi_k3", "<|close|>call<|sep|><|close|>tools<|sep|>"),
        (None, "<|close|>call<|sep|><|close|>tools<|sep|>"),
        ("minimax_m3", "]<]minimax[>[</invoke>]<]minimax[>[</tool_call>"),
    ],
)
def test_a_closer_that_starts_with_a_marker_is_waited_for_at_every_split(format: str | None, text: str) -> None:
    """A pair's closer that begins with one of the format's markers (Kimi K3's ``<|close|>``) is
    told from that marker only once the text after it is in, so every split reads the same."""
    expected = whole(text, format)
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), expected), k
    assert same(stream(list(text), format), expected)
