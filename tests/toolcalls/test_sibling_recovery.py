"""Issue 12, kind 1: of k calls where one cannot be used, the k-1 others are kept, in every format;
the error names the failed call and carries the others. Whole text and streamed at random splits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import FORMATS
from modelplug.types import Tool
from tests.strategies import FAMILY, RENDER, arguments, splits
from tests.toolcalls._support import same, stream, whole

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Formats without a marker: a call to a tool that was not offered is not a call there, but prose.
MARKERLESS = ("bare_json", "xlam", "llama3_json")

#: Structural faults inside one call of a block of several (the call named ``n``), per format whose
#: blocks hold several calls: a parameter without a name, or a value that is not the JSON it says.
BREAK: dict[str, Any] = {
    "minimax_m2": lambda text, n: text.replace(
        f'<invoke name="{n}">', f'<invoke name="{n}"><parameter name=>x</parameter>'
    ),
    "deepseek_v32": lambda text, n: text.replace(
        f'<｜DSML｜invoke name="{n}">',
        f'<｜DSML｜invoke name="{n}"><｜DSML｜parameter name="k" string="false">{{bad</｜DSML｜parameter>',
    ),
    "step3": lambda text, n: text.replace(
        f'<steptml:invoke name="{n}">', f'<steptml:invoke name="{n}"><steptml:parameter name="">x</steptml:parameter>'
    ),
    "qwen3_coder": lambda text, n: text.replace(f"<function={n}>", f"<function={n}>\n<parameter=>x</parameter>"),
    "seed_oss": lambda text, n: text.replace(f"<function={n}>", f"<function={n}>\n<parameter=>x</parameter>"),
    # JSON arguments that do not read, between the call's special tokens
    "deepseek_v3": lambda text, n: text.replace(f"{n}\n```json\n{{", f"{n}\n```json\n{{,"),
    "deepseek_v31": lambda text, n: text.replace(f"{n}<｜tool▁sep｜>{{", f"{n}<｜tool▁sep｜>{{,"),
    "kimi_k2": lambda text, n: re.sub(rf"(functions\.{n}:\d+<\|tool_call_argument_begin\|>)\{{", r"\1{,", text),
}


def _one_block(format: str, text: str) -> str:
    """qwen3_coder / seed_oss rendered one call per wrapper: put them all in one wrapper."""
    if format == "qwen3_coder":
        return text.replace("</tool_call>\n<tool_call>\n", "")
    if format == "seed_oss":
        return text.replace("</seed:tool_call>\n<seed:tool_call>\n", "")
    return text


def _check(text: str, format: str, tools: list[Tool] | None, kept: list[tuple[str, Any]], bad: str, data: Any) -> None:
    expected = whole(text, format, tools)
    error = expected[2]
    assert isinstance(error, ToolCallParseError), text
    assert expected[1] == kept
    assert f"({bad!r})" in str(error)  # the failed call is named
    assert [(c.name, c.arguments) for c in error.tool_calls] == kept
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format, tools), expected)


@pytest.mark.parametrize("format", [f for f in FORMATS if f not in MARKERLESS])
@SETTINGS
@given(data=st.data(), k=st.integers(2, 4))
def test_a_call_to_a_tool_not_offered_keeps_its_siblings(format: str, data: Any, k: int) -> None:
    bad = data.draw(st.integers(0, k - 1), label="bad")
    args = [data.draw(arguments(FAMILY[format]), label=f"arguments {i}") for i in range(k)]
    calls = [(f"tool_{i}", a) for i, a in enumerate(args)]
    tools = [Tool(name, "", {"type": "object"}) for i, (name, _) in enumerate(calls) if i != bad]
    text = RENDER[format](calls, "Let me check.", "")
    kept = [call for i, call in enumerate(calls) if i != bad]
    expected = whole(text, format, None)  # without tools: every call reads (the arguments, as read)
    assert expected[2] is None and len(expected[1]) == k
    kept = [read for i, read in enumerate(expected[1]) if i != bad]
    _check(text, format, tools, kept, f"tool_{bad}", data)


@pytest.mark.parametrize("format", sorted(BREAK))
@SETTINGS
@given(data=st.data(), k=st.integers(2, 4))
def test_a_broken_call_in_a_block_keeps_the_calls_after_it(format: str, data: Any, k: int) -> None:
    bad = data.draw(st.integers(0, k - 1), label="bad")
    calls = [(f"tool_{i}", data.draw(arguments("xml"), label=f"arguments {i}")) for i in range(k)]
    good = _one_block(format, RENDER[format](calls, "Let me check.", ""))
    expected = whole(good, format)
    assert expected[2] is None and len(expected[1]) == k
    text = BREAK[format](good, f"tool_{bad}")
    assert text != good
    kept = [read for i, read in enumerate(expected[1]) if i != bad]
    _check(text, format, None, kept, f"tool_{bad}", data)
