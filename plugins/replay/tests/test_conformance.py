"""The replay provider passes the conformance kit with an honest script."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

import modelplug
from modelplug.errors import ModelLoadError
from modelplug.testing import ErrorCase, ProviderConformance

STORY = (
    "The lighthouse keeper climbed the spiral stairs at dusk, as he had done every evening for forty years. "
    "Below him the sea rolled grey and restless, and far out a single gull wheeled over the rocks where the "
    "old wreck lay. He lit the great lamp, wound the clockwork, and sat down to write in his log."
)
STORY_RESPONSE = {
    "content": STORY,
    "usage": {"prompt_tokens": 21, "completion_tokens": 44, "total_tokens": 65},
}
TOOL_RESPONSE = {
    "content": None,
    "tool_calls": [{"id": "call_1", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}],
    "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39},
}


class TestReplayConformance(ProviderConformance):
    model_spec = "replay:conformance"
    model_options: ClassVar[dict[str, Any]] = {"responses": [STORY_RESPONSE], "loop": True}
    max_tokens = 48
    error_cases = (ErrorCase("missing script file", expected=ModelLoadError, spec="replay:/no/such/script.jsonl"),)

    @pytest.fixture
    def conformance_tool_model(self) -> Iterator[modelplug.Model]:
        with modelplug.load_model("replay:tools", responses=[TOOL_RESPONSE], loop=True) as model:
            yield model

    def test_max_tokens_limits_the_answer(self) -> None:  # type: ignore[override]
        pytest.skip("replay plays recorded answers: max_tokens cannot shorten them")
