"""The fault-injecting server (:mod:`modelplug.testing.fault_server`) sends each fault it promises,
as raw bytes read with httpx (no SSE parser), and stops cleanly."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from modelplug.testing.fault_server import PREFIX, FaultServer

HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


def _raw(server: FaultServer, fault: str, read: float = 10) -> tuple[httpx.Response, bytes]:
    body = {"model": fault, "messages": HELLO, "stream": True}
    timeout = httpx.Timeout(10, read=read)
    with httpx.stream("POST", server.base_url + "/chat/completions", json=body, timeout=timeout) as r:
        return r, r.read()


def _events(data: bytes) -> list[str]:
    return [line[6:] for line in data.decode().split("\n\n") if line.startswith("data: ")]


def test_every_stream_starts_with_the_prefix_and_ok_ends_with_done(server: FaultServer) -> None:
    response, data = _raw(server, "provider/ok")  # the last path segment names the fault
    assert response.status_code == 200 and response.headers["transfer-encoding"] == "chunked"
    events = _events(data)
    assert events[-1] == "[DONE]"
    contents = [json.loads(e)["choices"][0]["delta"].get("content") for e in events[:-1]]
    assert contents == [PREFIX, " world", None]
    assert json.loads(events[-2])["choices"][0]["finish_reason"] == "stop"
    assert server.requests == [{"model": "provider/ok", "messages": HELLO, "stream": True}]


@pytest.mark.parametrize(("fault", "status", "retry_after"), [("rate-limit", 429, "7"), ("unavailable", 503, "3")])
def test_refusals_are_openai_error_bodies_with_retry_after(
    server: FaultServer, fault: str, status: int, retry_after: str
) -> None:
    response, data = _raw(server, fault)
    assert response.status_code == status and response.headers["retry-after"] == retry_after
    assert json.loads(data)["error"]["message"]


@pytest.mark.parametrize(
    ("fault", "raw"),
    [
        ("malformed-json", b'data: {"choices": [{"index": 0, "delta": {"content": "x"\n\n'),
        ("invalid-utf8", b'"content": "\xff\xfe bad"'),
        ("error-object", b'data: {"error": {"message": "the model is overloaded"'),
    ],
)
def test_bad_chunks_follow_the_prefix_as_sent(server: FaultServer, fault: str, raw: bytes) -> None:
    response, data = _raw(server, fault)
    assert response.status_code == 200
    assert data.startswith(b"data: ") and PREFIX.encode() in data.split(b"\n\n")[0] and raw in data


def test_a_drop_cuts_the_chunked_body_after_the_prefix(server: FaultServer) -> None:
    received = b""
    url = server.base_url + "/chat/completions"
    # no terminating zero-length chunk
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("POST", url, json={"model": "drop"}, timeout=10) as r:
        for piece in r.iter_raw():
            received += piece
    assert PREFIX.encode() in received


def test_a_stall_waits_for_the_clients_timeout_and_stop_ends_it() -> None:
    server = FaultServer()
    with pytest.raises(httpx.ReadTimeout):
        _raw(server, "stall-mid-stream", read=0.3)
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.post(server.base_url + "/chat/completions", json={"model": "ok"}, timeout=2)
