"""The LiteLLM provider passes the conformance kit against ``transformers serve`` on 127.0.0.1."""

from __future__ import annotations

import pytest

from modelplug.testing.http.conformance import TransformersServeConformance

pytestmark = pytest.mark.slow


class TestLitellmConformance(TransformersServeConformance):
    """LiteLLM's information about any ``openai/`` model says ``stop`` and ``response_format`` are
    taken; ``transformers serve`` ignores both. Without the suite's ``capabilities`` override the kit
    fails (the stop sequence leaks, the "JSON" is prose), which is the kit doing its job."""

    spec = "litellm:openai/{model}"
    url_option = "api_base"
    client_options = {"api_key": "sk-conformance-0000"}  # noqa: RUF012 (read only)
