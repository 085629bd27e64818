"""Every case of tests/data/toolcall_cases.jsonl, whole-text and streamed at every split.

Each case runs with its own format and with format detection (``format=None``). Cases listed in
``KNOWN_DISAGREEMENTS`` (see KNOWN_DISAGREEMENTS.md) are expected to fail, strictly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.strategies import every_split
from tests.toolcalls._support import REASONING_OPENERS, norm, reasoning, same, stream, whole

DATA = Path(__file__).parents[1] / "data"
CASES: list[dict[str, Any]] = [
    json.loads(line)
    for line in (DATA / "toolcall_cases.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]

#: Case id -> why the expectation is believed wrong (keep in sync with KNOWN_DISAGREEMENTS.md).
#: These cases expect an attempted call to be dropped silently; issue 12 (kind 1) makes it an error
#: that keeps the readable calls, so only their whole-text expectation disagrees (test_recovery.py
#: asserts what happens instead). Streaming still agrees with the whole-text parse on every split.
_SILENT_DROP = "an attempted call that cannot be used is an error carrying the readable calls, not dropped"
KNOWN_DISAGREEMENTS: dict[str, str] = dict.fromkeys(
    ["kimik2-008-malformed-id-skipped", "pythonic-010-bad-sibling-bytes", "qwen3coder-014-bad-function-tag-then-valid"],
    _SILENT_DROP,
)

MODES = ("format", "detect")


def _params(*, expectations: bool = True) -> list[Any]:
    params = []
    for case in CASES:
        for mode in MODES:
            marks = []
            if expectations and case["id"] in KNOWN_DISAGREEMENTS:
                marks.append(pytest.mark.xfail(reason=KNOWN_DISAGREEMENTS[case["id"]], strict=True))
            params.append(pytest.param(case, mode, id=f"{case['id']}-{mode}", marks=marks))
    return params


def _format(case: dict[str, Any], mode: str) -> str | None:
    return case["format"] if mode == "format" else None


def test_fixture_count() -> None:
    assert len(CASES) == 85
    assert len({case["id"] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("case", "mode"), _params())
def test_whole_text(case: dict[str, Any], mode: str) -> None:
    content, calls, error = whole(case["text"], _format(case, mode), case.get("tools"))
    expected = [(call["name"], call["arguments"]) for call in case["expected_tool_calls"]]
    assert calls == expected
    expected_content, expected_reasoning = _split_thinking(case["expected_content"])
    assert norm(content) == norm(expected_content)
    if "<think>" in case["text"]:
        assert reasoning([case["text"]], _format(case, mode), case.get("tools")) == expected_reasoning
    if case.get("expect_error"):
        assert error is not None, "a call that cannot be used must raise ToolCallParseError"
        assert error.text == case["text"]
        assert error.format
        assert 0 <= error.offset < len(case["text"])
    else:
        assert error is None


_THINK_SPAN = re.compile(r"<think>(.*?)</think>", re.DOTALL)


def _split_thinking(content: str | None) -> tuple[str | None, str | None]:
    """The fixtures come from tool parsers that leave ``<think>`` spans in the content (vLLM and
    SGLang strip them with a separate reasoning parser); modelplug moves them to
    ``reasoning_content`` in the same pass (issue 12, kind 4). So: (content without the spans,
    the spans' text)."""
    if content is None:
        return None, None
    spans = _THINK_SPAN.findall(content)
    return _THINK_SPAN.sub("", content), "".join(spans) or None


@pytest.mark.parametrize(("case", "mode"), _params(expectations=False))
def test_every_split_agrees(case: dict[str, Any], mode: str) -> None:
    text, format, tools = case["text"], _format(case, mode), case.get("tools")
    expected = whole(text, format, tools)
    for pieces in every_split(text, random_splits=10):
        got = stream(pieces, format, tools)
        assert same(got, expected), f"split {[len(p) for p in pieces]}: {got[:2]} != {expected[:2]}"
    if any(opener in text for opener in REASONING_OPENERS):
        thought = reasoning([text], format, tools)
        for pieces in every_split(text, random_splits=10):
            assert reasoning(pieces, format, tools) == thought, f"split {[len(p) for p in pieces]}"
