"""Issue 12, kind 3: real-world malformations that vLLM and SGLang recover, recovered when the
text is unambiguous, else ``ToolCallParseError``; every case whole and at every split."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import parse
from modelplug.toolcalls.stray_markers import CLOSERS
from tests.strategies import FAMILY, RENDER, calls, prose, splits
from tests.toolcalls._support import same, stream, whole

HERMES = '<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>'
STEP_P = '<steptml:parameter name="city">Paris</steptml:parameter>'


def _check(text: str, format: str | None, content: str | None, names: list[tuple[str, Any]]) -> None:
    result = parse(text, format)
    assert [(call.name, call.arguments) for call in result.tool_calls] == names
    assert result.content == content
    expected = whole(text, format)
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), expected), k
    assert same(stream(list(text), format), expected)


@pytest.mark.parametrize("format", ["glm47", "glm45", None])
def test_glm_value_without_its_opener(format: str | None) -> None:
    text = (
        "<tool_call>search<arg_key>query</arg_key>vacation days</arg_value>"
        "<arg_key>n</arg_key><arg_value>2</arg_value></tool_call>"
    )
    _check(text, format, None, [("search", {"query": "vacation days", "n": "2"})])


def test_glm_value_without_opener_or_closer_is_an_error() -> None:
    with pytest.raises(ToolCallParseError, match="ends inside a parameter value"):
        parse("<tool_call>search<arg_key>query</arg_key>vacation days</tool_call>", "glm47")


@pytest.mark.parametrize("format", ["step3", None])
@pytest.mark.parametrize(
    "body",
    [
        f'<｜tool_call_begin｜><steptml:invoke name="get_weather">{STEP_P}</steptml:invoke><｜tool_call_end｜>',
        f'<steptml:invoke name="get_weather">{STEP_P}</steptml:invoke>',
        f'<｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke name="get_weather">{STEP_P}</steptml:invoke>',
    ],
    ids=["no-type-and-separator", "invoke-alone", "full-form"],
)
def test_step3_short_call_form(format: str | None, body: str) -> None:
    text = f"Sure.<｜tool_calls_begin｜>{body}<｜tool_calls_end｜>"
    _check(text, format, "Sure.", [("get_weather", {"city": "Paris"})])


#: The JSON-bodied formats that read call objects in a ```json fence when the format is named.
FENCED = [
    "mistral",
    "llama3_json",
    "phi4_mini_json",
    "xlam",
    "bare_json",
    "hermes",
    "smollm2",
    "granite",
    "internlm2",
    "jamba",
    "minimax",
    "hunyuan_a13b",
]


@pytest.mark.parametrize("format", [*FENCED, None])
def test_fenced_json_calls_under_a_named_format(format: str) -> None:
    text = 'Calling:\n```json\n[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {}}]\n```\nDone.'
    _check(text, format, "Calling:\nDone.", [("f", {"a": 1}), ("g", {})])


@pytest.mark.parametrize("format", FENCED)
def test_a_fenced_call_object_next_to_the_formats_own_calls(format: str) -> None:
    own = RENDER[format]([("g", {"b": "x"})], "", "")
    text = f'First:\n```\n{{"name": "f", "parameters": {{"a": 1}}}}\n```\n{own}'
    _check(text, format, "First:", [("f", {"a": 1}), ("g", {"b": "x"})])


_NOT_CALLS = {
    "object": '```json\n{"name": "my-app", "version": "1.0"}\n```',
    "broken": '```json\n{"name": "f", "arguments": {"a": 1}\n```',
    "mixed-list": '```json\n[{"name": "f", "arguments": {}}, 2]\n```',
    "python": '```python\n{"name": "f", "arguments": {}}\n```',  # read as a bare call where `{` opens one
    "backticks": "```\n`code` and ``more``\n```",
}
_BARE = ("llama3_json", "xlam", "bare_json")


@pytest.mark.parametrize(
    ("format", "fenced"),
    [
        pytest.param(format, text, id=f"{name}-{format}")
        for name, text in _NOT_CALLS.items()
        for format in FENCED
        if not (name == "python" and format in _BARE)
    ],
)
def test_a_fenced_block_that_is_not_call_shaped_stays_content(format: str, fenced: str) -> None:
    text = f"Config:\n{fenced}\nThat is all."
    _check(text, format, text, [])


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
    _check(text, format, None, [(name, arguments)])
    _check(text, None, None, [(name, arguments)])


def test_a_stray_closer_followed_by_prose_or_before_any_call_is_content() -> None:
    _check(f"{HERMES} Done </tool_call> really.", "hermes", "Done </tool_call> really.", [("f", {"a": 1})])
    _check("Use </tool_call> to end a call", "hermes", "Use </tool_call> to end a call", [])
    _check("Hello</tool_call>", "hermes", "Hello</tool_call>", [])


def test_an_empty_tool_calls_marker_is_no_call() -> None:
    _check("Nothing to call.[TOOL_CALLS]", "mistral", "Nothing to call.", [])
    _check("[TOOL_CALLS]  ", "mistral", None, [])


@pytest.mark.parametrize("format", sorted(CLOSERS))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_stray_closer_after_the_calls_changes_nothing_in_every_format(format: str, data: st.DataObject) -> None:
    expected = data.draw(calls(FAMILY[format]), label="calls")
    closer = data.draw(st.sampled_from(CLOSERS[format]), label="closer")
    text = RENDER[format](expected, data.draw(prose, label="before"), "")
    clean = whole(text, format)
    assert clean[2] is None
    with_closer = text + closer + "\n"
    got = whole(with_closer, format)
    assert same(got, clean)
    assert same(stream(data.draw(splits(with_closer), label="pieces"), format), clean)
