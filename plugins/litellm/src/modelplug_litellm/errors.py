"""LiteLLM's exceptions to modelplug's errors, through the chat-client kit (:mod:`modelplug.chat_client`).

LiteLLM raises OpenAI-SDK-shaped exceptions that carry ``status_code``, the HTTP ``response`` and
the wrapped ``original_exception``; errors met while a stream is read come wrapped in
``MidStreamFallbackError`` / ``APIConnectionError``. The exception and what it wraps decide:

- LiteLLM's specific classes: context window -> :class:`~modelplug.errors.ContextLengthError`,
  content policy -> :class:`~modelplug.errors.ContentFilterError`, timeout ->
  :class:`~modelplug.errors.ProviderTimeoutError`.
- Stream data that is not JSON or not UTF-8, timeouts and transport failures anywhere in the chain:
  :func:`~modelplug.chat_client.error_from_transport` (the same classes as every HTTP provider).
- An SSE ``{"error": ...}`` event (an ``APIError`` without status):
  :func:`~modelplug.chat_client.error_from_event` with the server's error object.
- An HTTP error response: :func:`~modelplug.chat_client.error_from_response` (status, body,
  ``Retry-After``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modelplug.chat_client import (
    error_from_client_response,
    error_from_event,
    error_from_response,
    error_from_transport,
    with_original,
)
from modelplug.errors import ContentFilterError, ContextLengthError, ProviderError, ProviderTimeoutError
from modelplug.secrets import redact, scrub_exception

__all__ = ["PROVIDER", "is_clean_end_without_finish", "map_error"]

PROVIDER = "litellm"
#: The message of the error LiteLLM raises when an OpenAI-style stream ends cleanly without a finish_reason.
_CLEAN_EOF = "Stream ended before a finish_reason was received"
_WIRE_FAULTS = frozenset(
    {"JSONDecodeError", "UnicodeDecodeError", "TimeoutException", "TransportError", "APITimeoutError"}
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < 12:
        seen.add(id(current))
        yield current
        nxt = getattr(current, "original_exception", None)
        current = nxt if isinstance(nxt, BaseException) else (current.__cause__ or current.__context__)


def is_clean_end_without_finish(error: BaseException) -> bool:
    """Whether ``error`` is LiteLLM's "stream ended before a finish_reason" (the HTTP body ended
    normally; modelplug ends the stream there, with no finish reason, instead of failing)."""
    return any(_CLEAN_EOF in str(e) for e in _chain(error))


def map_error(error: BaseException) -> ProviderError:
    """The modelplug error for a LiteLLM (or httpx) exception; ``original`` keeps ``error``."""
    if isinstance(error, ProviderError):
        return error
    scrub_exception(error)
    from modelplug_litellm.client import import_litellm

    exceptions = import_litellm().exceptions
    links = list(_chain(error))
    message = f"litellm: {redact(str(error) or type(error).__name__)}"
    status: Any = next(
        (link.status_code for link in links if isinstance(getattr(link, "status_code", None), int)), None
    )
    if any(isinstance(link, exceptions.ContextWindowExceededError) for link in links):
        return ContextLengthError(message, provider=PROVIDER, original=error, status_code=status)
    if any(isinstance(link, exceptions.ContentPolicyViolationError) for link in links):
        return ContentFilterError(message, provider=PROVIDER, original=error, status_code=status)
    if any(isinstance(link, exceptions.Timeout) for link in links):
        return ProviderTimeoutError(message, provider=PROVIDER, original=error, status_code=status)
    for link in links:
        if {cls.__name__ for cls in type(link).__mro__} & _WIRE_FAULTS or isinstance(link, ConnectionError):
            return with_original(error_from_transport(link, provider=PROVIDER), error)
    for link in links:
        if type(link).__name__ == "APIError" and getattr(link, "status_code", None) is None:
            body = getattr(link, "body", None)  # an SSE {"error": ...} event
            return with_original(
                error_from_event(body or getattr(link, "message", str(link)), provider=PROVIDER), error
            )
    for link in links:
        response = getattr(link, "response", None)
        code = getattr(response, "status_code", None)
        if isinstance(code, int) and code >= 400:
            fallback = getattr(link, "body", None) or str(link)
            return error_from_client_response(response, provider=PROVIDER, original=error, fallback=fallback)
    if isinstance(status, int) and status >= 400:
        body = next((link.body for link in links if getattr(link, "body", None)), None)
        return error_from_response(status, body or str(error), None, provider=PROVIDER, original=error)
    if any(isinstance(link, exceptions.APIConnectionError) for link in links):
        return with_original(error_from_transport(ConnectionError(str(error)), provider=PROVIDER), error)
    return error_from_transport(error, provider=PROVIDER)
