"""Hook implementations of the ``openai`` provider.

httpx, :mod:`modelplug_openai.sse`, the core's reader :func:`modelplug.wire.delta_from_chunk` and the
chat-client kit (:mod:`modelplug.chat_client`: secrets, errors, timeouts, retries, close).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, Final

import attrs
import httpx

import modelplug
from modelplug.chat_client import (
    CHAT_COMPLETIONS_CAPABILITIES,
    KIT_OPTION_TYPES,
    ClosableStream,
    Timeouts,
    declared_capabilities,
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
from modelplug.retry import RetryPolicy
from modelplug.secrets import redact, release_secret
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions
from modelplug.wire import chat_request, delta_from_chunk, no_choices_error
from modelplug_openai.sse import iter_sse_data

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CAPABILITIES",
    "OpenAIState",
    "capabilities",
    "generate_stream",
    "load",
    "option_types",
    "unload",
]

PROVIDER: Final = "openai"
#: Where requests go without a ``base_url`` option.
DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
#: What the model declares unless the ``capabilities`` option overrides: the kit's defaults.
DEFAULT_CAPABILITIES: Final = CHAT_COMPLETIONS_CAPABILITIES
_OPTIONS: Final = frozenset(
    {
        "base_url",
        "api_key",
        "organization",
        "headers",
        "timeout",
        "connect_timeout",
        "capabilities",
        "max_retries",
        "retry_backoff",
        "retry_max_wait",
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
    """

    model: str
    url: str
    client: httpx.Client
    capabilities: Capabilities
    retry: RetryPolicy
    secrets: tuple[str, ...] = ()

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
def load(model_id: str, options: Mapping[str, Any]) -> OpenAIState:
    """Check the options and open the model's pooled ``httpx.Client``.

    Raises:
        InvalidOptionError: an unknown option; a bad ``timeout``, ``headers``, retry or
            ``capabilities`` option; a ``base_url`` that is not http(s).
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
    retry = RetryPolicy.from_options(options, PROVIDER)
    declared = declared_capabilities(DEFAULT_CAPABILITIES, options.get("capabilities"), provider=PROVIDER)
    timeouts = Timeouts.from_options(options, PROVIDER)
    headers = _headers(options)
    secrets = register_request_secrets(headers=headers, urls=(base_url,), values=(options.get("api_key"),))
    client = httpx.Client(headers=headers, timeout=timeouts.to_httpx())
    return OpenAIState(model_id, f"{base_url}/chat/completions", client, declared, retry, secrets)


@modelplug.hookimpl
def capabilities(state: OpenAIState) -> Capabilities:
    """Streaming with usage, native tools, ``stop`` and ``response_format``; the ``capabilities``
    option overrides (a compatible server cannot be asked)."""
    return state.capabilities


@modelplug.hookimpl
def option_types() -> Mapping[str, type]:
    """The options the command line converts; the others (``timeout``: a number or a dict,
    ``headers``, ``capabilities``) are read as JSON there."""
    return {
        "base_url": str,
        "api_key": str,
        "organization": str,
        **{name: kind for name, kind in KIT_OPTION_TYPES.items() if name != "timeout"},
    }


@modelplug.hookimpl
def unload(state: OpenAIState) -> None:
    """Close the model's HTTP client and its pooled connections; release the secrets it registered."""
    state.client.close()
    for secret in state.secrets:
        release_secret(secret)


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
    native = state.capabilities.tool_calling == "native"
    body = request_json(request_body(state.model, messages, options, native_tools=native), provider=PROVIDER)
    return _stream(state, body)


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
            original = httpx.HTTPStatusError(f"HTTP {response.status_code}", request=request, response=response)
            raise error_from_response(
                response.status_code,
                response.content,
                response.headers,
                provider=PROVIDER,
                reason=response.reason_phrase,
                original=original,
            ) from original
        return shutdown_httpx_response(response), _deltas(response)

    return open_stream(state.retry, start, provider=PROVIDER, model=state.model)


def _deltas(response: httpx.Response) -> Generator[ChatMessageStreamDelta, None, None]:
    received = False
    any_choice = False
    model: Any = None
    loads = json.loads
    try:
        for data in iter_sse_data(response.iter_bytes()):
            if data == b"[DONE]":
                received = True
                break
            try:
                chunk = loads(data)
            except ValueError as error:
                raise malformed_data_error(data, provider=PROVIDER, original=error) from error
            received = True
            if type(chunk) is dict and "error" in chunk and "choices" not in chunk:
                raise error_from_event(chunk, provider=PROVIDER)
            delta = delta_from_chunk(chunk)
            if not any_choice and type(chunk) is dict:
                any_choice = bool(chunk.get("choices"))
                model = model or chunk.get("model")
            if delta is not None:
                yield delta
    except httpx.HTTPError as error:
        raise error_from_transport(error, provider=PROVIDER, during="reading the stream") from error
    finally:
        response.close()
    if not received:
        raise empty_stream_error(PROVIDER)
    if not any_choice:
        raise no_choices_error(model if isinstance(model, str) else None, provider=PROVIDER)
