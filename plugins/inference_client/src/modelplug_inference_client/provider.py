"""Hook implementations of the ``inference-client`` provider: build the ``InferenceClient`` call;
the chat-client kit (:mod:`modelplug.client_stream`) does the rest."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Final

import attrs

import modelplug
from modelplug.chat_client import (
    CHAT_COMPLETIONS_CAPABILITIES,
    DEFAULT_READ_TIMEOUT,
    register_request_secrets,
    shutdown_httpx_response,
)
from modelplug.client_stream import ClientState, StreamReader, capabilities, checked_request, unload
from modelplug.errors import InvalidOptionError, ModelLoadError
from modelplug.reserved import ReservedOptions
from modelplug.types import ChatMessage, ChatMessageStreamDelta, GenerationOptions
from modelplug_inference_client.chunks import delta_from_chunk
from modelplug_inference_client.client import CLIENT_OPTIONS, chat_kwargs, make_async_client, make_client
from modelplug_inference_client.errors import PROVIDER, amap_error, map_error

__all__ = [
    "DEFAULT_CAPABILITIES",
    "InferenceClientState",
    "agenerate_stream",
    "capabilities",
    "generate_stream",
    "load",
    "option_types",
    "unload",
]

#: What the model declares unless the ``capabilities`` option overrides: the kit's defaults, and a
#: native async stream (``AsyncInferenceClient``).
DEFAULT_CAPABILITIES: Final = attrs.evolve(CHAT_COMPLETIONS_CAPABILITIES, async_streaming=True)
_OWN_OPTIONS: Final = frozenset({"api_key"})
#: How the hub client's chunks are read: the kit's defaults (no chunk at all is the empty-200 error).
_READER: Final = StreamReader(
    provider=PROVIDER, delta=lambda chunk, _chunks: delta_from_chunk(chunk), classify=map_error, aclassify=amap_error
)


class InferenceClientState(ClientState):
    """What ``load`` keeps for one model: the kit's :class:`~modelplug.client_stream.ClientState`,
    ``model`` ``None`` when the model id is the endpoint URL, ``settings`` the ``InferenceClient``
    arguments (``base_url`` or ``model``, ``token``, ...)."""

    __slots__ = ()


def _client_settings(model_id: str, options: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    unknown = sorted(set(options) - set(CLIENT_OPTIONS) - _OWN_OPTIONS)
    if unknown:
        raise InvalidOptionError(
            f"unknown inference-client option(s) {unknown}; known: {sorted({*CLIENT_OPTIONS, *_OWN_OPTIONS})} "
            "(generation options such as temperature go to generate()/stream())"
        )
    if options.get("token") is not None and options.get("api_key") is not None:
        raise InvalidOptionError("give inference-client either 'token' or 'api_key' (the same thing), not both")
    settings = {name: options.get(name) for name in CLIENT_OPTIONS}
    if options.get("api_key") is not None:
        settings["token"] = options["api_key"]
    timeout = settings["timeout"]
    if timeout is not None and (not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0):
        raise InvalidOptionError(f"inference-client option 'timeout' must be a number of seconds > 0, got {timeout!r}")
    if timeout is None:  # huggingface_hub's default is none: a stalled server would hang the stream
        settings["timeout"] = DEFAULT_READ_TIMEOUT
    model: str | None = model_id
    if settings["base_url"] is None and model_id.startswith(("http://", "https://")):
        settings["model"], model = model_id, None  # the model id is the endpoint's URL
    return model, settings


def _register_secrets(settings: Mapping[str, Any]) -> tuple[str, ...]:
    token = settings.get("token")
    if token is None:
        from huggingface_hub import get_token

        token = get_token()  # HF_TOKEN or the saved login, which the client will send
    headers = settings.get("headers")
    return register_request_secrets(
        headers=headers if isinstance(headers, Mapping) else None,
        cookies=settings.get("cookies"),
        urls=(settings.get("base_url"), settings.get("model")),
        values=(token,),
    )


@modelplug.hookimpl
def load(model_id: str, options: Mapping[str, Any], reserved: ReservedOptions) -> InferenceClientState:
    """Check the options; the client itself is made per request.

    Raises:
        InvalidOptionError: an unknown option, both ``token`` and ``api_key``, a bad ``timeout``.
        ModelLoadError: huggingface_hub is missing, or in offline mode (``HF_HUB_OFFLINE=1``), where it
            refuses every request, even to a local ``base_url``.
    """
    model, settings = _client_settings(model_id, options)
    try:
        from huggingface_hub import constants
    except ImportError as error:
        raise ModelLoadError(
            "the inference-client provider needs huggingface_hub: pip install 'modelplug[inference-client]'",
            provider=PROVIDER,
            original=error,
        ) from error
    if constants.is_offline_mode():
        raise ModelLoadError(
            "huggingface_hub is in offline mode (HF_HUB_OFFLINE=1) and refuses every request, even to a local "
            "base_url; unset HF_HUB_OFFLINE to use the inference-client provider",
            provider=PROVIDER,
        )
    return InferenceClientState(
        model=model,
        settings=settings,
        capabilities=reserved.apply(DEFAULT_CAPABILITIES),
        retry=reserved.retry,
        secrets=_register_secrets(settings),
    )


@modelplug.hookimpl
def option_types() -> Mapping[str, type]:
    """The options the command line converts."""
    return {"base_url": str, "token": str, "api_key": str, "provider": str, "bill_to": str, "timeout": float}


@modelplug.hookimpl
def generate_stream(
    state: InferenceClientState, messages: list[ChatMessage], options: GenerationOptions
) -> Iterator[ChatMessageStreamDelta]:
    """Stream one ``InferenceClient.chat_completion(stream=True)`` call as deltas.

    The request is retried (rate limits, 5xx, failed connections, an empty 200) until the first
    delta with content, reasoning or a tool call arrives, never after. Closing the iterator closes
    the HTTP response. Raises :class:`~modelplug.errors.ProviderError` subclasses (see
    :mod:`modelplug_inference_client.errors`).
    """
    kwargs = _kwargs(state, messages, options)

    def call(closing: contextlib.ExitStack[Any]) -> Any:
        client = make_client(state.settings)
        closing.callback(client.close)
        chunks = client.chat_completion(**kwargs)
        response = _http_response(chunks)
        if response is not None:
            closing.callback(shutdown_httpx_response(response))  # first: unblocks a read in another thread
        return chunks

    return _READER.stream(state, call)


@modelplug.hookimpl
def agenerate_stream(
    state: InferenceClientState, messages: list[ChatMessage], options: GenerationOptions
) -> AsyncIterator[ChatMessageStreamDelta]:
    """The native async twin of :func:`generate_stream`: one ``AsyncInferenceClient.chat_completion(
    stream=True)`` call, the same arguments, chunks and errors.

    Retried before the first delta only (``asyncio.sleep`` between attempts); ``aclose()`` or a
    cancellation closes the client, and with it the HTTP response.
    """
    kwargs = _kwargs(state, messages, options)

    async def call(closing: contextlib.AsyncExitStack[Any]) -> Any:
        client = make_async_client(state.settings)
        closing.push_async_callback(client.close)  # its exit stack holds the response and its httpx client
        return await client.chat_completion(**kwargs)

    return _READER.astream(state, call)


def _kwargs(state: InferenceClientState, messages: list[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
    kwargs = chat_kwargs(state.model, messages, options, native_tools=state.capabilities.tool_calling == "native")
    return checked_request(kwargs, options, provider=PROVIDER)


def _http_response(chunks: Any) -> Any:
    """The ``httpx.Response`` behind huggingface_hub's chunk generator, found in the suspended
    generators' frames (``lines`` -> ``Response.iter_lines``'s ``self``), or ``None``: huggingface_hub
    keeps the response in the client's exit stack and offers no other way to shut its socket down from
    another thread. Without it, ``close()`` from another thread waits for the read timeout."""
    try:
        lines = chunks.gi_frame.f_locals["lines"]
        response = lines.gi_frame.f_locals["self"]
    except (AttributeError, KeyError, TypeError):
        return None
    return response if hasattr(response, "extensions") else None
