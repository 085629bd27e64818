"""The fast server (:mod:`modelplug.testing.http.fast_server`) sends the replay server's bytes,
on a kept-alive connection too."""

from __future__ import annotations

import httpx

from modelplug.testing.http.processes import ReplayServer
from tests.testing.http.conftest import post_selector


def test_the_fast_server_sends_the_same_bytes(replay_server: ReplayServer) -> None:
    fast = ReplayServer.start(fast=True)
    try:
        for selector in ("case/tgi-001-tool-calls-object-not-list", "text/50@crlf,comments", "tool/5@nodone"):
            assert b"".join(post_selector(fast, selector)[1]) == b"".join(post_selector(replay_server, selector)[1])
        with httpx.Client(timeout=10) as client:  # keep-alive: a second request on the same connection
            for _ in range(2):
                response = client.post(f"{fast.url('text/3')}/chat/completions", json={"messages": []})
                assert response.text.endswith("data: [DONE]\n\n")
            assert client.post(f"{fast.url('error/500')}/chat/completions", json={}).status_code == 404
    finally:
        fast.stop()
