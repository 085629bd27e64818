"""Fixtures for the litellm provider's tests: the loopback servers, and LiteLLM's local cost map."""

from __future__ import annotations

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before anything imports litellm

from modelplug.testing.http.fixtures import replay_server, transformers_server  # noqa: F401
