"""The server's one way to a model's deltas (:mod:`modelplug.serve.streams`): a request whose client
goes away closes its stream, and that stops the backend (a real server on 127.0.0.1, an in-code
async provider that stalls)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.serve.conftest import CHAT, HELLO, Serve


@pytest.mark.slow
@pytest.mark.parametrize("stream", [True, False])
def test_a_client_gone_before_the_first_delta_stops_the_backend(serve: Serve, stalling: Any, stream: bool) -> None:
    model, provider = stalling(0)
    url = serve({"stalling": model})
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            url + CHAT,
            json={"model": "stalling", "messages": HELLO, "stream": stream},
            timeout=httpx.Timeout(5, read=0.5),
        )
    assert provider.started.is_set()
    assert provider.stopped.wait(5), "the backend stream still runs after its client went away"
    model.close()
