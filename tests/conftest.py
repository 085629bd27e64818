"""Shared fixtures for the core tests and the cross-plugin tests."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"


def load_jsonl(name: str) -> list[dict[str, Any]]:
    """The records of ``tests/data/<name>`` (a copy of ../shared/fixtures/<name>)."""
    with (DATA / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def as_objects(value: Any) -> Any:
    """``value`` with every dict as an object with attributes (``types.SimpleNamespace``), as client
    libraries (LiteLLM, huggingface_hub, the openai SDK) hand chunks over; lists stay lists."""
    if isinstance(value, dict):
        return types.SimpleNamespace(**{k: as_objects(v) for k, v in value.items()})
    if isinstance(value, list):
        return [as_objects(v) for v in value]
    return value


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    """Rediscover plugins before and after the test (for tests that register providers)."""
    from modelplug import _plugins as plugins

    plugins.reset()
    yield
    plugins.reset()
