"""The HTTP fault suite (modelplug.testing.faults) against the litellm provider."""

from __future__ import annotations

from modelplug.testing.faults import HTTPFaultSuite


class TestLiteLLMFaults(HTTPFaultSuite):
    spec = "litellm:openai/{fault}"
    url_option = "api_base"
    model_options = {"api_key": "sk-fault-test-0000"}  # noqa: RUF012 (read only)
