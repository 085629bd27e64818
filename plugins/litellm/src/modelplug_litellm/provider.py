"""Hook implementations of the ``litellm`` provider."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import Any, Final

import attrs

import modelplug
from modelplug.chat_client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    KIT_OPTION_TYPES,
    KIT_OPTIONS,
    ClosableStream,
    aopen_stream,
    empty_stream_error,
    open_stream,
    register_request_secrets,
    request_json,
    shutdown_httpx_response,
)
from modelplug.errors import InvalidOptionError, ModelLoadError
from modelplug.retry import RetryPolicy
from modelplug.secrets import redact_mapping, release_secret
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions, Usage
from modelplug_litellm.capabilities import declared_capabilities
from modelplug_litellm.chunks import delta_from_chunk, get_field, usage_from_object
from modelplug_litellm.client import completion_kwargs, import_litellm
from modelplug_litellm.errors import PROVIDER, is_clean_end_without_finish, map_error

__all__ = ["LiteLLMState", "agenerate_stream", "capabilities", "generate_stream", "load", "option_types", "unload"]

#: Model options modelplug reads itself; every other model option is a ``litellm.completion`` argument.
OWN_OPTIONS: Final = KIT_OPTIONS | {"estimated_usage", "tool_call_format"}


@attrs.define(repr=False)
class LiteLLMState:
    """What ``load`` keeps for one LiteLLM model.

    Attributes:
        model: the LiteLLM model string (``"openai/gpt-4o-mini"``).
        completion_options: ``litellm.completion`` arguments from the model options.
        capabilities: what the model declares (LiteLLM's information plus the override).
        retry: the retry policy (before the first delta only, :mod:`modelplug.retry`).
        secrets: the credentials the requests carry, registered for redaction until ``unload``.
        estimated_usage: keep LiteLLM's token-count estimate when the server reports no usage.
    """

    model: str
    completion_options: dict[str, Any]
    capabilities: Capabilities
    retry: RetryPolicy
    estimated_usage: bool = False
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"LiteLLMState(model={self.model!r}, options={redact_mapping(self.completion_options)!r})"


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
def load(model_id: str, options: Mapping[str, Any]) -> LiteLLMState:
    """Import LiteLLM (≈5 s, once per process), check the options and read the capabilities.

    Raises:
        ModelLoadError: LiteLLM is not installed.
        InvalidOptionError: a bad ``capabilities``, retry or ``estimated_usage`` option.
    """
    secrets = _register_secrets(options)
    retry = RetryPolicy.from_options(options, PROVIDER)
    estimated = options.get("estimated_usage", False)
    if not isinstance(estimated, bool):
        raise InvalidOptionError(f"litellm option 'estimated_usage' must be a bool, got {estimated!r}")
    try:
        litellm = import_litellm()
    except ImportError as error:
        raise ModelLoadError(
            "the litellm provider needs LiteLLM: pip install 'modelplug[litellm]'", provider=PROVIDER, original=error
        ) from error
    completion_options = {k: v for k, v in options.items() if k not in OWN_OPTIONS}
    completion_options["timeout"] = _timeout(options)
    declared = declared_capabilities(litellm, model_id, completion_options, options.get("capabilities"))
    return LiteLLMState(model_id, completion_options, declared, retry, estimated, secrets)


@modelplug.hookimpl
def capabilities(state: LiteLLMState) -> Capabilities:
    """Streaming with usage; tools, ``stop`` and ``response_format`` as LiteLLM knows the model;
    the ``capabilities`` option overrides."""
    return state.capabilities


@modelplug.hookimpl
def unload(state: LiteLLMState) -> None:
    """Release the secrets the model registered (the HTTP clients are closed per request)."""
    for secret in state.secrets:
        release_secret(secret)


@modelplug.hookimpl
def option_types() -> Mapping[str, type]:
    """The options the command line converts; any other ``litellm.completion`` argument passes as a string."""
    return {
        "api_base": str,
        "api_key": str,
        "api_version": str,
        "custom_llm_provider": str,
        "estimated_usage": bool,
        **{name: kind for name, kind in KIT_OPTION_TYPES.items() if name != "connect_timeout"},
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
    return _stream(state, _checked_kwargs(state, messages, options))


@modelplug.hookimpl
def agenerate_stream(
    state: LiteLLMState, messages: list[ChatMessage], options: GenerationOptions
) -> AsyncIterator[ChatMessageStreamDelta]:
    """The native async twin of :func:`generate_stream`: one ``litellm.acompletion(stream=True)``
    call, the same arguments, the same corrections of LiteLLM's chunks and the same errors.

    Retried before the first delta only (``asyncio.sleep`` between attempts); ``aclose()`` or a
    cancellation closes LiteLLM's stream and its HTTP response.
    """
    return _astream(state, _checked_kwargs(state, messages, options))


def _checked_kwargs(state: LiteLLMState, messages: list[ChatMessage], options: GenerationOptions) -> dict[str, Any]:
    """The ``completion``/``acompletion`` arguments, checked to be JSON before anything is sent."""
    kwargs = completion_kwargs(
        state.model,
        state.completion_options,
        messages,
        options,
        native_tools=state.capabilities.tool_calling == "native",
    )
    request_json({"messages": kwargs["messages"], "tools": kwargs.get("tools"), **options.extra}, provider=PROVIDER)
    return kwargs


def _stream(state: LiteLLMState, kwargs: dict[str, Any]) -> ClosableStream:
    litellm = import_litellm()

    def start() -> tuple[Callable[[], object], Generator[ChatMessageStreamDelta, None, None]]:
        try:
            response = litellm.completion(**kwargs)
        except Exception as error:
            raise map_error(error) from error
        http = getattr(getattr(response, "completion_stream", None), "response", None)  # the OpenAI SDK's Stream
        shutdown = shutdown_httpx_response(http) if http is not None and hasattr(http, "extensions") else None

        def close() -> None:
            if shutdown is not None:
                shutdown()
            response.close()

        return close, _deltas(response, state.estimated_usage)

    return open_stream(state.retry, start, provider=PROVIDER, model=state.model)


def _astream(state: LiteLLMState, kwargs: dict[str, Any]) -> AsyncIterator[ChatMessageStreamDelta]:
    litellm = import_litellm()

    async def start() -> tuple[Callable[[], Awaitable[object]], AsyncGenerator[ChatMessageStreamDelta, None]]:
        try:
            response = await litellm.acompletion(**kwargs)
        except Exception as error:
            raise map_error(error) from error

        async def close() -> None:
            try:
                await response.aclose()
            except Exception:  # already closed, or its connection already failed
                return

        return close, _adeltas(response, state.estimated_usage)

    return aopen_stream(state.retry, start, provider=PROVIDER, model=state.model)


def _deltas(response: Any, estimated_usage: bool) -> Generator[ChatMessageStreamDelta, None, None]:
    """Map LiteLLM's chunks; see the package docstring for what is corrected and why."""
    try:
        for chunk in response:
            delta = _corrected(delta_from_chunk(chunk), response, estimated_usage)
            if delta is not None:
                yield delta
    except Exception as error:
        last = _after_error(error, response)
        if last is not None:
            yield last
        return
    _check_end(response)


async def _adeltas(response: Any, estimated_usage: bool) -> AsyncGenerator[ChatMessageStreamDelta, None]:
    """:func:`_deltas` over ``acompletion``'s stream: the same corrections, the same errors."""
    try:
        async for chunk in response:
            delta = _corrected(delta_from_chunk(chunk), response, estimated_usage)
            if delta is not None:
                yield delta
    except Exception as error:
        last = _after_error(error, response)
        if last is not None:
            yield last
        return
    _check_end(response)


def _corrected(
    delta: ChatMessageStreamDelta | None, response: Any, estimated_usage: bool
) -> ChatMessageStreamDelta | None:
    """One chunk's delta with LiteLLM's changes undone: its usage estimate dropped (unless asked
    for) when the server sent none, the server's own finish reason restored."""
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


def _after_error(error: Exception, response: Any) -> ChatMessageStreamDelta | None:
    """What an exception while reading means: LiteLLM's "ended before a finish_reason" is the
    normal end (the last usage the server sent, which LiteLLM did not yield, or ``None``);
    anything else is raised as its modelplug error."""
    if not is_clean_end_without_finish(error):
        raise map_error(error) from error
    usage = _last_server_usage(response)  # LiteLLM raised before yielding it
    return None if usage is None else ChatMessageStreamDelta(usage=usage)


def _check_end(response: Any) -> None:
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
