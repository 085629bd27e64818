"""Running the app under uvicorn (:mod:`modelplug.serve.server`): which hosts are loopback, and a
server in a thread that starts on a free port and is gone after the ``with`` block."""

from __future__ import annotations

import threading

import httpx
import pytest

import modelplug
from modelplug.serve import build_app
from modelplug.serve.server import is_loopback, serve_in_thread


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_only_hosts_that_accept_this_machine_alone_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_server_in_a_thread_serves_on_a_free_port_and_stops_with_the_block() -> None:
    with modelplug.load_model("replay:x", responses=["ok"], loop=True) as model:
        before = set(threading.enumerate())
        with serve_in_thread(build_app({"replay": model})) as url:
            assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
            assert httpx.get(url + "/health", timeout=5).status_code == 200
            body = {"model": "replay", "messages": [{"role": "user", "content": "hi"}]}
            answer = httpx.post(url + "/v1/chat/completions", json=body, timeout=5).json()
            assert answer["choices"][0]["message"]["content"] == "ok"
        assert not [thread for thread in set(threading.enumerate()) - before if thread.name == "modelplug-serve"]
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/health", timeout=2)
