"""Fixtures for the inference-client provider's tests: the loopback servers, and huggingface_hub
with offline mode off (it refuses every request while ``HF_HUB_OFFLINE=1``, even to 127.0.0.1)."""

from __future__ import annotations

import pytest

from modelplug.testing.http.fixtures import hf_online, replay_server, transformers_server  # noqa: F401


@pytest.fixture(autouse=True)
def _hub_online(hf_online: None) -> None:  # noqa: F811 (the fixture, imported above)
    """Every test here talks to loopback servers only."""
