"""Fixtures for ``modelplug serve``: the real app under uvicorn on 127.0.0.1 (a free port), in a
thread of the test process (so a test can see the embedded model's generation threads end)."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

import anyio
import httpx
import pytest

pytest.importorskip("sse_starlette", reason="needs the serve extra")

import modelplug
from modelplug import _plugins as plugins
from modelplug.serve import build_app
from modelplug.serve.server import serve_in_thread
from modelplug.testing.http.fixtures import hf_online  # noqa: F401
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions

Serve = Callable[..., str]

CHAT = "/v1/chat/completions"
HELLO = [{"role": "user", "content": "hi"}]
_names = itertools.count()


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """POST ``body`` (JSON-encoded unless it is bytes) to the server's chat-completions route."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", **(headers or {})}
    return httpx.post(url + CHAT, content=content, headers=headers, timeout=10)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The OpenAI error object of ``response``, checked to have its four fields and a message."""
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(models, **build_app_options) -> base URL``: each call starts a server, all stopped at the end."""
    with contextlib.ExitStack() as stack:

        def start(models: dict[str, Any], **options: Any) -> str:
            return stack.enter_context(serve_in_thread(build_app(models, **options)))

        yield start


def replay(responses: list[Any], **options: Any) -> modelplug.Model:
    """A replay model that plays ``responses`` in a loop."""
    return modelplug.load_model("replay:served", responses=responses, loop=True, **options)


@pytest.fixture
def served_replay(serve: Serve) -> str:
    """A server with one model, ``replay``: ``"Hello there, world."`` with usage 5/4."""
    answer = {"content": "Hello there, world.", "usage": {"prompt_tokens": 5, "completion_tokens": 4}}
    return serve({"replay": replay([answer])})


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
