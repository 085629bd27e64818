"""The openai provider against real servers on 127.0.0.1: the whole fixture corpus, errors, faults, closing."""

from __future__ import annotations

from typing import Any

import modelplug
from modelplug import Model
from modelplug.testing.http.suite import HttpProviderSuite


class TestOpenAIOverHttp(HttpProviderSuite):
    """Every fixture stream arrives as recorded: the provider hands the server's JSON to the core's reader."""

    provider = "openai"

    def load(self, base_url: str, model: str = "replay", **options: Any) -> Model:
        options.setdefault("api_key", self.api_key)
        return modelplug.load_model(f"openai:{model}", base_url=base_url, **options)
