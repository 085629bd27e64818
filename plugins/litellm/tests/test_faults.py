"""The HTTP fault suite (modelplug.testing.faults) against the litellm provider."""

from __future__ import annotations

import modelplug
from modelplug import Model
from modelplug.testing.faults import HTTPFaultSuite


class TestLiteLLMFaults(HTTPFaultSuite):
    def load(self, base_url: str, fault: str, *, read_timeout: float) -> Model:
        return modelplug.load_model(
            f"litellm:openai/{fault}",
            api_base=base_url,
            api_key="sk-fault-test-0000",
            timeout=read_timeout,
            max_retries=0,
        )
