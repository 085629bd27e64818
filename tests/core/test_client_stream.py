"""The chat-client kit's provider half (modelplug.client_stream): ``StreamReader`` over a client
library's chunk iterators (sync and async), ``ClientState`` and the shared hooks, ``checked_request``.
The kit over real HTTP, through the fault suites, is ``tests/servers/test_kit_provider.py``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

from modelplug._aggregation import aggregate
from modelplug.client_stream import ClientState, StreamReader, capabilities, checked_request, unload
from modelplug.errors import InvalidOptionError, ProviderConnectionError, ProviderError, ServerError
from modelplug.retry import RetryPolicy
from modelplug.secrets import redact, register_secret
from modelplug.types import Capabilities, ChatMessageStreamDelta, GenerationOptions


class Chunks:
    """A client library's chunk stream: dict chunks, an optional failure after some, ``close()`` recorded."""

    def __init__(self, texts: list[str | None], *, fail_after: int | None = None) -> None:
        self.texts = texts
        self.fail_after = fail_after
        self.closed = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for number, text in enumerate(self.texts):
            if number == self.fail_after:
                raise ConnectionResetError("peer reset")
            yield {"text": text}

    def close(self) -> None:
        self.closed += 1


class AsyncChunks(Chunks):
    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:  # type: ignore[override]
        for chunk in Chunks.__iter__(self):
            await anyio.lowlevel.checkpoint()
            yield chunk

    async def aclose(self) -> None:
        self.closed += 1


def _read(chunk: dict[str, Any], chunks: object) -> ChatMessageStreamDelta | None:
    return None if chunk["text"] is None else ChatMessageStreamDelta(content=chunk["text"])


def _classify(error: BaseException) -> ProviderError:
    if isinstance(error, ProviderError):
        return error
    return ProviderConnectionError(f"kit: {error}", provider="kit", original=error)


READER = StreamReader(provider="kit", delta=_read, classify=_classify)


def iter_closable(chunks: Chunks) -> Iterator[dict[str, Any]]:
    """``chunks`` as an iterator that still has the client's ``close()``."""

    class Iterating:
        def __init__(self) -> None:
            self.inner = iter(chunks)

        def __iter__(self) -> Iterating:
            return self

        def __next__(self) -> dict[str, Any]:
            return next(self.inner)

        def close(self) -> None:
            chunks.close()

    return Iterating()


def test_deltas_reads_each_chunk_skips_none_and_closes_the_client_stream() -> None:
    chunks = Chunks(["a", None, "b"])
    assert [d.content for d in READER.deltas(iter_closable(chunks))] == ["a", "b"]
    assert chunks.closed == 1


def test_an_empty_stream_is_a_retryable_server_error_unless_at_end_says_otherwise() -> None:
    chunks = Chunks([])
    with pytest.raises(ServerError, match="kit: the server answered 200 but sent no stream data"):
        list(READER.deltas(iter_closable(chunks)))
    assert chunks.closed == 1
    ended: list[int] = []
    reader = StreamReader(provider="kit", delta=_read, classify=_classify, at_end=lambda _, n: ended.append(n))
    assert list(reader.deltas(iter_closable(Chunks([])))) == [] and ended == [0]
    assert list(reader.deltas(iter_closable(Chunks([None, None])))) == [] and ended == [0, 2]


def test_an_error_while_reading_is_classified_after_the_deltas_already_read() -> None:
    chunks = Chunks(["a", "b", "c"], fail_after=2)
    received: list[str | None] = []
    with pytest.raises(ProviderConnectionError, match="peer reset") as caught:
        for delta in READER.deltas(iter_closable(chunks)):
            received.append(delta.content)
    assert received == ["a", "b"] and isinstance(caught.value.__cause__, ConnectionResetError)
    assert chunks.closed == 1


def test_at_error_may_end_the_stream_normally_with_a_last_delta() -> None:
    def at_error(error: BaseException, chunks: object) -> ChatMessageStreamDelta | None:
        if isinstance(error, ConnectionResetError):
            return ChatMessageStreamDelta(finish_reason="stop")
        raise _classify(error)

    reader = StreamReader(provider="kit", delta=_read, classify=_classify, at_error=at_error)
    message = aggregate(reader.deltas(iter_closable(Chunks(["a", "b"], fail_after=1))))
    assert message.content == "a" and message.finish_reason == "stop"


def _with_aclose(chunks: AsyncChunks) -> AsyncIterator[dict[str, Any]]:
    class Iterating:
        def __init__(self) -> None:
            self.inner = chunks.__aiter__()

        def __aiter__(self) -> Iterating:
            return self

        async def __anext__(self) -> dict[str, Any]:
            return await self.inner.__anext__()

        async def aclose(self) -> None:
            await chunks.aclose()

    return Iterating()


def test_adeltas_is_the_async_twin() -> None:
    async def main() -> tuple[list[str | None], AsyncChunks, AsyncChunks]:
        good = AsyncChunks(["a", None, "b"])
        contents = [d.content async for d in READER.adeltas(_with_aclose(good))]
        failing = AsyncChunks(["a", "b"], fail_after=1)
        with pytest.raises(ProviderConnectionError, match="peer reset"):
            async for _ in READER.adeltas(_with_aclose(failing)):
                pass
        return contents, good, failing

    contents, good, failing = anyio.run(main)
    assert contents == ["a", "b"]
    assert good.closed == 1 and failing.closed == 1


def _state(retries: int = 1) -> ClientState:
    return ClientState(
        model="m", capabilities=Capabilities(streaming=True), retry=RetryPolicy(max_retries=retries, backoff=0.001)
    )


def test_stream_retries_an_empty_answer_and_closes_each_attempt() -> None:
    attempts: list[Chunks] = []
    closed: list[int] = []

    def call(closing: contextlib.ExitStack[Any]) -> Iterator[dict[str, Any]]:
        chunks = Chunks([] if not attempts else ["hello", " there"])
        attempts.append(chunks)
        closing.callback(closed.append, len(attempts))
        return iter_closable(chunks)

    message = aggregate(READER.stream(_state(), call))
    assert message.content == "hello there"
    assert len(attempts) == 2 and [a.closed for a in attempts] == [1, 1]
    assert 1 in closed  # the failed attempt's closer ran


def test_stream_maps_a_failing_call_and_closes_what_it_registered() -> None:
    closed: list[str] = []

    def call(closing: contextlib.ExitStack[Any]) -> Iterator[dict[str, Any]]:
        closing.callback(closed.append, "client")
        raise ConnectionRefusedError("nobody listens")

    with pytest.raises(ProviderConnectionError, match="nobody listens"):
        list(READER.stream(_state(retries=0), call))
    assert closed == ["client"]


def test_close_from_the_caller_runs_the_closer_of_the_attempt() -> None:
    closed: list[str] = []

    def call(closing: contextlib.ExitStack[Any]) -> Iterator[dict[str, Any]]:
        closing.callback(closed.append, "response")
        return iter_closable(Chunks(["a", "b", "c"]))

    stream = READER.stream(_state(), call)
    assert next(stream).content == "a"
    stream.close()  # type: ignore[attr-defined]
    assert closed == ["response"]


def test_checked_request_refuses_what_json_cannot_carry_before_sending() -> None:
    kwargs = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert checked_request(kwargs, GenerationOptions(), provider="kit") is kwargs
    with pytest.raises(InvalidOptionError, match="kit: the request cannot be sent as JSON"):
        checked_request({"messages": [{"role": "user", "content": object()}]}, GenerationOptions(), provider="kit")
    with pytest.raises(InvalidOptionError, match="kit: the request cannot be sent as JSON"):
        checked_request(kwargs, GenerationOptions(extra={"temperature_boost": float("nan")}), provider="kit")


def test_client_state_hides_its_secrets_and_unload_releases_them() -> None:
    secret = "plain-client-stream-value-0001"  # no key pattern: redacted only while registered
    register_secret(secret)
    state = ClientState(
        model="m", settings={"api_key": secret, "timeout": 5}, capabilities=Capabilities(), secrets=(secret,)
    )
    assert secret not in repr(state) and "'timeout': 5" in repr(state)
    assert capabilities(state) is state.capabilities
    assert redact(secret) == "***"
    unload(state)
    assert redact(secret) == secret
