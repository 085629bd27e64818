"""The chat-client kit's provider half: a base state, its shared hooks, and one driver for a client
library's streamed call (sync and async).

A provider built on a client library keeps three things of its own: building the client call,
classifying the client's exceptions, and reading the client's chunks
(:func:`modelplug.wire.delta_from_chunk` names the fields). The guide is
``docs/writing-a-plugin.md`` ("HTTP providers: the chat-client kit").
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any

import attrs

from modelplug.chat_client import aopen_stream, empty_stream_error, open_stream, request_json
from modelplug.errors import ModelplugError, ProviderError
from modelplug.hookspecs import hookimpl
from modelplug.retry import RetryPolicy
from modelplug.secrets import redact_mapping, release_secret
from modelplug.types import Capabilities, ChatMessageStreamDelta, GenerationOptions

__all__ = ["ClientState", "StreamReader", "capabilities", "checked_request", "unload"]


@attrs.define(repr=False, kw_only=True)
class ClientState:
    """The state ``load`` returns for one model of a provider built on the kit (subclass it with
    attrs to add fields).

    Attributes:
        model: the model name sent in requests (``None`` where the client is given an endpoint URL).
        settings: the client's settings from the model options (shown redacted in ``repr``).
        capabilities: what the model declares: the provider's defaults with the ``capabilities``
            override applied (``reserved.apply(defaults)`` in ``load``).
        retry: the retry policy (``reserved.retry`` in ``load``): retries before the first delta only.
        secrets: the credentials the requests carry
            (:func:`~modelplug.chat_client.register_request_secrets`), released by :func:`unload`.
    """

    model: str | None
    settings: dict[str, Any] = attrs.field(factory=dict)
    capabilities: Capabilities
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, options={redact_mapping(self.settings)!r})"


@hookimpl
def capabilities(state: ClientState) -> Capabilities:
    """The ``capabilities`` hook of a provider built on the kit: ``state.capabilities``. A provider
    uses it by importing it into its plugin module (pluggy finds hooks by attribute)."""
    return state.capabilities


@hookimpl
def unload(state: ClientState) -> None:
    """The ``unload`` hook of a provider built on the kit: release the secrets the model registered."""
    for secret in state.secrets:
        release_secret(secret)


def checked_request(kwargs: dict[str, Any], options: GenerationOptions, *, provider: str) -> dict[str, Any]:
    """``kwargs`` (a client call's arguments with ``messages`` and maybe ``tools``), checked to be
    JSON with ``options.extra`` before anything is sent (:func:`~modelplug.chat_client.request_json`).

    Raises:
        InvalidOptionError: a value JSON cannot carry (raised at once, never retried).
    """
    request_json({"messages": kwargs["messages"], "tools": kwargs.get("tools"), **options.extra}, provider=provider)
    return kwargs


def _no_chunk_is_empty(provider: str) -> Callable[[Any, int], None]:
    def check(chunks: Any, received: int) -> None:
        if not received:
            raise empty_stream_error(provider)

    return check


@attrs.frozen(kw_only=True)
class StreamReader:
    """How a provider reads its client's stream; :meth:`stream` and :meth:`astream` drive it.

    Attributes:
        provider: the provider name (in errors and retry logs).
        delta: ``(chunk, chunks) -> delta or None``: one chunk of the client's stream (``chunks``
            is the stream itself, for providers that read state off it); ``None`` skips the chunk.
            May raise a :class:`~modelplug.errors.ProviderError` (an error object in the stream).
        classify: ``error -> ProviderError``: the client's exception as a modelplug error (a
            ``ProviderError`` returned as is), for the call and for the read.
        aclassify: the async twin of ``classify`` where classifying must await (read the body of an
            error response); ``classify`` is used when ``None``.
        at_error: ``(error, chunks) -> delta or None`` for an exception while reading that is a
            normal end of the stream: return a last delta (or ``None``); raise otherwise. ``None``:
            every exception is raised as ``classify(error)``.
        at_end: ``(chunks, received)``, called when the stream ended, ``received`` the count of
            chunks; raises the empty-200 error (:func:`~modelplug.chat_client.empty_stream_error`)
            by default when no chunk came.
    """

    provider: str
    delta: Callable[[Any, Any], ChatMessageStreamDelta | None]
    classify: Callable[[BaseException], ProviderError]
    aclassify: Callable[[BaseException], Awaitable[ProviderError]] | None = None
    at_error: Callable[[BaseException, Any], ChatMessageStreamDelta | None] | None = None
    at_end: Callable[[Any, int], None] | None = None

    def _after_error(self, error: Exception, chunks: Any) -> ChatMessageStreamDelta | None:
        if isinstance(error, ModelplugError):  # the reader's own (a malformed chunk, an error object): as raised
            raise error
        if self.at_error is None:
            raise self.classify(error) from error
        return self.at_error(error, chunks)

    def _end(self, chunks: Any, received: int) -> None:
        (self.at_end or _no_chunk_is_empty(self.provider))(chunks, received)

    def deltas(self, chunks: Iterator[Any]) -> Generator[ChatMessageStreamDelta, None, None]:
        """The deltas of a client's chunk iterator; the iterator is closed (``close()``) at the end."""
        received = 0
        read = self.delta  # bound once: this loop runs per chunk
        try:
            try:
                for chunk in chunks:
                    received += 1
                    delta = read(chunk, chunks)
                    if delta is not None:
                        yield delta
            except Exception as error:
                last = self._after_error(error, chunks)
                if last is not None:
                    yield last
                return
            self._end(chunks, received)
        finally:
            close = getattr(chunks, "close", None)
            if callable(close):
                close()

    async def adeltas(
        self, chunks: AsyncIterator[Any], close: Callable[[], Awaitable[object]] | None = None
    ) -> AsyncGenerator[ChatMessageStreamDelta, None]:
        """:meth:`deltas` over an async chunk iterator (closed with ``aclose()`` at the end, then
        ``await close()`` when given: the transport is done)."""
        received = 0
        read = self.delta
        try:
            try:
                async for chunk in chunks:
                    received += 1
                    delta = read(chunk, chunks)
                    if delta is not None:
                        yield delta
            except Exception as error:
                last = self._after_error(error, chunks)
                if last is not None:
                    yield last
                return
            self._end(chunks, received)
        finally:
            try:
                aclose = getattr(chunks, "aclose", None)
                if callable(aclose):
                    await aclose()
            finally:
                if close is not None:
                    await close()

    def stream(
        self, state: ClientState, call: Callable[[contextlib.ExitStack[Any]], Iterator[Any]]
    ) -> Iterator[ChatMessageStreamDelta]:
        """The ``generate_stream`` result: ``call(closing)`` makes the client's streamed call and
        returns its chunk iterator, registering on ``closing`` (an ``ExitStack``) what closes it
        (``closing.callback(client.close)``; callbacks run last-in first-out, so register a socket
        shutdown such as :func:`~modelplug.chat_client.shutdown_httpx_response` last).

        Each attempt is retried under ``state.retry`` before the first delta only
        (:func:`~modelplug.chat_client.open_stream`); ``close()`` from any thread runs ``closing``.
        An exception of ``call`` closes what it registered and is raised as ``classify(error)``.
        """

        def start() -> tuple[Callable[[], object], Generator[ChatMessageStreamDelta, None, None]]:
            closing = contextlib.ExitStack()
            try:
                chunks = call(closing)
            except Exception as error:
                mapped = self.classify(error)
                with contextlib.suppress(Exception):
                    closing.close()
                raise mapped from error
            except BaseException:
                with contextlib.suppress(Exception):
                    closing.close()
                raise
            return closing.close, self.deltas(chunks)

        return open_stream(state.retry, start, provider=self.provider, model=state.model or "")

    def astream(
        self, state: ClientState, call: Callable[[contextlib.AsyncExitStack[Any]], Awaitable[AsyncIterator[Any]]]
    ) -> AsyncIterator[ChatMessageStreamDelta]:
        """The ``agenerate_stream`` result: :meth:`stream` on the event loop. ``call(closing)`` is a
        coroutine function; ``closing`` an ``AsyncExitStack`` (``closing.push_async_callback(client.close)``).
        ``aclose()`` or a cancellation closes the deltas and runs ``closing`` at once
        (:func:`~modelplug.chat_client.aopen_stream`)."""

        async def start() -> tuple[Callable[[], Awaitable[object]], AsyncGenerator[ChatMessageStreamDelta, None]]:
            closing = contextlib.AsyncExitStack()

            async def close() -> None:
                with contextlib.suppress(Exception):  # already closed, or the connection already failed
                    await closing.aclose()

            try:
                chunks = await call(closing)
            except Exception as error:
                mapped = await self.aclassify(error) if self.aclassify is not None else self.classify(error)
                await close()
                raise mapped from error
            except BaseException:
                await close()
                raise
            return close, self.adeltas(chunks, close)

        return aopen_stream(state.retry, start, provider=self.provider, model=state.model or "")

