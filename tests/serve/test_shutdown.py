"""A request's life when the server stops (:mod:`modelplug.serve.shutdown`): the grace period, then
a 503 or an error event, and the backend stream stops, whatever point it had reached (a real server
on 127.0.0.1, an in-code provider)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import anyio
import httpx
import pytest

import modelplug
from modelplug.serve import build_app
from modelplug.serve.server import serve_in_thread
from modelplug.serve.shutdown import SHUTDOWN_GRACE_S
from modelplug.testing.fault_server import PREFIX, FaultServer
from tests.serve.conftest import HELLO


def _stop_during(url_context: Any, request: Any, started: threading.Event | None = None) -> tuple[Any, float]:
    """Start ``request(url)`` in a thread, stop the server (leave ``url_context``) once the provider
    started (``started`` set, or half a second); returns the request's result and the seconds from
    the stop to its end."""
    result: dict[str, Any] = {}

    def call(url: str) -> None:
        try:
            result["value"] = request(url)
        except Exception as error:  # reported by the test
            result["value"] = error
        result["ended"] = time.monotonic()

    with url_context as url:
        thread = threading.Thread(target=call, args=(url,), daemon=True)
        thread.start()
        if started is None:
            time.sleep(0.5)  # the request reaches the provider
        else:
            assert started.wait(10), "the request did not reach the provider"
            time.sleep(0.2)  # the deltas before the stall are sent
        stopped = time.monotonic()
    thread.join(10)
    assert "ended" in result, "the request did not end after the server stopped"
    return result["value"], result["ended"] - stopped


def _events(url: str, body: dict[str, Any]) -> tuple[int, list[str]]:
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as response:
        if response.headers["content-type"].startswith("application/json"):
            return response.status_code, [response.read().decode()]
        return response.status_code, [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


@pytest.mark.slow
@pytest.mark.parametrize("stream", [True, False])
def test_a_stopping_server_answers_a_request_still_waiting_for_its_first_delta_with_a_503(
    stalling: Any, stream: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    # was: uvicorn cancelled the request after its 5 s timeout, with an error in the log and no
    # response at all
    model, provider = stalling(0)
    body = {"model": "stalling", "messages": HELLO, "stream": stream}
    (status, events), took = _stop_during(
        serve_in_thread(build_app({"stalling": model})), lambda u: _events(u, body), provider.started
    )
    assert status == 503, events
    error = json.loads(events[0])["error"]
    assert error["code"] == "server_shutting_down" and error["type"] == "server_error"
    assert SHUTDOWN_GRACE_S - 0.5 < took < 5, took  # the grace period, then an answer before uvicorn's timeout
    assert provider.stopped.wait(5), "the backend stream still runs after the server stopped"
    model.close()
    logged = capfd.readouterr().err
    assert "Traceback" not in logged and "Cancel" not in logged, logged


@pytest.mark.slow
def test_a_stopping_server_ends_a_stalled_stream_with_an_error_event(
    stalling: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    model, provider = stalling(2)
    body = {"model": "stalling", "messages": HELLO, "stream": True}
    (status, events), took = _stop_during(
        serve_in_thread(build_app({"stalling": model})), lambda u: _events(u, body), provider.started
    )
    assert status == 200 and "[DONE]" not in events
    assert [json.loads(e)["choices"][0]["delta"]["content"] for e in events[:2]] == ["word ", "word "]
    assert json.loads(events[-1])["error"]["code"] == "server_shutting_down"
    assert SHUTDOWN_GRACE_S - 0.5 < took < 5, took
    assert provider.stopped.wait(5)
    model.close()
    logged = capfd.readouterr().err
    assert "Traceback" not in logged and "Cancel" not in logged, logged


@pytest.mark.slow
def test_a_stream_that_ends_within_the_grace_period_is_whole() -> None:
    answer = [{"content": " ".join(["word"] * 40)}]
    model = modelplug.load_model("replay:slow", responses=answer, delay=0.05)  # 40 deltas: about 2 s in all
    body = {"model": "slow", "messages": HELLO, "stream": True}
    (status, events), took = _stop_during(serve_in_thread(build_app({"slow": model})), lambda u: _events(u, body))
    assert status == 200 and events[-1] == "[DONE]"
    assert 0.5 < took < SHUTDOWN_GRACE_S, took  # the server stopped mid-answer, and the answer went on
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert text == answer[0]["content"]
    model.close()


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["stall-before-headers", "stall-mid-stream"])
def test_a_stopping_server_cuts_a_stalled_http_backend(fault: str, capfd: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("modelplug_openai")
    with FaultServer() as backend:
        model = modelplug.load_model(f"openai:{fault}", base_url=backend.base_url, api_key="sk-test", timeout=600)
        body = {"model": "stalled", "messages": HELLO, "stream": True}
        (status, events), took = _stop_during(
            serve_in_thread(build_app({"stalled": model})), lambda u: _events(u, body)
        )
        model.close()
    if fault == "stall-before-headers":
        assert status == 503, events
    else:  # what arrived before the stall was relayed, then the error event
        assert status == 200 and json.loads(events[0])["choices"][0]["delta"]["content"] == PREFIX, events
    assert json.loads(events[-1])["error"]["code"] == "server_shutting_down" and "[DONE]" not in events
    assert SHUTDOWN_GRACE_S - 0.5 < took < 5, took
    logged = capfd.readouterr().err
    assert "Traceback" not in logged and "Cancel" not in logged, logged


def test_a_request_that_arrives_while_the_server_stops_is_refused_at_once() -> None:
    # uvicorn closes idle HTTP/1.1 connections when it stops, but other hosts (HTTP/2) may still
    # deliver requests on open connections: nothing new starts during the grace period
    model = modelplug.load_model("replay:x", responses=["never sent"])
    app = build_app({"replay": model})

    async def main() -> httpx.Response:
        app.state.server_stop.begin()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            return await client.post("/v1/chat/completions", json={"model": "replay", "messages": HELLO})

    response = anyio.run(main)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "server_shutting_down"
    model.close()
