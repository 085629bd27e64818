"""Hook implementations of the ``openai`` provider.

httpx, :mod:`modelplug_openai.sse`, the core's reader :func:`modelplug.wire.delta_from_chunk` and the
chat-client kit (:mod:`modelplug.chat_client`: secrets, errors, timeouts, retries, close).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import Any, Final

import attrs
import httpx

import modelplug
from modelplug.chat_client import (
    CHAT_COMPLETIONS_CAPABILITIES,
    KIT_OPTION_TYPES,
    ClosableStream,
    Timeouts,
    aclose_httpx_response,
    aopen_stream,
    empty_stream_error,
    error_from_event,
    error_from_response,
    error_from_transport,
    malformed_data_error,
    open_stream,
    register_request_secrets,
    request_json,
    shutdown_httpx_response,
)
from modelplug.errors import InvalidOptionError
from modelplug.reserved import ReservedOptions
from modelplug.retry import RetryPolicy
from modelplug.secrets import redact, release_secret
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions
from modelplug.wire import chat_request, delta_from_chunk, no_choices_error
from modelplug_openai.sse import SSEDecoder

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CAPABILITIES",
    "OpenAIState",
    "agenerate_stream",
    "capabilities",
    "generate_stream",
    "load",
    "option_types",
    "unload",
]

PROVIDER: Final = "openai"
#: Where requests go without a ``base_url`` option.
DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
#: What the model declares unless the ``capabilities`` option overrides: the kit's defaults, and a
#: native async stream (``agenerate_stream`` on ``httpx.AsyncClient``).
DEFAULT_CAPABILITIES: Final = attrs.evolve(CHAT_COMPLETIONS_CAPABILITIES, async_streaming=True)
_OPTIONS: Final = frozenset(
    {
        "base_url",
        "api_key",
        "organization",
        "headers",
        "timeout",
        "connect_timeout",
    }
)


@attrs.define(repr=False)
class OpenAIState:
    """What ``load`` keeps for one model.

    Attributes:
        model: the model name sent in each request body.
        url: the full ``.../chat/completions`` URL.
        client: the model's one pooled ``httpx.Client`` (keep-alive), closed by ``unload``.
        capabilities: what the model declares (defaults plus the override).
        retry: the retry policy (before the first delta only, :mod:`modelplug.retry`).
        secrets: the credentials the requests carry, registered for redaction until ``unload``.
        headers: the headers every request carries (the clients' defaults).
        timeouts: the connect and read timeouts of both clients.
        async_clients: the model's pooled ``httpx.AsyncClient`` (keep-alive) for each event loop
            that streamed from it (:meth:`async_client`; an async client's connections belong to
            one loop), closed by ``unload``.
    """

    model: str
    url: str
    client: httpx.Client
    capabilities: Capabilities
    retry: RetryPolicy
    secrets: tuple[str, ...] = ()
    headers: dict[str, str] = attrs.field(factory=dict)
    timeouts: Timeouts = attrs.field(factory=Timeouts)
    async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = attrs.field(
        factory=weakref.WeakKeyDictionary
    )
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def async_client(self) -> httpx.AsyncClient:
        """The model's ``httpx.AsyncClient`` for the running event loop, made on first use."""
        loop = asyncio.get_running_loop()
        client = self.async_clients.get(loop)
        if client is None or client.is_closed:
            with self._lock:
                client = self.async_clients.get(loop)
                if client is None or client.is_closed:
                    client = httpx.AsyncClient(headers=self.headers, timeout=self.timeouts.to_httpx())
                    self.async_clients[loop] = client
        return client

    def __repr__(self) -> str:
        return f"OpenAIState(model={self.model!r}, url={redact(self.url)!r})"


def _headers(options: Mapping[str, Any]) -> dict[str, str]:
    api_key = options.get("api_key", os.environ.get("OPENAI_API_KEY"))
    extra = options.get("headers") or {}
    if not isinstance(extra, Mapping):
        raise InvalidOptionError(f"openai option 'headers' must be a dict of strings, got {extra!r}")
    headers = {"Accept": "text/event-stream"}
    if api_key:
        if not isinstance(api_key, str):
            raise InvalidOptionError("openai option 'api_key' must be a string")
        headers["Authorization"] = f"Bearer {api_key}"
    if options.get("organization"):
        headers["OpenAI-Organization"] = str(options["organization"])
    for key, value in extra.items():
        if not isinstance(value, str):
            raise InvalidOptionError(f"openai option 'headers': the value of {key!r} must be a string")
        headers[str(key)] = value
    return headers


@modelplug.hookimpl
def load(model_id: str, options: Mapping[str, Any], reserved: ReservedOptions) -> OpenAIState:
    """Check the options and open the model's pooled ``httpx.Client``.

    Raises:
        InvalidOptionError: an unknown option; a bad ``timeout`` or ``headers`` option; a
            ``base_url`` that is not http(s).
    """
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise InvalidOptionError(
            f"unknown openai option(s) {unknown}; known: {sorted(_OPTIONS)} "
            "(generation options such as temperature go to generate()/stream())"
        )
    base_url = str(options.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise InvalidOptionError(f"openai option 'base_url' must be an http(s) URL, got {base_url!r}")
    retry, declared = reserved.retry, reserved.apply(DEFAULT_CAPABILITIES)
    timeouts = Timeouts.from_options(options, PROVIDER)
    headers = _headers(options)
    secrets = register_request_secrets(headers=headers, urls=(base_url,), values=(options.get("api_key"),))
    client = httpx.Client(headers=headers, timeout=timeouts.to_httpx())
    url = f"{base_url}/chat/completions"
    return OpenAIState(model_id, url, client, declared, retry, secrets, headers=headers, timeouts=timeouts)


@modelplug.hookimpl
def capabilities(state: OpenAIState) -> Capabilities:
    """Streaming with usage, native tools, ``stop`` and ``response_format``; the ``capabilities``
    option overrides (a compatible server cannot be asked)."""
    return state.capabilities


@modelplug.hookimpl
def option_types() -> Mapping[str, type]:
    """Every option and how the command line reads it: ``timeout`` (seconds, or ``{"connect": s,
    "read": s}``) and ``headers`` (a dict of strings) as JSON."""
    return {
        "base_url": str,
        "api_key": str,
        "organization": str,
        "headers": dict,
        **KIT_OPTION_TYPES,
        "timeout": object,
    }


@modelplug.hookimpl
def unload(state: OpenAIState) -> None:
    """Close the model's HTTP clients and their pooled connections; release the secrets it registered.

    An async client is closed on its own loop: awaited there when that loop is idle, scheduled on it
    when it runs (this thread's loop or another's); a closed loop took its connections with it.
    """
    state.client.close()
    clients, state.async_clients = list(state.async_clients.items()), weakref.WeakKeyDictionary()
    for loop, client in clients:
        _close_on(loop, client)
    for secret in state.secrets:
        release_secret(secret)


def _close_on(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
    if loop.is_closed() or client.is_closed:
        return
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
        if not loop.is_running():
            loop.run_until_complete(client.aclose())
        elif _running_loop() is loop:
            loop.create_task(client.aclose())
        else:
            asyncio.run_coroutine_threadsafe(client.aclose(), loop)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def request_body(
    model: str, messages: list[ChatMessage], options: GenerationOptions, *, native_tools: bool
) -> dict[str, Any]:
    """The JSON body of one streamed request: :func:`modelplug.wire.chat_request`, ``model``,
    ``stream``, ``stream_options.include_usage``, then ``options.extra`` as is (an ``extra_body``
    dict in it is merged in)."""
    body: dict[str, Any] = {
        "model": model,
        **chat_request(messages, options, native_tools=native_tools),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    for key, value in options.extra.items():
        if key == "extra_body" and isinstance(value, Mapping):
            body.update(value)
        else:
            body[key] = value
    return body


@modelplug.hookimpl
def generate_stream(
    state: OpenAIState, messages: list[ChatMessage], options: GenerationOptions
) -> Iterator[ChatMessageStreamDelta]:
    """Stream one ``POST <base_url>/chat/completions`` with ``stream: true`` as deltas.

    Retried (rate limits, 5xx, failed connections, an empty 200) until the first delta with content,
    reasoning or a tool call arrives, never after. Closing the iterator closes the HTTP response.
    Raises :class:`~modelplug.errors.ProviderError` subclasses (:mod:`modelplug.chat_client`).
    """
    return _stream(state, _encoded_body(state, messages, options))


@modelplug.hookimpl
def agenerate_stream(
    state: OpenAIState, messages: list[ChatMessage], options: GenerationOptions
) -> AsyncIterator[ChatMessageStreamDelta]:
    """The native async twin of :func:`generate_stream`: the same request, the same deltas and
    errors, on the model's ``httpx.AsyncClient`` for the running loop (never blocking it).

    Retried before the first delta only (``asyncio.sleep`` between attempts). ``aclose()`` or a
    cancellation closes the HTTP response at once. A request that cannot be sent as JSON fails
    here, before any request (:class:`~modelplug.errors.InvalidOptionError`).
    """
    return _astream(state, _encoded_body(state, messages, options))


def _encoded_body(state: OpenAIState, messages: list[ChatMessage], options: GenerationOptions) -> bytes:
    native = state.capabilities.tool_calling == "native"
    return request_json(request_body(state.model, messages, options, native_tools=native), provider=PROVIDER)


def _status_error(response: httpx.Response, request: httpx.Request) -> Exception:
    """The typed error of an HTTP error response whose body was read."""
    original = httpx.HTTPStatusError(f"HTTP {response.status_code}", request=request, response=response)
    error = error_from_response(
        response.status_code,
        response.content,
        response.headers,
        provider=PROVIDER,
        reason=response.reason_phrase,
        original=original,
    )
    error.__cause__ = original
    return error


def _stream(state: OpenAIState, body: bytes) -> ClosableStream:
    client = state.client
    request = client.build_request("POST", state.url, content=body, headers={"Content-Type": "application/json"})

    def start() -> tuple[Callable[[], object], Generator[ChatMessageStreamDelta, None, None]]:
        try:
            response = client.send(request, stream=True)
        except httpx.HTTPError as error:
            raise error_from_transport(error, provider=PROVIDER, during="connecting") from error
        if response.status_code >= 400:
            try:
                response.read()
            except httpx.HTTPError as error:
                response.close()
                raise error_from_transport(error, provider=PROVIDER, during="reading the error") from error
            response.close()
            raise _status_error(response, request)
        return shutdown_httpx_response(response), _deltas(response)

    return open_stream(state.retry, start, provider=PROVIDER, model=state.model)


def _astream(state: OpenAIState, body: bytes) -> AsyncIterator[ChatMessageStreamDelta]:
    async def start() -> tuple[Callable[[], Awaitable[object]], AsyncGenerator[ChatMessageStreamDelta, None]]:
        client = state.async_client()
        request = client.build_request("POST", state.url, content=body, headers={"Content-Type": "application/json"})
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as error:
            raise error_from_transport(error, provider=PROVIDER, during="connecting") from error
        if response.status_code >= 400:
            try:
                await response.aread()
            except httpx.HTTPError as error:
                await response.aclose()
                raise error_from_transport(error, provider=PROVIDER, during="reading the error") from error
            await response.aclose()
            raise _status_error(response, request)
        return aclose_httpx_response(response), _adeltas(response)

    return aopen_stream(state.retry, start, provider=PROVIDER, model=state.model)


#: ``raw_decode(text) -> (value, end)``: the standard library's JSON decoder, without ``json.loads``'s
#: encoding detection and whitespace scans (about half its cost on a chunk); see :meth:`_ChunkReader.read`.
_RAW_DECODE: Final = json.JSONDecoder().raw_decode


class _ChunkReader:
    """What one stream's ``data`` payloads say, shared by the sync and async readers: each JSON
    chunk through :func:`modelplug.wire.delta_from_chunk`, error objects, and at the end the
    empty-200 and no-choices rules."""

    __slots__ = ("any_choice", "model", "received")

    def __init__(self) -> None:
        self.received = False
        self.any_choice = False
        self.model: Any = None

    def read(self, data: bytes) -> ChatMessageStreamDelta | None:
        """The delta of one ``data`` payload (not ``[DONE]``), or ``None``.

        The payload is decoded as UTF-8 text and read with ``json.JSONDecoder.raw_decode``; one
        that is not a lone JSON document in UTF-8 (whitespace around it, another encoding, not
        JSON) goes to ``json.loads``, which reads it or says what is wrong.

        Raises:
            ServerError: the data is not JSON (:func:`~modelplug.chat_client.malformed_data_error`).
            ProviderError: an error object (:func:`~modelplug.chat_client.error_from_event`).
            MalformedChunkError: a chunk that is not a chat-completions chunk, or a field of the
                wrong type (:func:`modelplug.wire.delta_from_chunk`).
        """
        try:
            text = data.decode()
            chunk, end = _RAW_DECODE(text)
            if end != len(text):
                chunk = _loads(data)
        except ValueError:  # not UTF-8, or not JSON at its start: the general path says which
            chunk = _loads(data)
        if self.any_choice:  # nearly every chunk: only an error object still needs a look
            if type(chunk) is dict and "error" in chunk and "choices" not in chunk:
                raise error_from_event(chunk, provider=PROVIDER)
            return delta_from_chunk(chunk)
        self.received = True
        if type(chunk) is dict:
            if "error" in chunk and "choices" not in chunk:
                raise error_from_event(chunk, provider=PROVIDER)
            self.any_choice = bool(chunk.get("choices"))
            self.model = self.model or chunk.get("model")
        return delta_from_chunk(chunk)

    def end(self) -> None:
        """Check the stream as a whole once it ended.

        Raises:
            ServerError: nothing at all arrived (:func:`~modelplug.chat_client.empty_stream_error`),
                or chunks without any choice (:func:`modelplug.wire.no_choices_error`).
        """
        if not self.received:
            raise empty_stream_error(PROVIDER)
        if not self.any_choice:
            raise no_choices_error(self.model if isinstance(self.model, str) else None, provider=PROVIDER)


def _loads(data: bytes) -> Any:
    """``json.loads(data)`` (any JSON encoding, whitespace around the document), or the error."""
    try:
        return json.loads(data)
    except ValueError as error:
        raise malformed_data_error(data, provider=PROVIDER, original=error) from error


#: After ``data: [DONE]`` the rest of the body (normally only the end of the chunked encoding) is read,
#: so that the connection goes back to the pool (keep-alive) instead of being closed: at most this many
#: bytes, waiting at most this many seconds for each read.
_DRAIN_LIMIT: Final = 65536
_DRAIN_READ_TIMEOUT: Final = 1.0


def _shorten_read_timeout(response: httpx.Response) -> None:
    """Wait at most :data:`_DRAIN_READ_TIMEOUT` for the reads after ``[DONE]`` (httpcore reads the
    request's ``timeout`` extension at every read): a server that stalls there ends the stream
    quietly (its connection closed), never after the model's read timeout."""
    timeouts = dict(response.request.extensions.get("timeout") or {})
    read = timeouts.get("read")
    timeouts["read"] = _DRAIN_READ_TIMEOUT if read is None else min(read, _DRAIN_READ_TIMEOUT)
    response.request.extensions["timeout"] = timeouts


def _drain(reads: Iterator[bytes]) -> None:
    drained = 0
    for extra in reads:
        drained += len(extra)
        if drained > _DRAIN_LIMIT:
            return


async def _adrain(reads: AsyncIterator[bytes]) -> None:
    drained = 0
    async for extra in reads:
        drained += len(extra)
        if drained > _DRAIN_LIMIT:
            return


def _deltas(response: httpx.Response) -> Generator[ChatMessageStreamDelta, None, None]:
    """The deltas of a streamed response: one loop over the body's reads that splits the events
    (:class:`~modelplug_openai.sse.SSEDecoder`), reads each chunk (:class:`_ChunkReader`) and
    yields its delta; no generator between it and the network reads but httpx's own."""
    reader = _ChunkReader()
    read = reader.read
    decoder = SSEDecoder()
    feed = decoder.feed
    done = False
    reads = response.iter_bytes()
    try:
        for chunk in reads:
            for data in feed(chunk):
                if data == b"[DONE]":
                    done = reader.received = True
                    _shorten_read_timeout(response)
                    with contextlib.suppress(httpx.HTTPError):
                        _drain(reads)
                    break
                delta = read(data)
                if delta is not None:
                    yield delta
            if done:
                break
        else:
            for data in decoder.end():
                if data == b"[DONE]":
                    reader.received = True
                    break
                delta = read(data)
                if delta is not None:
                    yield delta
    except httpx.HTTPError as error:
        raise error_from_transport(error, provider=PROVIDER, during="reading the stream") from error
    finally:
        response.close()
    reader.end()


async def _adeltas(response: httpx.Response) -> AsyncGenerator[ChatMessageStreamDelta, None]:
    reader = _ChunkReader()
    read = reader.read
    decoder = SSEDecoder()
    feed = decoder.feed
    done = False
    reads = response.aiter_bytes()
    try:
        async for chunk in reads:
            for data in feed(chunk):
                if data == b"[DONE]":
                    done = reader.received = True
                    _shorten_read_timeout(response)
                    with contextlib.suppress(httpx.HTTPError):
                        await _adrain(reads)
                    break
                delta = read(data)
                if delta is not None:
                    yield delta
            if done:
                break
        else:
            for data in decoder.end():
                if data == b"[DONE]":
                    reader.received = True
                    break
                delta = read(data)
                if delta is not None:
                    yield delta
    except httpx.HTTPError as error:
        raise error_from_transport(error, provider=PROVIDER, during="reading the stream") from error
    finally:
        try:
            await reads.aclose()  # type: ignore[attr-defined]
        finally:
            await response.aclose()
    reader.end()
