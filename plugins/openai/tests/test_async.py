"""The openai provider's native async path (``agenerate_stream`` on ``httpx.AsyncClient``) against the
replay and fault servers on 127.0.0.1: the same deltas and errors as the sync path, closing and
cancelling close the response."""

from __future__ import annotations

from typing import Any

import modelplug
from modelplug import Model
from modelplug.testing.http.async_suite import AsyncHTTPFaultSuite, AsyncHttpProviderSuite


class TestOpenAIAsyncOverHttp(AsyncHttpProviderSuite):
    provider = "openai"

    def load(self, base_url: str, model: str = "replay", **options: Any) -> Model:
        options.setdefault("api_key", self.api_key)
        return modelplug.load_model(f"openai:{model}", base_url=base_url, **options)


class TestOpenAIAsyncFaults(AsyncHTTPFaultSuite):
    def load(self, base_url: str, fault: str, *, read_timeout: float) -> Model:
        return modelplug.load_model(
            f"openai:{fault}", base_url=base_url, api_key="sk-fault-test-0000", timeout=read_timeout, max_retries=0
        )
