"""Fixtures for the Transformers plugin tests: the embedded model, loaded once per session."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

# Tests never download: a hub id must come from the local cache or fail at once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORKER_THREAD = "modelplug-transformers-generate"


def live_workers() -> list[threading.Thread]:
    """Generation threads of this plugin still running."""
    return [t for t in threading.enumerate() if t.name == WORKER_THREAD and t.is_alive()]


@pytest.fixture(scope="session")
def model() -> Iterator[Any]:
    """``transformers:default`` on CPU (converted into the user cache on the first run, ~20-40 s)."""
    import modelplug

    loaded = modelplug.load_model("transformers:default")
    yield loaded
    loaded.close()


@pytest.fixture(scope="session")
def tokenizer(model: Any) -> Any:
    return model.state.tokenizer
