"""The litellm provider's native async path (``litellm.acompletion(stream=True)``) against the replay
and fault servers on 127.0.0.1: the same deltas and errors as the sync path, closing and cancelling
close the response."""

from __future__ import annotations

from typing import Any

import modelplug
from modelplug import Model
from modelplug.testing.http.async_suite import AsyncHTTPFaultSuite, AsyncHttpProviderSuite


class TestLiteLLMAsyncOverHttp(AsyncHttpProviderSuite):
    provider = "litellm"

    def load(self, base_url: str, model: str = "replay", **options: Any) -> Model:
        options.setdefault("api_key", self.api_key)
        return modelplug.load_model(f"litellm:openai/{model}", api_base=base_url, **options)


class TestLiteLLMAsyncFaults(AsyncHTTPFaultSuite):
    spec = "litellm:openai/{fault}"
    url_option = "api_base"
    model_options = {"api_key": "sk-fault-test-0000"}  # noqa: RUF012 (read only)
