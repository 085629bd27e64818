"""Fixtures for the tests of the loopback servers (:mod:`modelplug.testing.http`)."""

from __future__ import annotations

import httpx

from modelplug.testing.http.fixtures import replay_server  # noqa: F401
from modelplug.testing.http.processes import ReplayServer


def post_selector(server: ReplayServer, selector: str, **body: object) -> tuple[httpx.Response, list[bytes]]:
    """POST a chat request asking ``server`` for ``selector``: the response and its raw body chunks."""
    with (
        httpx.Client(timeout=10) as client,
        client.stream(
            "POST", f"{server.url()}/chat/completions", json={"model": selector, "messages": [], **body}
        ) as r,
    ):
        return r, list(r.iter_raw())
