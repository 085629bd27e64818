"""Loading, closing and loading again in one process; the command line on a vLLM model.

Each test starts its own engines (about 35 s each on 2 CPU cores), so this module runs after the
engine of ``test_engine.py`` is gone, never beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

import modelplug
from modelplug.errors import InvalidOptionError

from .conftest import KNOWS_FACTS, engine_processes

pytestmark = pytest.mark.vllm

QUESTION = "What is the capital of France?"


def tree_rss() -> tuple[int, int]:
    """(resident bytes of this process and its engine processes, number of engine processes)."""
    import psutil

    children = engine_processes()
    total = psutil.Process().memory_info().rss
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return total, len(children)


def loop_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("modelplug-vllm-")]


def wait_for(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_close_frees_the_engine_and_a_second_model_loads(
    vllm_model_dir: str, engine_options: Mapping[str, Any], no_vllm_processes: None
) -> None:
    pytest.importorskip("psutil")
    before_rss, before_children = tree_rss()
    first = modelplug.load_model(f"vllm:{vllm_model_dir}", **engine_options)
    answer = first.generate(QUESTION, max_tokens=40, temperature=0.0)
    assert answer.usage.completion_tokens > 3
    assert "Paris" in answer.text or not KNOWS_FACTS
    loaded_rss, loaded_children = tree_rss()
    assert loaded_children > before_children  # the engine core and its worker
    assert len(loop_threads()) == 1

    first.close()
    assert first.state.runner is None and first.state.engine is None
    assert wait_for(lambda: tree_rss()[1] == before_children), "the engine's processes are still running"
    closed_rss, _ = tree_rss()
    assert loaded_rss - closed_rss > 1 << 30  # the engine core, worker and KV cache: well over 1 GiB
    assert loop_threads() == []
    first.close()  # idempotent
    with pytest.raises(InvalidOptionError, match="closed"):
        first.generate(QUESTION)

    second = modelplug.load_model(f"vllm:{vllm_model_dir}", **{**engine_options, "dtype": "bfloat16"})
    try:
        with second.stream(QUESTION, max_tokens=40, temperature=0.0) as stream:
            pieces = [d.content for d in stream if d.content]
        assert len(pieces) > 3 and ("Paris" in "".join(pieces) or not KNOWS_FACTS)
    finally:
        second.close()
    assert wait_for(lambda: tree_rss()[1] == before_children)
    assert before_rss > 0


@pytest.mark.gpu
def test_close_frees_gpu_memory(vllm_model_dir: str, engine_options: Mapping[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    free_before, total = torch.cuda.mem_get_info()
    model = modelplug.load_model(f"vllm:{vllm_model_dir}", **engine_options)
    try:
        assert model.generate(QUESTION, max_tokens=8).usage.completion_tokens > 0
        free_loaded, _ = torch.cuda.mem_get_info()
        assert free_before - free_loaded > 256 * 2**20  # weights and the 512 MiB KV cache
    finally:
        model.close()
    assert wait_for(lambda: torch.cuda.mem_get_info()[0] > free_before - total // 50), (
        f"GPU memory not freed: {torch.cuda.mem_get_info()[0] / 2**30:.1f} GiB free, {free_before / 2**30:.1f} before"
    )


def test_modelplug_run_streams_the_answer_from_vllm(vllm_model_dir: str, engine_options: Mapping[str, Any]) -> None:
    options = [
        f"{key}={value if isinstance(value, str) else json.dumps(value)}" for key, value in engine_options.items()
    ]
    command = [sys.executable, "-m", "modelplug", "run", "-m", f"vllm:{vllm_model_dir}", "--json", "--temperature", "0"]
    command += ["--max-tokens", "40"]
    for option in options:
        command += ["-o", option]
    command.append(QUESTION)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    chunks = [line for line in lines if line.get("object") == "chat.completion.chunk"]
    content = [c for c in chunks if any((choice.get("delta") or {}).get("content") for choice in c.get("choices", []))]
    assert len(content) > 3
    final = lines[-1]
    assert final.get("object") == "modelplug.result", final
    if KNOWS_FACTS:
        assert "Paris" in final["message"]["content"]
        assert final["finish_reason"] == "stop"
    assert final["usage"]["prompt_tokens"] > 0 and final["usage"]["completion_tokens"] > 3
