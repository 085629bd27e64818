"""A third-party HTTP provider built on the chat-client kit, as docs/writing-a-plugin.md shows it:
httpx and httpx-sse build the call, the kit does secrets, retries, close, errors and the empty 200.

Registered in tests as ``kit`` (``modelplug.register_provider("kit", sys.modules[__name__])``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import attrs
import httpx
import httpx_sse

import modelplug
from modelplug import wire
from modelplug.chat_client import (
    CHAT_COMPLETIONS_CAPABILITIES,
    Timeouts,
    error_from_client_response,
    error_from_transport,
    malformed_data_error,
    register_request_secrets,
    shutdown_httpx_response,
)
from modelplug.client_stream import ClientState, StreamReader, capabilities, checked_request, unload
from modelplug.errors import InvalidOptionError, ProviderError
from modelplug.reserved import ReservedOptions
from modelplug.types import ChatMessage, ChatMessageStreamDelta, GenerationOptions

__all__ = ["agenerate_stream", "capabilities", "generate_stream", "load", "option_types", "unload"]

PROVIDER = "kit"
#: Streaming with usage, native tools, stop, response_format; a native async stream.
DEFAULTS = attrs.evolve(CHAT_COMPLETIONS_CAPABILITIES, async_streaming=True)


@modelplug.hookimpl
def load(model_id: str, options: Mapping[str, Any], reserved: ReservedOptions) -> ClientState:
    """Check the options (``base_url``, ``api_key``, ``timeout``); the client is made per request."""
    unknown = sorted(set(options) - {"base_url", "api_key", "timeout", "connect_timeout"})
    if unknown:
        raise InvalidOptionError(f"unknown {PROVIDER} option(s) {unknown}")
    base_url = str(options.get("base_url", "")).rstrip("/")
    settings = {
        "url": f"{base_url}/chat/completions",
        "headers": {"Authorization": f"Bearer {options.get('api_key', '')}"},
        "timeout": Timeouts.from_options(options, PROVIDER).to_httpx(),
    }
    return ClientState(
        model=model_id,
        settings=settings,
        capabilities=reserved.apply(DEFAULTS),  # the `capabilities` override applied
        retry=reserved.retry,
        secrets=register_request_secrets(headers=settings["headers"], urls=(base_url,)),
    )


@modelplug.hookimpl
def option_types() -> Mapping[str, type]:
    return {"base_url": str, "api_key": str, "timeout": float}


def classify(error: BaseException) -> ProviderError:
    """The client's exceptions as modelplug errors: an HTTP status, or a transport failure."""
    if isinstance(error, httpx.HTTPStatusError):
        return error_from_client_response(error.response, provider=PROVIDER, original=error)
    return error_from_transport(error, provider=PROVIDER)


def read(event: httpx_sse.ServerSentEvent, _events: object) -> ChatMessageStreamDelta | None:
    """One SSE event: a chat-completions chunk (the core's wire reader names the fields)."""
    if event.data.strip() == "[DONE]":
        return None
    try:
        chunk = json.loads(event.data)
    except ValueError as error:
        raise malformed_data_error(event.data.encode(), provider=PROVIDER, original=error) from error
    return wire.delta_from_chunk(chunk)


READER = StreamReader(provider=PROVIDER, delta=read, classify=classify)


def _request(state: ClientState, messages: list[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
    native = state.capabilities.tool_calling == "native"  # the `capabilities` override may say "text"
    body = {"model": state.model, **wire.chat_request(messages, options, native_tools=native), "stream": True}
    body["stream_options"] = {"include_usage": True}
    return checked_request({**body, **options.extra}, options, provider=PROVIDER)  # fails before sending


@modelplug.hookimpl
def generate_stream(
    state: ClientState, messages: list[ChatMessage], options: GenerationOptions
) -> Iterator[ChatMessageStreamDelta]:
    body = _request(state, messages, options)

    def call(closing: contextlib.ExitStack[Any]) -> Iterator[Any]:
        client = closing.enter_context(httpx.Client(timeout=state.settings["timeout"]))
        request = client.build_request("POST", state.settings["url"], json=body, headers=state.settings["headers"])
        response = client.send(request, stream=True)
        closing.callback(response.close)
        if response.status_code >= 400:
            response.read()
            response.raise_for_status()
        closing.callback(shutdown_httpx_response(response))  # runs first: unblocks a read in another thread
        return httpx_sse.EventSource(response).iter_sse()

    return READER.stream(state, call)


@modelplug.hookimpl
def agenerate_stream(
    state: ClientState, messages: list[ChatMessage], options: GenerationOptions
) -> AsyncIterator[ChatMessageStreamDelta]:
    body = _request(state, messages, options)

    async def call(closing: contextlib.AsyncExitStack[Any]) -> AsyncIterator[Any]:
        client = await closing.enter_async_context(httpx.AsyncClient(timeout=state.settings["timeout"]))
        request = client.build_request("POST", state.settings["url"], json=body, headers=state.settings["headers"])
        response = await client.send(request, stream=True)
        closing.push_async_callback(response.aclose)
        if response.status_code >= 400:
            await response.aread()
            response.raise_for_status()
        return httpx_sse.EventSource(response).aiter_sse()

    return READER.astream(state, call)
