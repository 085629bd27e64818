"""Model.astream / Model.agenerate: the same answers, options, errors and post-processing as the sync
path, over native async providers and sync providers in a worker thread; cancellation stops the backend."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import pytest

import modelplug
from modelplug import ChatMessage, ChatMessageStreamDelta, Usage
from modelplug._astream import AsyncChatStream
from modelplug.errors import (
    CapabilityError,
    InvalidOptionError,
    PluginContractError,
    ProviderError,
    ToolCallParseError,
)

TEXT_CALLS = {"tool_calling": "text", "tool_call_format": "hermes"}
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
#: The replay provider's two routes for async callers: its native agenerate_stream, and its
#: generate_stream in the core's worker thread.
ROUTES = {"native": {}, "thread": {"async_streaming": False}}


def _text_response(text: str) -> list[dict[str, object]]:
    chunks: list[dict[str, object]] = [
        {"choices": [{"delta": {"content": text[i : i + 7]}}]} for i in range(0, len(text), 7)
    ]
    chunks.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    chunks.append({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}})
    return chunks


def _replay(route: str, responses: list[Any], **capabilities: Any) -> modelplug.Model:
    return modelplug.load_model(
        "replay:t", responses=responses, loop=True, capabilities={**ROUTES[route], **capabilities}
    )


async def _collect(stream: AsyncChatStream) -> list[ChatMessageStreamDelta]:
    async with stream:
        return [delta async for delta in stream]


def _ids_out(value: Any) -> Any:
    """``value`` (deltas, a message) with tool-call ids blanked (text tool calls get random ids)."""
    if isinstance(value, list):
        return [_ids_out(item) for item in value]
    return attrs.evolve(value, tool_calls=tuple(attrs.evolve(call, id="") for call in value.tool_calls))


def _no_stream_threads(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while any(t.name.startswith("modelplug-") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("modelplug-")]


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize(
    "options",
    [{}, {"stop": ["quick"]}, {"stop": ["zzz"]}, {"tools": [WEATHER]}, {"tools": [WEATHER], "stop": ["zzz"]}],
    ids=["plain", "stop", "stop-absent", "text-tools", "tools-and-stop"],
)
def test_astream_and_agenerate_equal_the_sync_path(fresh_plugins: None, route: str, options: dict[str, Any]) -> None:
    text = 'The quick answer. <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
    model = _replay(route, [_text_response(text)], **TEXT_CALLS)
    sync_deltas = list(model.stream("q", **options))
    sync_message = model.generate("q", **options)

    async def main() -> tuple[list[ChatMessageStreamDelta], ChatMessage, ChatMessage]:
        stream = model.astream("q", **options)
        deltas = await _collect(stream)
        assert stream.outcome == "ok"
        return deltas, stream.message, await model.agenerate("q", **options)

    deltas, streamed, generated = asyncio.run(main())
    assert _ids_out(deltas) == _ids_out(sync_deltas)
    assert _ids_out(streamed) == _ids_out(modelplug.aggregate(sync_deltas))
    assert _ids_out(generated) == _ids_out(sync_message)
    _no_stream_threads()


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_unreadable_text_tool_call_keeps_the_answer(fresh_plugins: None, route: str) -> None:
    text = "Sure. <tool_call>{bad json</tool_call>"
    model = _replay(route, [_text_response(text)], **TEXT_CALLS)

    async def main() -> None:
        stream = model.astream("x", tools=[WEATHER])
        with pytest.raises(ToolCallParseError) as caught:
            await _collect(stream)
        assert caught.value.text == text
        assert stream.message.usage == Usage(9, 4)
        assert stream.message.finish_reason == "stop"
        assert stream.outcome == "error"
        with pytest.raises(ToolCallParseError) as caught:
            await model.agenerate("x", tools=[WEATHER])
        assert caught.value.message.usage == Usage(9, 4)
        assert caught.value.message.content == text

    asyncio.run(main())


def test_option_and_capability_errors_are_raised_by_the_call(fresh_plugins: None) -> None:
    model = _replay("native", ["hi"], tool_calling="none")
    with pytest.raises(InvalidOptionError, match="max_tokens"):
        model.astream("q", max_tokens=-1)
    with pytest.raises(CapabilityError, match="tool_calling"):
        model.astream("q", tools=[WEATHER])
    with pytest.raises(InvalidOptionError):
        asyncio.run(model.agenerate("q", temperature="hot"))
    quiet = _replay("native", ["hi"], streaming=False, async_streaming=False)
    with pytest.raises(CapabilityError, match="streaming"):
        quiet.astream("q")


class Scripted:
    """An in-code provider with the hooks each test asks for."""

    def __init__(self, *, pieces: tuple[str, ...] = ("Hello", " world"), delay: float = 0.0) -> None:
        self.pieces = pieces
        self.delay = delay
        self.started = threading.Event()
        self.closed = threading.Event()

    def deltas(self) -> Iterator[ChatMessageStreamDelta]:
        self.started.set()
        try:
            for piece in self.pieces:
                if self.delay:
                    time.sleep(self.delay)
                yield ChatMessageStreamDelta(content=piece)
            yield ChatMessageStreamDelta(usage=Usage(3, len(self.pieces)), finish_reason="stop")
        finally:
            self.closed.set()

    async def adeltas(self) -> AsyncIterator[ChatMessageStreamDelta]:
        self.started.set()
        try:
            for piece in self.pieces:
                await asyncio.sleep(self.delay)
                yield ChatMessageStreamDelta(content=piece)
            yield ChatMessageStreamDelta(usage=Usage(3, len(self.pieces)), finish_reason="stop")
        finally:
            self.closed.set()


class SyncOnly(Scripted):
    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True, usage_in_stream=True)

    @modelplug.hookimpl
    def generate_stream(self) -> Iterator[ChatMessageStreamDelta]:
        return self.deltas()


class AsyncOnly(Scripted):
    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True, async_streaming=True, usage_in_stream=True)

    @modelplug.hookimpl
    def agenerate_stream(self) -> AsyncIterator[ChatMessageStreamDelta]:
        return self.adeltas()


class GenerateOnly(Scripted):
    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities()

    @modelplug.hookimpl
    def generate(self) -> ChatMessage:
        self.started.set()
        return ChatMessage(content="".join(self.pieces), finish_reason="stop")


def test_an_async_only_provider_serves_sync_callers_on_the_loop_thread(fresh_plugins: None) -> None:
    provider = AsyncOnly(pieces=("a", "b", "c"))
    modelplug.register_provider("asynconly", provider)
    model = modelplug.load_model("asynconly:m")
    assert model.generate("q").content == "abc"
    with model.stream("q") as stream:
        assert next(stream).content == "a"
    assert provider.closed.wait(5)  # closing the sync stream ran aclose() on the loop thread
    assert stream.message.content == "a"
    assert asyncio.run(model.agenerate("q")).content == "abc"


def test_a_generate_only_provider_serves_async_callers(fresh_plugins: None) -> None:
    modelplug.register_provider("batch", GenerateOnly(pieces=("x", "y")))
    model = modelplug.load_model("batch:m")

    async def main() -> None:
        assert (await model.agenerate("q")).content == "xy"
        stream = model.astream("q", allow_fallback=True)
        assert [d.content for d in await _collect(stream)] == ["xy"]

    asyncio.run(main())


@pytest.mark.parametrize("provider_class", [SyncOnly, AsyncOnly])
@pytest.mark.parametrize("how", ["task.cancel", "timeout", "break", "aclose"])
def test_cancellation_stops_the_backend_and_keeps_the_answer(
    fresh_plugins: None, provider_class: type[Scripted], how: str
) -> None:
    provider = provider_class(pieces=tuple(f"w{n} " for n in range(1000)), delay=0.01)
    modelplug.register_provider("slow", provider)
    model = modelplug.load_model("slow:m")

    async def main() -> AsyncChatStream:
        stream = model.astream("q")
        got = asyncio.Event()

        async def consume() -> None:
            async with stream:
                async for _ in stream:
                    got.set()
                    if how == "break" and len(stream.message.content or "") > 6:
                        break

        if how == "task.cancel":
            task = asyncio.create_task(consume())
            await got.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        elif how == "timeout":
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.1):
                    await consume()
        elif how == "break":
            await consume()
        else:
            async for _ in stream:
                break
            await stream.aclose()
        return stream

    stream = asyncio.run(main())
    assert provider.closed.is_set()  # the backend was stopped before the cancellation came out
    assert stream.outcome == "cancelled"
    assert (stream.message.content or "").startswith("w0 ")
    assert len(stream.message.content or "") < 1000 * 3
    _no_stream_threads()


class Broken(Scripted):
    def __init__(self, bad: object) -> None:
        super().__init__()
        self.bad = bad

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True, async_streaming=True)

    @modelplug.hookimpl
    def agenerate_stream(self) -> AsyncIterator[object]:
        async def deltas() -> AsyncIterator[object]:
            yield ChatMessageStreamDelta(content="kept")
            if isinstance(self.bad, BaseException):
                raise self.bad
            yield self.bad

        return deltas()


@pytest.mark.parametrize(
    ("bad", "error"),
    [(RuntimeError("backend exploded"), ProviderError), ("a string", PluginContractError)],
)
def test_errors_mid_stream_keep_what_arrived(fresh_plugins: None, bad: object, error: type[Exception]) -> None:
    modelplug.register_provider("broken", Broken(bad))
    model = modelplug.load_model("broken:m")

    async def main() -> AsyncChatStream:
        stream = model.astream("q")
        with pytest.raises(error) as caught:
            await _collect(stream)
        if error is PluginContractError:
            assert caught.value.hook == "agenerate_stream"  # type: ignore[attr-defined]
        return stream

    stream = asyncio.run(main())
    assert stream.message.content == "kept"
    assert stream.outcome == "error"
    assert isinstance(stream.error, error)


def test_cancelling_one_of_many_streams_stops_only_that_one(fresh_plugins: None) -> None:
    providers = [SyncOnly(pieces=tuple(f"{n}." for n in range(40)), delay=0.005) for _ in range(4)]
    providers += [AsyncOnly(pieces=tuple(f"{n}." for n in range(40)), delay=0.005) for _ in range(4)]
    models = []
    for number, provider in enumerate(providers):
        modelplug.register_provider(f"p{number}", provider)
        models.append(modelplug.load_model(f"p{number}:m"))

    async def main() -> list[ChatMessage]:
        tasks = [asyncio.create_task(model.astream("q").until_done()) for model in models]
        await asyncio.sleep(0.05)
        tasks[0].cancel()
        tasks[4].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(results[0], asyncio.CancelledError) and isinstance(results[4], asyncio.CancelledError)
        return [r for r in results if isinstance(r, ChatMessage)]

    finished = asyncio.run(main())
    expected = "".join(f"{n}." for n in range(40))
    assert [m.content for m in finished] == [expected] * 6
    assert all(p.closed.is_set() for p in providers)
    _no_stream_threads()
