"""A small character-level provider for testing the conformance kit: honest, unless told to lie.

Each character of a fixed story is one token. Generation runs in a worker thread that hands
characters over through a one-slot queue, like a real backend's streamer, so a provider that does
not stop its worker when the stream is closed leaves a thread running. ``CharProvider(name,
defects)`` builds the provider; each defect in :data:`DEFECTS` breaks one promise.

This file is also copied into the inner pytest sessions of ``test_conformance.py``, so it imports nothing
from the test suite.
"""

from __future__ import annotations

import json
import queue
import random
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import modelplug
from modelplug._aggregation import aggregate
from modelplug.errors import ProviderConnectionError
from modelplug.stops import StopFilter
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions, ToolCallDelta, Usage

__all__ = ["DEFECTS", "RELEASE", "STORY", "CharProvider"]

STORY = (
    "Once upon a time a small robot named Pim kept the lighthouse on the northern cape. Every evening Pim "
    "polished the great lamp, counted the passing ships and wrote their names in a blue notebook. One stormy "
    "night a bottle washed up on the rocks, and inside it was a map drawn by a child."
)

#: Set when a test session ends: lets the worker threads of the "ignores_close" provider finish.
RELEASE = threading.Event()
RELEASE.clear()

DEFECTS: Mapping[str, str] = {
    "single_delta": "declares streaming but yields the whole answer in one delta",
    "no_stream_usage": "declares usage_in_stream but sends no usage",
    "undeclared_usage": "sends usage in the stream but declares usage_in_stream=False",
    "usage_increments": "sends usage increments to be summed instead of snapshots",
    "partial_stop_leak": "checks for the stop sequence only after yielding each character",
    "ignores_stop": "declares stop_sequences but ignores stop",
    "ignores_close": "does not stop its worker thread when the stream is closed",
    "undeclared_tool_calls": "returns tool calls but declares tool_calling='none'",
    "text_tool_calls": "declares native tool calls but writes them as text",
    "raw_errors": "lets the backend's own exceptions escape",
    "stream_differs": "generate() and the stream give different answers",
    "async_undeclared": "implements agenerate_stream but declares async_streaming=False",
    "async_blocks_loop": "declares async_streaming but its agenerate_stream blocks the event loop",
    "async_ignores_close": "declares async_streaming but does not stop its backend when the async stream is closed",
}

#: The defects that give the provider an ``agenerate_stream``.
ASYNC_DEFECTS = frozenset({"async_undeclared", "async_blocks_loop", "async_ignores_close"})


class ConnectError(Exception):
    """A client library's own connection error (like ``httpx.ConnectError``, which is not a
    ``ConnectionError``): only the provider knows what it means, so only the provider can map it."""


def _worker(text: str, slot: queue.Queue[str | None], cancel: threading.Event) -> None:
    for char in [*text, None]:
        while not cancel.is_set() and not RELEASE.is_set():
            try:
                slot.put(char, timeout=0.05)
                break
            except queue.Full:
                continue
        else:
            return


class CharProvider:
    """Hook implementations of the test provider (an object: ``register_provider(name, CharProvider(...))``)."""

    def __init__(self, name: str, defects: frozenset[str] | set[str] | tuple[str, ...] = ()) -> None:
        unknown = set(defects) - set(DEFECTS)
        if unknown:
            raise ValueError(f"unknown defects {sorted(unknown)}")
        self.name = name
        self.defects = frozenset(defects)
        if "stream_differs" in self.defects:  # only then does the provider implement generate

            def generate(messages: list[ChatMessage], options: GenerationOptions) -> ChatMessage:
                message = aggregate(self._stream(messages, options))
                return ChatMessage(
                    content=message.text.upper(), usage=message.usage, finish_reason=message.finish_reason
                )

            self.generate = modelplug.hookimpl(generate)
        if self.defects & ASYNC_DEFECTS:  # only then does the provider implement agenerate_stream

            def agenerate_stream(
                messages: list[ChatMessage], options: GenerationOptions
            ) -> AsyncIterator[ChatMessageStreamDelta]:
                return self._astream(self._stream(messages, options))

            self.agenerate_stream = modelplug.hookimpl(agenerate_stream)
        self._leaked: list[Any] = []

    @modelplug.hookimpl
    def capabilities(self) -> Capabilities:
        return Capabilities(
            streaming=True,
            async_streaming=bool(self.defects & ASYNC_DEFECTS - {"async_undeclared"}),
            tool_calling="none" if "undeclared_tool_calls" in self.defects else "native",
            streamed_tool_calls="undeclared_tool_calls" not in self.defects,
            usage_in_stream="undeclared_usage" not in self.defects,
            stop_sequences=True,
        )

    @modelplug.hookimpl
    def generate_stream(
        self, messages: list[ChatMessage], options: GenerationOptions
    ) -> Iterator[ChatMessageStreamDelta]:
        return self._stream(messages, options)

    async def _astream(self, deltas: Iterator[ChatMessageStreamDelta]) -> AsyncIterator[ChatMessageStreamDelta]:
        """The sync stream as an async one: each ``next()`` in a worker thread, or, with
        ``async_blocks_loop``, on the loop itself (slowly)."""
        import time

        import anyio.to_thread

        end = object()
        try:
            while True:
                if "async_blocks_loop" in self.defects:
                    time.sleep(0.02)
                    delta = next(deltas, end)
                else:
                    delta = await anyio.to_thread.run_sync(next, deltas, end)
                if delta is end:
                    return
                yield delta  # type: ignore[misc]
        finally:
            if "async_ignores_close" in self.defects:
                self._leaked.append(deltas)  # never closed: its worker thread runs on
            else:
                close = getattr(deltas, "close", None)
                if close is not None:
                    close()

    def _fail(self, kind: Any) -> None:
        if kind == "connection":
            if "raw_errors" in self.defects:
                raise ConnectError("connection refused by 127.0.0.1:9")
            raise ProviderConnectionError("cannot connect to 127.0.0.1:9", provider=self.name)

    def _stream(self, messages: list[ChatMessage], options: GenerationOptions) -> Iterator[ChatMessageStreamDelta]:
        self._fail(options.extra.get("fail"))
        prompt_tokens = sum(len(m.text) for m in messages)
        if options.tools:
            yield from self._tool_call(options, prompt_tokens)
            return
        start = 0
        if options.temperature:
            start = random.Random(options.seed).randrange(len(STORY) // 2)
        text = STORY[start : start + (options.max_tokens or len(STORY))]
        finish = "length" if options.max_tokens is not None and len(text) == options.max_tokens else "stop"
        slot: queue.Queue[str | None] = queue.Queue(maxsize=1)
        cancel = threading.Event()
        worker = threading.Thread(target=_worker, args=(text, slot, cancel), name=f"{self.name}-worker", daemon=True)
        worker.start()
        stops = () if "ignores_stop" in self.defects else options.stop
        cutter = StopFilter(stops)
        generated = 0
        emitted = ""
        pending = ""
        try:
            while (char := slot.get()) is not None:
                generated += 1
                if "partial_stop_leak" in self.defects:
                    seen = emitted + char
                    cut = min((seen.find(s) for s in stops if s in seen), default=-1)
                    piece = char if cut == -1 else seen[len(emitted) : cut] if cut > len(emitted) else ""
                    stopped = cut != -1
                else:
                    piece = cutter.feed(char)
                    stopped = cutter.stopped
                emitted += piece
                usage = Usage(prompt_tokens, 1) if "usage_increments" in self.defects else None
                if "single_delta" in self.defects:
                    pending += piece
                elif piece or usage:
                    yield ChatMessageStreamDelta(content=piece or None, usage=usage)
                if stopped:
                    finish = "stop"
                    break
            else:
                rest = cutter.flush()
                if "single_delta" in self.defects:
                    pending += rest
                elif rest:
                    yield ChatMessageStreamDelta(content=rest)
            if pending:
                yield ChatMessageStreamDelta(content=pending)
            if "undeclared_tool_calls" in self.defects:
                yield ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, "call_x", "get_weather", "{}"),))
            usage = None
            if "no_stream_usage" not in self.defects and "usage_increments" not in self.defects:
                usage = Usage(prompt_tokens, generated)
            yield ChatMessageStreamDelta(finish_reason=finish, usage=usage)
        finally:
            if "ignores_close" not in self.defects:
                cancel.set()
                worker.join()

    def _tool_call(self, options: GenerationOptions, prompt_tokens: int) -> Iterator[ChatMessageStreamDelta]:
        name = options.tools[0].name
        arguments = json.dumps({"city": "Paris"})
        if "text_tool_calls" in self.defects:
            yield ChatMessageStreamDelta(content=json.dumps({"name": name, "arguments": {"city": "Paris"}}))
            yield ChatMessageStreamDelta(finish_reason="stop", usage=Usage(prompt_tokens, len(arguments)))
            return
        yield ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, "call_0", name, arguments[:9]),))
        yield ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, None, None, arguments[9:]),))
        yield ChatMessageStreamDelta(finish_reason="tool_calls", usage=Usage(prompt_tokens, len(arguments)))
