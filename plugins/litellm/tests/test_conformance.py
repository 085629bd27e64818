"""The LiteLLM provider passes the conformance kit against ``transformers serve`` on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import modelplug
from modelplug.errors import ProviderConnectionError
from modelplug.testing import ErrorCase, ProviderConformance

pytestmark = pytest.mark.slow

KEY = "sk-conformance-0000"
#: What this server really does: ``transformers serve`` ignores ``stop`` and ``response_format``, but
#: LiteLLM's information about any ``openai/`` model says they are taken. Without the override the kit
#: fails (the stop sequence leaks, the "JSON" is prose), which is the kit doing its job.
SERVER_CAPABILITIES = {"stop_sequences": False, "structured_output": False}


class TestLitellmConformance(ProviderConformance):
    max_tokens = 32
    expect_tool_call = False  # SmolLM2-135M rarely calls a tool; calls it does make are still checked
    error_cases = (
        ErrorCase(
            "connection refused",
            expected=ProviderConnectionError,
            spec="litellm:openai/model",
            model_options={"api_base": "http://127.0.0.1:9/v1", "api_key": KEY, "max_retries": 0},
        ),
    )

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_model(cls, transformers_server: Any) -> Iterator[modelplug.Model]:
        spec = f"litellm:openai/{transformers_server.model_name}"
        options = {"api_base": transformers_server.url, "api_key": KEY, "capabilities": SERVER_CAPABILITIES}
        with modelplug.load_model(spec, **options) as model:
            yield model
