"""The litellm provider against real servers on 127.0.0.1, through the real LiteLLM client."""

from __future__ import annotations

from typing import Any, ClassVar

from tests.servers.http_suite import HttpProviderSuite

import modelplug
from modelplug.model import Model

#: LiteLLM normalises ``finish_reason`` to OpenAI's values: "stop" becomes "tool_calls" when the
#: answer has tool calls, and TGI's "eos_token" (unknown to LiteLLM) becomes "stop", then "tool_calls".
#: The plugin keeps LiteLLM's value (the same meaning for every LiteLLM provider).
_LITELLM_FINISH = {
    "gemini-001-openai-compat-no-tool-index": {"finish_reason": "tool_calls"},
    "ollama-004-tool-calls-then-separate-done-chunk-stop": {"finish_reason": "tool_calls"},
    "tgi-001-tool-calls-object-not-list": {"finish_reason": "tool_calls"},
}


class TestLiteLLMOverHttp(HttpProviderSuite):
    provider = "litellm"
    client_differences: ClassVar = _LITELLM_FINISH

    def load(self, base_url: str, model: str = "replay", **options: Any) -> Model:
        options.setdefault("api_key", self.api_key)
        return modelplug.load_model(f"litellm:openai/{model}", api_base=base_url, **options)
