"""The HTTP fault suite (modelplug.testing.faults) against the openai provider."""

from __future__ import annotations

import modelplug
from modelplug import Model
from modelplug.testing.faults import HTTPFaultSuite


class TestOpenAIFaults(HTTPFaultSuite):
    def load(self, base_url: str, fault: str, *, read_timeout: float) -> Model:
        return modelplug.load_model(
            f"openai:{fault}", base_url=base_url, api_key="sk-fault-test-0000", timeout=read_timeout, max_retries=0
        )
