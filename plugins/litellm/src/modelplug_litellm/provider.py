"""Hook implementations of the ``litellm`` provider: build the ``litellm.completion`` call, undo
LiteLLM's changes to what the server sent; the chat-client kit (:mod:`modelplug.client_stream`) does the rest."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import attrs

import modelplug
from modelplug.chat_client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    empty_stream_error,
    register_request_secrets,
    shutdown_httpx_response,
)
from modelplug.client_stream import ClientState, StreamReader, capabilities, checked_request, unload
from modelplug.errors import InvalidOptionError, ModelLoadError
from modelplug.reserved import ReservedOptions
from modelplug.types import ChatMessage, ChatMessageStreamDelta, GenerationOptions, Usage
from modelplug_litellm.capabilities import declared_capabilities
from modelplug_litellm.chunks import delta_from_chunk, get_field, usage_from_object
from modelplug_litellm.client import completion_kwargs, import_litellm
from modelplug_litellm.errors import PROVIDER, is_clean_end_without_finish, map_error

__all__ = ["LiteLLMState", "agenerate_stream", "capabilities", "generate_stream", "load", "option_types", "unload"]


@attrs.define(repr=False, kw_only=True)
class LiteLLMState(ClientState):
    """What ``load`` keeps for one LiteLLM model: the kit's :class:`~modelplug.client_stream.ClientState`
    (``model`` is the LiteLLM model string, ``settings`` the ``litellm.completion`` arguments from
    the model options), and ``estimated_usage``: keep LiteLLM's token-count estimate when the server
    reports no usage."""

    estimated_usage: bool = False

def _register_secrets(options: Mapping[str, Any]) -> tuple[str, ...]:
    """Secrets LiteLLM may send: the key options, every auth header and cookie, keys in ``api_base``,
    and the provider keys LiteLLM reads from the environment (``*_API_KEY``, ``*_TOKEN``...)."""
    headers = {
        str(key): value
        for name in ("extra_headers", "headers")
        if isinstance(options.get(name), Mapping)
        for key, value in options[name].items()
    }
    environment = tuple(
        value
        for name, value in os.environ.items()
        if len(value) >= 8
        and name.upper().endswith(("_API_KEY", "_TOKEN", "_SECRET", "_SECRET_ACCESS_KEY", "_ACCESS_KEY"))
    )
    return register_request_secrets(
        headers=headers,
        urls=(options.get("api_base"), options.get("base_url")),
        values=(options.get("api_key"), *environment),
    )


def _timeout(options: Mapping[str, Any]) -> Any:
    """``timeout`` as given (seconds, or an ``httpx.Timeout``), else the kit's defaults."""
    value = options.get("timeout")
    if value is None:
        import httpx

        return httpx.Timeout(DEFAULT_READ_TIMEOUT, connect=DEFAULT_CONNECT_TIMEOUT)
    if isinstance(value, bool) or (isinstance(value, (int, float)) and value <= 0):
        raise InvalidOptionError(f"litellm option 'timeout' must be a number of seconds > 0, got {value!r}")
    return value


@modelplug.hookimpl
def load(model_id: str, options: Mapping[str, Any], reserved: ReservedOptions) -> LiteLLMState:
    """Import LiteLLM (≈5 s, once per process), check the options and read the capabilities.

    Raises:
        ModelLoadError: LiteLLM is not installed.
        InvalidOptionError: a bad ``estimated_usage`` or ``timeout`` option.
    """
    secrets = _register_secrets(options)
    estimated = options.get("estimated_usage", False)
    if not isinstance(estimated, bool):
        raise InvalidOptionError(f"litellm option 'estimated_usage' must be a bool, got {estimated!r}")
    try:
        litellm = import_litellm()
    except ImportError as error:
        raise ModelLoadError(
            "the litellm provider needs LiteLLM: pip install 'modelplug[litellm]'", provider=PROVIDER, original=error
        ) from error
    settings = {k: v for k, v in options.items() if k != "estimated_usage"}
    settings["timeout"] = _timeout(options)
    declared = reserved.apply(declared_capabilities(litellm, model_id, settings))
    return LiteLLMState(
        model=model_id,
        settings=settings,
        capabilities=declared,
        retry=reserved.retry,
        secrets=secrets,
        estimated_usage=estimated,
    )


@modelplug.hookimpl
def option_types() -> Mapping[str, type]:
    """The options the command line converts; any other ``litellm.completion`` argument passes as a string."""
    return {
        "api_base": str,
        "api_key": str,
        "api_version": str,
        "custom_llm_provider": str,
        "estimated_usage": bool,
        "timeout": float,
    }


@modelplug.hookimpl
def generate_stream(
    state: LiteLLMState, messages: list[ChatMessage], options: GenerationOptions
) -> Iterator[ChatMessageStreamDelta]:
    """Stream one ``litellm.completion(stream=True)`` call as deltas.

    The request is retried (rate limits, 5xx, failed connections) until the first delta with
    content, reasoning or a tool call arrives, never after. Closing the iterator closes the HTTP
    response. Raises :class:`~modelplug.errors.ProviderError` subclasses (see
    :mod:`modelplug_litellm.errors`).
    """
    kwargs = _kwargs(state, messages, options)
    litellm = import_litellm()

    def call(closing: contextlib.ExitStack[Any]) -> Any:
        response = litellm.completion(**kwargs)
        closing.callback(response.close)
        http = getattr(getattr(response, "completion_stream", None), "response", None)  # the OpenAI SDK's Stream
        if http is not None and hasattr(http, "extensions"):
            closing.callback(shutdown_httpx_response(http))  # first: unblocks a read in another thread
        return response

    return _reader(state).stream(state, call)


@modelplug.hookimpl
def agenerate_stream(
    state: LiteLLMState, messages: list[ChatMessage], options: GenerationOptions
) -> AsyncIterator[ChatMessageStreamDelta]:
    """The native async twin of :func:`generate_stream`: one ``litellm.acompletion(stream=True)``
    call, the same arguments, the same corrections of LiteLLM's chunks and the same errors.

    Retried before the first delta only (``asyncio.sleep`` between attempts); ``aclose()`` or a
    cancellation closes LiteLLM's stream and its HTTP response.
    """
    kwargs = _kwargs(state, messages, options)
    litellm = import_litellm()

    async def call(closing: contextlib.AsyncExitStack[Any]) -> Any:
        response = await litellm.acompletion(**kwargs)
        closing.push_async_callback(response.aclose)
        return response

    return _reader(state).astream(state, call)


def _kwargs(state: LiteLLMState, messages: list[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
    native = state.capabilities.tool_calling == "native"
    kwargs = completion_kwargs(state.model or "", state.settings, messages, options, native_tools=native)
    return checked_request(kwargs, options, provider=PROVIDER)


def _reader(state: LiteLLMState) -> StreamReader:
    """How LiteLLM's stream is read (see the package docstring for what is corrected and why)."""
    return StreamReader(
        provider=PROVIDER,
        delta=functools.partial(_corrected, estimated_usage=state.estimated_usage),
        classify=map_error,
        at_error=_after_error,
        at_end=_check_end,
    )


def _corrected(chunk: Any, response: Any, *, estimated_usage: bool) -> ChatMessageStreamDelta | None:
    """One chunk's delta with LiteLLM's changes undone: its usage estimate dropped (unless asked
    for) when the server sent none, the server's own finish reason restored."""
    delta = delta_from_chunk(chunk)
    if delta is None:
        return None
    if delta.usage is not None and not estimated_usage and not _server_sent_usage(response):
        if not (delta.content or delta.reasoning_content or delta.tool_calls or delta.finish_reason):
            return None
        delta = attrs.evolve(delta, usage=None)
    if delta.finish_reason is not None:
        received = getattr(response, "received_finish_reason", None)  # the server's own value
        if isinstance(received, str) and received and received != delta.finish_reason:
            delta = attrs.evolve(delta, finish_reason=received)
    return delta


def _after_error(error: BaseException, response: Any) -> ChatMessageStreamDelta | None:
    """What an exception while reading means: LiteLLM's "ended before a finish_reason" is the
    normal end (the last usage the server sent, which LiteLLM did not yield, or ``None``);
    anything else is raised as its modelplug error."""
    if not is_clean_end_without_finish(error):
        raise map_error(error) from error
    usage = _last_server_usage(response)  # LiteLLM raised before yielding it
    return None if usage is None else ChatMessageStreamDelta(usage=usage)


def _check_end(response: Any, received: int) -> None:
    """Raise the empty-200 error when the server sent no chunk at all."""
    if getattr(response, "chunks", None) == []:
        raise empty_stream_error(PROVIDER)


def _server_sent_usage(response: Any) -> bool:
    """Whether a chunk from the server carried usage (LiteLLM keeps the chunks it received in
    ``CustomStreamWrapper.chunks``); ``True`` when that cannot be seen."""
    chunks = getattr(response, "chunks", None)
    return chunks is None or _last_server_usage(response) is not None


def _last_server_usage(response: Any) -> Usage | None:
    """The last usage a server chunk carried, from ``CustomStreamWrapper.chunks``."""
    for chunk in reversed(getattr(response, "chunks", None) or ()):
        usage = usage_from_object(get_field(chunk, "usage"))
        if usage is not None:
            return usage
    return None
