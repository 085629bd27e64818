"""Hook implementations of the ``inference-client`` provider."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import Any, Final

import attrs

import modelplug
from modelplug.chat_client import (
    CHAT_COMPLETIONS_CAPABILITIES,
    DEFAULT_READ_TIMEOUT,
    KIT_OPTION_TYPES,
    KIT_OPTIONS,
    ClosableStream,
    aopen_stream,
    declared_capabilities,
    empty_stream_error,
    open_stream,
    register_request_secrets,
    request_json,
    shutdown_httpx_response,
)
from modelplug.errors import InvalidOptionError, ModelLoadError
from modelplug.retry import RetryPolicy
from modelplug.secrets import redact_mapping, release_secret
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions
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
_OWN_OPTIONS: Final = KIT_OPTIONS | {"tool_call_format", "api_key"}


@attrs.define(repr=False)
class InferenceClientState:
    """What ``load`` keeps for one model.

    Attributes:
        model: the model name sent in requests (``None`` when the model id is the endpoint URL).
        client_settings: ``InferenceClient`` arguments (``base_url`` or ``model``, ``token``, ...).
        capabilities: what the model declares (defaults plus the override).
        retry: the retry policy (before the first delta only, :mod:`modelplug.retry`).
        secrets: the credentials the requests carry, registered for redaction until ``unload``.
    """

    model: str | None
    client_settings: dict[str, Any]
    capabilities: Capabilities
    retry: RetryPolicy
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"InferenceClientState(model={self.model!r}, options={redact_mapping(self.client_settings)!r})"


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
def load(model_id: str, options: Mapping[str, Any]) -> InferenceClientState:
    """Check the options; the client itself is made per request.

    Raises:
        InvalidOptionError: an unknown option, both ``token`` and ``api_key``, a bad ``timeout``,
            retry or ``capabilities`` option.
        ModelLoadError: huggingface_hub is missing, or in offline mode (``HF_HUB_OFFLINE=1``), where it
            refuses every request, even to a local ``base_url``.
    """
    model, settings = _client_settings(model_id, options)
    retry = RetryPolicy.from_options(options, PROVIDER)
    declared = declared_capabilities(DEFAULT_CAPABILITIES, options.get("capabilities"), provider=PROVIDER)
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
    secrets = _register_secrets(settings)
    return InferenceClientState(model, settings, declared, retry, secrets)


@modelplug.hookimpl
def capabilities(state: InferenceClientState) -> Capabilities:
    """Streaming with usage, native tools, ``stop`` and ``response_format``; the ``capabilities``
    option overrides (the server is not asked)."""
    return state.capabilities


@modelplug.hookimpl
def unload(state: InferenceClientState) -> None:
    """Release the secrets the model registered (the HTTP clients are closed per request)."""
    for secret in state.secrets:
        release_secret(secret)


@modelplug.hookimpl
def option_types() -> Mapping[str, type]:
    """The options the command line converts."""
    return {
        "base_url": str,
        "token": str,
        "api_key": str,
        "provider": str,
        "bill_to": str,
        "timeout": float,
        **{name: kind for name, kind in KIT_OPTION_TYPES.items() if name != "connect_timeout"},
    }


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
    return _stream(state, _checked_kwargs(state, messages, options))


@modelplug.hookimpl
def agenerate_stream(
    state: InferenceClientState, messages: list[ChatMessage], options: GenerationOptions
) -> AsyncIterator[ChatMessageStreamDelta]:
    """The native async twin of :func:`generate_stream`: one ``AsyncInferenceClient.chat_completion(
    stream=True)`` call, the same arguments, chunks and errors.

    Retried before the first delta only (``asyncio.sleep`` between attempts); ``aclose()`` or a
    cancellation closes the client, and with it the HTTP response.
    """
    return _astream(state, _checked_kwargs(state, messages, options))


def _checked_kwargs(
    state: InferenceClientState, messages: list[ChatMessage], options: GenerationOptions
) -> dict[str, Any]:
    """The ``chat_completion`` arguments, checked to be JSON before anything is sent."""
    kwargs = chat_kwargs(state.model, messages, options, native_tools=state.capabilities.tool_calling == "native")
    request_json({"messages": kwargs["messages"], "tools": kwargs.get("tools"), **options.extra}, provider=PROVIDER)
    return kwargs


def _stream(state: InferenceClientState, kwargs: dict[str, Any]) -> ClosableStream:
    def start() -> tuple[Callable[[], object], Generator[ChatMessageStreamDelta, None, None]]:
        client = make_client(state.client_settings)
        try:
            chunks = client.chat_completion(**kwargs)
        except Exception as error:
            client.close()
            raise map_error(error) from error
        response = _http_response(chunks)
        shutdown = shutdown_httpx_response(response) if response is not None else None

        def close() -> None:
            if shutdown is not None:
                shutdown()
            client.close()

        return close, _deltas(chunks)

    return open_stream(state.retry, start, provider=PROVIDER, model=state.model or "")


def _astream(state: InferenceClientState, kwargs: dict[str, Any]) -> AsyncIterator[ChatMessageStreamDelta]:
    async def start() -> tuple[Callable[[], Awaitable[object]], AsyncGenerator[ChatMessageStreamDelta, None]]:
        client = make_async_client(state.client_settings)

        async def close() -> None:
            try:
                await client.close()  # its exit stack holds the streamed response and its httpx client
            except Exception:  # the connection already failed
                return

        try:
            chunks = await client.chat_completion(**kwargs)
        except Exception as error:
            mapped = await amap_error(error)
            await close()
            raise mapped from error
        except BaseException:
            await close()
            raise
        return close, _adeltas(chunks)

    return aopen_stream(state.retry, start, provider=PROVIDER, model=state.model or "")


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


def _deltas(chunks: Any) -> Generator[ChatMessageStreamDelta, None, None]:
    received = 0
    try:
        for chunk in chunks:
            received += 1
            delta = delta_from_chunk(chunk)
            if delta is not None:
                yield delta
    except Exception as error:
        raise map_error(error) from error
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    if not received:
        raise empty_stream_error(PROVIDER)


async def _adeltas(chunks: Any) -> AsyncGenerator[ChatMessageStreamDelta, None]:
    """:func:`_deltas` over ``AsyncInferenceClient``'s chunks: the same mapping, the same errors."""
    received = 0
    try:
        async for chunk in chunks:
            received += 1
            delta = delta_from_chunk(chunk)
            if delta is not None:
                yield delta
    except Exception as error:
        raise map_error(error) from error
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
    if not received:
        raise empty_stream_error(PROVIDER)
