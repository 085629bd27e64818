"""Fixtures for ``modelplug serve``: the real app under uvicorn on 127.0.0.1 (a free port), in a
thread of the test process (so a test can see the embedded model's generation threads end)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("sse_starlette", reason="needs the serve extra")

import modelplug
from modelplug.serve import build_app
from modelplug.serve.server import serve_in_thread
from modelplug.testing.http.fixtures import hf_online  # noqa: F401

Serve = Callable[..., str]


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
