"""``modelplug serve --ray``: the app as a Ray Serve application on a local Ray instance (2 CPUs,
dashboard off): requests spread over 2 replicas, and a killed replica is replaced."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from modelplug.serve.models import ModelEntry
from modelplug.testing.http.processes import free_port

pytestmark = pytest.mark.slow

WORDS = [f" w{i:02d}" for i in range(20)]
ANSWER = {"content": "".join(WORDS), "usage": {"prompt_tokens": 3, "completion_tokens": 20}}


@pytest.fixture(scope="module")
def ray_url() -> Iterator[str]:
    ray = pytest.importorskip("ray", reason="needs the ray extra")
    from ray import serve

    from modelplug.serve.ray import APP_NAME, RayOptions, application, start_ray

    port = free_port()
    # each answer streams 20 chunks 20 ms apart (~0.4 s): concurrent requests overlap
    entries = [ModelEntry("replay", "replay:served", {"responses": [ANSWER], "loop": True, "delay": 0.02})]
    start_ray(host="127.0.0.1", port=port, num_cpus=2)
    try:
        app = application(entries, ray_options=RayOptions(num_replicas=2, replica_cpus=0.5))
        serve.run(app, name=APP_NAME, route_prefix="/")
        yield f"http://127.0.0.1:{port}"
    finally:
        serve.shutdown()
        ray.shutdown()


def _ask(url: str) -> tuple[str, str, int | None]:
    """One streamed request: ``(text, replica, completion tokens)``."""
    body = {"model": "replay", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    body["stream_options"] = {"include_usage": True}
    text, tokens = "", None
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=60) as response:
        assert response.status_code == 200, response.read()
        replica = response.headers["x-modelplug-replica"]
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk: dict[str, Any] = json.loads(line[6:])
            if chunk["choices"]:
                text += chunk["choices"][0]["delta"].get("content") or ""
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
    return text, replica, tokens


def _ask_many(url: str, count: int) -> list[Any]:
    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(_ask, url) for _ in range(count)]
        outcomes: list[Any] = []
        for future in futures:
            try:
                outcomes.append(future.result())
            except Exception as error:
                outcomes.append(error)
        return outcomes


def _replica_actors() -> list[Any]:
    import ray

    names = ray.util.list_named_actors(all_namespaces=True)
    return [
        ray.get_actor(a["name"], namespace=a["namespace"]) for a in names if a["name"].startswith("SERVE_REPLICA::")
    ]


def _running_replicas() -> int:
    from ray import serve

    from modelplug.serve.ray import APP_NAME

    status = serve.status().applications[APP_NAME]
    return sum(d.replica_states.get("RUNNING", 0) for d in status.deployments.values())


def test_concurrent_streams_spread_over_both_replicas(ray_url: str) -> None:
    outcomes = _ask_many(ray_url, 20)
    assert all(outcome[0] == "".join(WORDS) and outcome[2] == 20 for outcome in outcomes), outcomes
    assert len({outcome[1] for outcome in outcomes}) == 2  # both replicas answered


def test_a_killed_replica_is_replaced_and_later_requests_succeed(ray_url: str) -> None:
    import ray

    before = {outcome[1] for outcome in _ask_many(ray_url, 8)}
    assert len(before) == 2
    with ThreadPoolExecutor(10) as pool:
        in_flight = [pool.submit(_ask, ray_url) for _ in range(10)]
        time.sleep(0.2)  # mid-run: the streams are open
        ray.kill(_replica_actors()[0], no_restart=True)
        finished = [f.exception() is None for f in in_flight]
    assert any(finished)  # the other replica's streams ended normally
    deadline = time.monotonic() + 90
    while _running_replicas() < 2 or len(_replica_actors()) < 2:
        assert time.monotonic() < deadline, "the killed replica was not replaced"
        time.sleep(0.5)
    # every later request succeeds; the proxy learns of the new replica a little after it runs,
    # so the batches go on until both replicas have answered (one of them the replacement)
    replicas: set[str] = set()
    while len(replicas) < 2:
        assert time.monotonic() < deadline, f"only {replicas} answered after the replacement"
        after = _ask_many(ray_url, 20)
        assert all(not isinstance(o, Exception) and o[0] == "".join(WORDS) for o in after), after
        replicas |= {o[1] for o in after}
    assert replicas != before
