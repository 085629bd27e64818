"""The inference-client provider's native async path (``AsyncInferenceClient``) against the replay and
fault servers on 127.0.0.1: the same deltas and errors as the sync path, closing and cancelling close
the response."""

from __future__ import annotations

from typing import Any

import modelplug
from modelplug import Model
from modelplug.testing.http.async_suite import AsyncHTTPFaultSuite, AsyncHttpProviderSuite


class TestInferenceClientAsyncOverHttp(AsyncHttpProviderSuite):
    provider = "inference-client"
    api_key = "hf_modelplugtestkey0000"

    def load(self, base_url: str, model: str = "replay", **options: Any) -> Model:
        options.setdefault("token", options.pop("api_key", self.api_key))
        return modelplug.load_model(f"inference-client:{model}", base_url=base_url, **options)


class TestInferenceClientAsyncFaults(AsyncHTTPFaultSuite):
    xfail_faults = {  # noqa: RUF012 (read only)
        "invalid-utf8": "huggingface_hub decodes stream lines with errors='replace' (httpx aiter_lines): "
        "invalid UTF-8 arrives as U+FFFD and cannot be seen (the README says so)"
    }

    spec = "inference-client:{fault}"
    model_options = {"token": "hf_faulttest0000"}  # noqa: RUF012 (read only)
