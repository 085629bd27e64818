"""The litellm provider against real servers on 127.0.0.1, through the real LiteLLM client."""

from __future__ import annotations

from typing import Any

import modelplug
from modelplug import Model
from modelplug.testing.http.suite import HttpProviderSuite


class TestLiteLLMOverHttp(HttpProviderSuite):
    provider = "litellm"
    # no client_differences: the plugin reports the server's finish_reason verbatim (LiteLLM would
    # turn "stop" into "tool_calls", TGI's "eos_token" into "stop")

    def load(self, base_url: str, model: str = "replay", **options: Any) -> Model:
        options.setdefault("api_key", self.api_key)
        return modelplug.load_model(f"litellm:openai/{model}", api_base=base_url, **options)
