"""A request's life on the server when the client or the server goes away: the backend stream
stops, whatever point the stream had reached (a real server on 127.0.0.1, an in-code provider)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import anyio
import httpx
import pytest

import modelplug
from modelplug import _plugins as plugins
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions
from tests.serve.conftest import Serve

HELLO = [{"role": "user", "content": "Hello"}]
_names = itertools.count()


class Stalling:
    """A natively async provider that sends ``before`` deltas, then waits forever; ``stopped`` is
    set when the backend stream ends (closed or cancelled)."""

    def __init__(self, before: int) -> None:
        self.before = before
        self.started = threading.Event()
        self.stopped = threading.Event()

    @modelplug.hookimpl
    def load(self, model_id: str, options: Mapping[str, Any]) -> None:
        return None

    @modelplug.hookimpl
    def capabilities(self) -> Capabilities:
        return Capabilities(streaming=True, async_streaming=True)

    @modelplug.hookimpl
    def generate_stream(
        self, model_id: str, state: Any, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> Iterator[ChatMessageStreamDelta]:
        raise NotImplementedError  # the server streams through agenerate_stream

    @modelplug.hookimpl
    async def agenerate_stream(
        self, model_id: str, state: Any, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[ChatMessageStreamDelta]:
        self.started.set()
        try:
            for _ in range(self.before):
                yield ChatMessageStreamDelta(content="word ")
            await anyio.sleep_forever()
        finally:
            self.stopped.set()


@pytest.fixture
def stalling() -> Iterator[Any]:
    """``stalling(before) -> (model, provider)``: a :class:`Stalling` provider, unregistered at the end."""
    names: list[str] = []

    def make(before: int) -> tuple[modelplug.Model, Stalling]:
        name = f"stalling-{next(_names)}"
        provider = Stalling(before)
        plugins.register_provider(name, provider)
        names.append(name)
        return modelplug.load_model(f"{name}:x"), provider

    yield make
    for name in names:
        plugins.unregister_provider(name)


@pytest.mark.slow
@pytest.mark.parametrize("stream", [True, False])
def test_a_client_gone_before_the_first_delta_stops_the_backend(serve: Serve, stalling: Any, stream: bool) -> None:
    model, provider = stalling(0)
    url = serve({"stalling": model})
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            url + "/v1/chat/completions",
            json={"model": "stalling", "messages": HELLO, "stream": stream},
            timeout=httpx.Timeout(5, read=0.5),
        )
    assert provider.started.is_set()
    assert provider.stopped.wait(5), "the backend stream still runs after its client went away"
    model.close()
