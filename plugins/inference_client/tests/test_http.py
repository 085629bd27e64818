"""The inference-client provider against real servers on 127.0.0.1, through the real huggingface_hub client."""

from __future__ import annotations

from typing import Any

import modelplug
from modelplug import Model
from modelplug.testing.http.suite import HttpProviderSuite


class TestInferenceClientOverHttp(HttpProviderSuite):
    """huggingface_hub delivers every fixture stream as recorded (no client differences), once
    the plugin reads its chunks through attributes (see :mod:`modelplug_inference_client.chunks`)."""

    provider = "inference-client"
    api_key = "hf_modelplugtestkey0000"

    def load(self, base_url: str, model: str = "replay", **options: Any) -> Model:
        options.setdefault("token", options.pop("api_key", self.api_key))
        return modelplug.load_model(f"inference-client:{model}", base_url=base_url, **options)
