"""The InferenceClient provider passes the conformance kit against ``transformers serve`` on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import modelplug
from modelplug.errors import ProviderConnectionError
from modelplug.testing import ErrorCase, ProviderConformance

pytestmark = pytest.mark.slow

KEY = "hf_conformance0000"
#: What this server really does: ``transformers serve`` ignores ``stop`` and ``response_format``
#: (the provider declares both by default, for TGI and OpenAI-compatible servers that honour them).
SERVER_CAPABILITIES = {"stop_sequences": False, "structured_output": False}


class TestInferenceClientConformance(ProviderConformance):
    max_tokens = 32
    expect_tool_call = False  # SmolLM2-135M rarely calls a tool; calls it does make are still checked
    error_cases = (
        ErrorCase(
            "connection refused",
            expected=ProviderConnectionError,
            spec="inference-client:model",
            model_options={"base_url": "http://127.0.0.1:9/v1", "api_key": KEY, "max_retries": 0},
        ),
    )

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_model(cls, transformers_server: Any) -> Iterator[modelplug.Model]:
        from huggingface_hub import constants

        with pytest.MonkeyPatch.context() as patch:  # offline mode refuses even 127.0.0.1 (see conftest.py)
            patch.delenv("HF_HUB_OFFLINE", raising=False)
            patch.setattr(constants, "HF_HUB_OFFLINE", False)
            spec = f"inference-client:{transformers_server.model_name}"
            options = {"base_url": transformers_server.url, "api_key": KEY, "capabilities": SERVER_CAPABILITIES}
            with modelplug.load_model(spec, **options) as model:
                yield model
