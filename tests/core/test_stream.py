"""``ChatStream`` (modelplug._stream): iterating, aggregating, closing from the loop, a ``with`` block
or another thread, and what a provider's bad deltas become; ``message_to_deltas``."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
from tests.core.conftest import Scripted, load_broken

import modelplug
from modelplug import ChatMessage, ChatMessageStreamDelta, Usage
from modelplug._aggregation import aggregate
from modelplug._pipeline import DeltaPipeline
from modelplug._stream import ChatStream, message_to_deltas, run_pipeline
from modelplug.errors import PluginContractError, ProviderError
from modelplug.types import Capabilities, GenerationOptions, ToolCall


def test_stream_yields_deltas_and_aggregates(scripted: Scripted) -> None:
    with modelplug.load_model("scripted:m").stream("x") as stream:
        contents = [d.content for d in stream]
    assert contents == ["Hello", " world", None]
    assert stream.message.content == "Hello world"
    assert stream.message.usage == Usage(3, 2)
    assert stream.outcome == "ok" and stream.ttft_s is not None and stream.duration_s is not None


def test_error_mid_stream_keeps_what_was_received(fresh_plugins: None) -> None:
    provider = Scripted(pieces=("a", "b", "c"), fail_after=2)
    modelplug.register_provider("flaky", provider)
    stream = modelplug.load_model("flaky:m").stream("x")
    received = []
    with pytest.raises(ProviderError, match="backend exploded") as caught:
        for delta in stream:
            received.append(delta.content)
    assert received == ["a", "b"]
    assert stream.message.content == "ab"
    assert isinstance(caught.value.original, RuntimeError)
    assert caught.value.__cause__ is caught.value.original
    assert stream.error is caught.value and stream.outcome == "error"


def test_breaking_out_closes_the_provider(scripted: Scripted) -> None:
    model = modelplug.load_model("scripted:m")
    for _ in model.stream("x"):
        break
    gc.collect()
    assert scripted.closed
    scripted.closed = False
    with model.stream("x") as stream:
        next(stream)
    assert scripted.closed and stream.outcome == "cancelled"
    assert stream.message.content == "Hello"


def test_yielding_something_else_than_a_delta_is_a_plugin_error_keeping_the_partial_answer(
    fresh_plugins: None,
) -> None:
    closed = []

    def deltas() -> Iterator[object]:
        try:
            yield ChatMessageStreamDelta(content="a")
            yield "b"
        finally:
            closed.append(True)

    model = load_broken(stream=deltas)
    stream = model.stream("x")
    with pytest.raises(PluginContractError, match=r"must yield modelplug\.ChatMessageStreamDelta values, got str"):
        list(stream)  # was a bare AttributeError from the aggregator
    assert stream.message.content == "a" and stream.outcome == "error" and closed == [True]
    with pytest.raises(PluginContractError):
        model.generate("x")


def test_closing_from_another_thread_closes_the_provider_and_ends_the_loop(fresh_plugins: None) -> None:
    produced = threading.Event()
    release = threading.Event()
    closed = []

    def deltas() -> Iterator[ChatMessageStreamDelta]:
        try:
            yield ChatMessageStreamDelta(content="a")
            produced.set()
            release.wait(10)  # the provider is busy producing the next delta when close() comes
            yield ChatMessageStreamDelta(content="b")
            yield ChatMessageStreamDelta(content="c")
        finally:
            closed.append(True)

    stream = load_broken(stream=deltas).stream("x")
    assert next(stream).content == "a"

    def close_while_busy() -> None:
        produced.wait(10)
        stream.close()  # returns at once: the provider's generator is executing in the other thread
        release.set()

    closer = threading.Thread(target=close_while_busy)
    closer.start()
    rest = list(stream)
    closer.join()
    # The provider was never closed (its generator could not be closed while running) and kept going.
    assert rest == [] and closed == [True] and stream.outcome == "cancelled" and stream.message.content == "a"


def test_a_delta_with_a_field_of_the_wrong_type_is_a_plugin_error(fresh_plugins: None) -> None:
    def deltas() -> Iterator[ChatMessageStreamDelta]:
        yield ChatMessageStreamDelta(content="a")
        yield ChatMessageStreamDelta(usage={"prompt_tokens": 1})  # type: ignore[arg-type]

    stream = load_broken(stream=deltas).stream("x")
    with pytest.raises(PluginContractError, match=r"'broken' yielded a malformed delta: delta\.usage must be"):
        list(stream)
    assert stream.message.content == "a" and stream.message.usage is None


def test_a_stream_ending_while_another_thread_closes_it_is_finished_once(
    fresh_plugins: None, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import threading

    caplog.set_level(logging.INFO, logger="modelplug")
    model = modelplug.load_model("replay:x", responses=["a b c"], loop=True)
    for _ in range(50):
        stream = model.stream("q")
        closer = threading.Thread(target=stream.close)
        closer.start()
        for _ in stream:
            pass
        closer.join()
    events = [r for r in caplog.records if "event='generation'" in r.getMessage()]
    assert len(events) == 50


def _counted(pieces: list[str], closed: list[bool]) -> Iterator[ChatMessageStreamDelta]:
    try:
        for piece in pieces:
            yield ChatMessageStreamDelta(content=piece)
        yield ChatMessageStreamDelta(usage=Usage(2, len(pieces)), finish_reason="stop")
    finally:
        closed.append(True)


def test_until_done_returns_the_whole_message_and_repr_shows_the_outcome() -> None:
    closed: list[bool] = []
    stream = ChatStream(_counted(["a", "b"], closed), provider="p", model_id="m")
    assert repr(stream) == "<ChatStream p:m open>" and not stream.closed
    message = stream.until_done()
    assert message.content == "ab" and message.usage == Usage(2, 2) and message.finish_reason == "stop"
    assert repr(stream) == "<ChatStream p:m ok>" and stream.closed and closed == [True]
    assert list(stream) == []  # a finished stream yields nothing more


def test_close_before_the_first_delta_stops_the_source_once() -> None:
    closed: list[bool] = []
    source = _counted(["a"], closed)
    next(source)  # started: closing it runs its finally
    stream = ChatStream(source, provider="p", model_id="m")
    stream.close()
    stream.close()
    assert closed == [True] and stream.outcome == "cancelled" and stream.message.content is None
    assert list(stream) == []


def test_an_interrupt_from_the_source_stops_it_and_keeps_the_partial_answer() -> None:
    closed: list[bool] = []

    def interrupted() -> Iterator[ChatMessageStreamDelta]:
        try:
            yield ChatMessageStreamDelta(content="kept")
            raise KeyboardInterrupt
        finally:
            closed.append(True)

    stream = ChatStream(interrupted(), provider="p", model_id="m")
    with pytest.raises(KeyboardInterrupt):
        list(stream)
    assert stream.message.content == "kept" and stream.outcome == "cancelled" and closed == [True]


MESSAGES = [
    ChatMessage(content="plain", finish_reason="stop"),
    ChatMessage(content="with usage", usage=Usage(3, 4), finish_reason="length"),
    ChatMessage(content=None, reasoning_content="thinking", finish_reason="stop"),
    ChatMessage(
        content="calling",
        tool_calls=(
            ToolCall(id="c1", name="f", arguments={"x": 1, "city": "Zürich"}),
            ToolCall(id="c2", name="g", arguments=None, raw_arguments="{not json"),
        ),
        finish_reason="tool_calls",
    ),
]


@pytest.mark.parametrize("message", MESSAGES)
def test_message_to_deltas_aggregates_back_to_the_message(message: ChatMessage) -> None:
    deltas = list(message_to_deltas(message))
    assert len(deltas) == 1
    back = aggregate(deltas)
    assert (back.content, back.reasoning_content, back.usage, back.finish_reason) == (
        message.content,
        message.reasoning_content,
        message.usage,
        message.finish_reason,
    )
    assert [(c.id, c.name, c.arguments, c.raw_arguments if c.arguments is None else None) for c in back.tool_calls] == [
        (c.id, c.name, c.arguments, c.raw_arguments if c.arguments is None else None) for c in message.tool_calls
    ]


def test_run_pipeline_closes_the_source_at_a_stop_sequence_or_drains_it_for_the_usage() -> None:
    for drain, read in [(False, ["a", "b<end>c"]), (True, ["a", "b<end>c", "d"])]:
        seen: list[str] = []

        def source(seen: list[str] = seen) -> Iterator[ChatMessageStreamDelta]:
            for piece in ["a", "b<end>c", "d"]:
                seen.append(piece)
                yield ChatMessageStreamDelta(content=piece)
            yield ChatMessageStreamDelta(usage=Usage(1, 3), finish_reason="length")  # read only when drained

        pipeline = DeltaPipeline.for_generation(Capabilities(stop_sequences=False), GenerationOptions(stop=["<end>"]))
        message = aggregate(run_pipeline(source(), pipeline, drain_after_stop=drain))
        assert message.content == "ab" and message.finish_reason == "stop"
        assert seen == read
        assert message.usage == (Usage(1, 3) if drain else None)


class _StalledResponse:
    """What an HTTP provider returns: one delta, then a read that blocks until ``close()`` (which,
    like closing a socket, may come from any thread) ends it."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.sent = False

    def __iter__(self) -> _StalledResponse:
        return self

    def __next__(self) -> ChatMessageStreamDelta:
        if not self.sent:
            self.sent = True
            return ChatMessageStreamDelta(content="first")
        if not self.closed.wait(30):
            raise AssertionError("the stalled read was never closed")
        raise StopIteration

    def close(self) -> None:
        self.closed.set()


@pytest.mark.parametrize("pipeline", ["stops", "text tool calls"])
@pytest.mark.parametrize("closer", ["stream", "model"])
def test_a_close_from_another_thread_reaches_a_stalled_source_through_the_pipeline(
    fresh_plugins: None, pipeline: str, closer: str
) -> None:
    responses: list[_StalledResponse] = []

    class Stalling:
        @modelplug.hookimpl
        def capabilities(self) -> Capabilities:
            return Capabilities(streaming=True, stop_sequences=False, tool_calling="text")

        @modelplug.hookimpl
        def generate_stream(self) -> _StalledResponse:
            responses.append(_StalledResponse())
            return responses[-1]

    modelplug.register_provider("stalling", Stalling())
    model = modelplug.load_model("stalling:m")
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    options = {"stop": ["zzz"]} if pipeline == "stops" else {"tools": [tool]}
    stream = model.stream("hi", **options)
    assert next(stream).content == "first"
    rest: list[object] = []
    reader = threading.Thread(target=lambda: rest.extend(stream), daemon=True)
    reader.start()
    reader.join(0.2)  # blocked in the stalled read
    (stream if closer == "stream" else model).close()
    reader.join(5)
    assert not reader.is_alive(), "close() did not reach the source under the pipeline"
    assert responses[0].closed.is_set() and stream.outcome == "cancelled"
    assert rest == [] and stream.message.content == "first"
    model.close()
