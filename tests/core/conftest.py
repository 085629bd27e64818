"""In-code providers shared by the core tests: ``Scripted`` (behaviour set per test) and ``Broken``
(hooks that break the contract)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import modelplug
from modelplug import ChatMessage, ChatMessageStreamDelta, Usage


class Scripted:
    """An in-code provider whose behaviour each test sets."""

    def __init__(
        self, *, streaming: bool = True, pieces: tuple[str, ...] = ("Hello", " world"), fail_after: int | None = None
    ):
        self.streaming = streaming
        self.pieces = pieces
        self.fail_after = fail_after
        self.closed = False
        self.unloaded = False
        self.seen: list[list[ChatMessage]] = []

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=self.streaming, usage_in_stream=True)

    @modelplug.hookimpl
    def generate(self, messages: list[ChatMessage]) -> ChatMessage:
        self.seen.append(messages)
        return ChatMessage(content="".join(self.pieces), usage=Usage(3, len(self.pieces)), finish_reason="stop")

    @modelplug.hookimpl
    def generate_stream(self, messages: list[ChatMessage]) -> Iterator[ChatMessageStreamDelta]:
        self.seen.append(messages)
        try:
            for number, piece in enumerate(self.pieces):
                if self.fail_after is not None and number == self.fail_after:
                    raise RuntimeError("backend exploded")
                yield ChatMessageStreamDelta(content=piece)
            yield ChatMessageStreamDelta(usage=Usage(3, len(self.pieces)), finish_reason="stop")
        finally:
            self.closed = True

    @modelplug.hookimpl
    def unload(self) -> None:
        self.unloaded = True


@pytest.fixture
def scripted(fresh_plugins: None) -> Iterator[Scripted]:
    provider = Scripted()
    modelplug.register_provider("scripted", provider)
    yield provider


class Broken:
    """A provider whose hooks break the contract in the way each test sets."""

    def __init__(self, *, stream: object = None, capabilities: object = None, unload: object = None) -> None:
        self.stream = stream
        self.caps = capabilities
        self.unload_error = unload

    @modelplug.hookimpl
    def capabilities(self) -> object:
        if isinstance(self.caps, Exception):
            raise self.caps
        return self.caps or modelplug.Capabilities(streaming=True, tool_calling="text")

    @modelplug.hookimpl
    def generate_stream(self) -> object:
        return self.stream() if callable(self.stream) else self.stream

    @modelplug.hookimpl
    def unload(self) -> None:
        if self.unload_error is not None:
            raise RuntimeError(self.unload_error)


def load_broken(**kwargs: object) -> modelplug.Model:
    """A model of a ``Broken`` provider (registered as ``broken``) built with ``kwargs``."""
    modelplug.register_provider("broken", Broken(**kwargs), replace=True)  # type: ignore[arg-type]
    return modelplug.load_model("broken:m")
