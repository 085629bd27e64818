"""LiteLLM's exceptions mapped to modelplug's hierarchy.

LiteLLM raises OpenAI-SDK-shaped exceptions (``litellm.AuthenticationError``, ``RateLimitError``,
``ContextWindowExceededError``, ...) that carry ``status_code``, the HTTP ``response`` and the wrapped
``original_exception``. The class is picked from LiteLLM's own classification where it is specific
(context window, content policy, timeout, connection), else from the HTTP status and the server's
error code and message (:func:`modelplug.errors.error_class_for_status`), so that e.g. Azure's
``content_filter`` 400, which LiteLLM calls a plain ``BadRequestError``, is a
:class:`~modelplug.errors.ContentFilterError`.

Errors that happen while a stream is read come wrapped in ``MidStreamFallbackError``; the wrapped
exception decides: a connection dropped mid-stream is a
:class:`~modelplug.errors.ProviderConnectionError`, an SSE ``{"error": ...}`` event a
:class:`~modelplug.errors.ServerError`.

``retry_after`` (seconds) comes from the ``Retry-After`` / ``retry-after-ms`` response headers.
Registered secrets are scrubbed from the original exception and its chain
(:func:`modelplug.secrets.scrub_exception`), which stays attached as ``original``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from modelplug.errors import (
    ContentFilterError,
    ContextLengthError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    error_class_for_status,
)
from modelplug.secrets import redact, scrub_exception

__all__ = ["PROVIDER", "is_clean_end_without_finish", "map_error", "retry_after_seconds"]

PROVIDER = "litellm"
#: The message of the error LiteLLM raises (wrapped in MidStreamFallbackError / APIConnectionError)
#: when an OpenAI-style stream ends cleanly without a finish_reason.
_CLEAN_EOF = "Stream ended before a finish_reason was received"


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


def retry_after_seconds(error: BaseException) -> float | None:
    """The wait the server asked for (``retry-after-ms`` or ``Retry-After`` in seconds), or ``None``."""
    for link in _chain(error):
        headers: Any = getattr(link, "litellm_response_headers", None)
        response = getattr(link, "response", None)
        if headers is None and response is not None:
            headers = getattr(response, "headers", None)
        if not headers:
            continue
        try:
            milliseconds = headers.get("retry-after-ms")
            if milliseconds is not None:
                return max(0.0, float(milliseconds) / 1000)
            seconds = headers.get("retry-after")
            if seconds is not None:
                return max(0.0, float(seconds))
        except (TypeError, ValueError):  # an HTTP date: not worth parsing
            return None
    return None


def _status_and_code(error: BaseException) -> tuple[int | None, str | None]:
    status = code = None
    for link in _chain(error):
        if status is None:
            value = getattr(link, "status_code", None)
            status = value if isinstance(value, int) else None
        if code is None:
            value = getattr(link, "code", None)
            if isinstance(value, str):
                code = value
            body = getattr(link, "body", None)
            if code is None and isinstance(body, dict) and isinstance(body.get("code"), str):
                code = body["code"]
    return status, code


def _server_message(error: BaseException) -> str | None:
    """The server's own error message (OpenAI's ``error.message``, FastAPI's ``detail``), which
    LiteLLM leaves out of some messages (e.g. ``Error code: 422``)."""
    for link in _chain(error):
        body = getattr(link, "body", None)
        if isinstance(body, dict):
            inner = body.get("error", body)
            message = inner.get("message") or inner.get("detail") if isinstance(inner, dict) else inner
            if message:
                return message if isinstance(message, str) else str(message)
    return None


def _classify(error: BaseException) -> type[ProviderError]:
    import httpx

    from modelplug_litellm.client import import_litellm

    exceptions = import_litellm().exceptions
    if isinstance(error, exceptions.MidStreamFallbackError):
        inner = error.original_exception
        if isinstance(inner, BaseException) and inner is not error:
            return _classify(inner)
        return ProviderConnectionError
    if isinstance(error, exceptions.ContextWindowExceededError):
        return ContextLengthError
    if isinstance(error, exceptions.ContentPolicyViolationError):
        return ContentFilterError
    if isinstance(error, exceptions.Timeout):
        return ProviderTimeoutError
    for link in _chain(error):  # LiteLLM reports a refused connection as a 500 InternalServerError
        if isinstance(link, httpx.TimeoutException):
            return ProviderTimeoutError
        if isinstance(link, (httpx.TransportError, ConnectionError)):
            return ProviderConnectionError
    if isinstance(error, exceptions.APIConnectionError):
        for link in _chain(error):
            if type(link).__name__ == "APIError" and getattr(link, "status_code", None) is None:
                return ServerError  # an SSE {"error": ...} event: the server failed while generating
        return ProviderConnectionError
    status, code = _status_and_code(error)
    return error_class_for_status(status, f"{error} {_server_message(error) or ''}", code)


def map_error(error: BaseException) -> ProviderError:
    """The modelplug error for a LiteLLM (or httpx) exception; ``original`` keeps ``error``."""
    if isinstance(error, ProviderError):
        return error
    scrub_exception(error)
    cls = _classify(error)
    status, _ = _status_and_code(error)
    message = str(error) or type(error).__name__
    detail = _server_message(error)
    if detail and detail not in message:
        message = f"{message} (server: {detail})"
    message = f"litellm: {redact(message)}"
    if cls is RateLimitError:
        return RateLimitError(
            message, provider=PROVIDER, original=error, status_code=status, retry_after=retry_after_seconds(error)
        )
    return cls(message, provider=PROVIDER, original=error, status_code=status)
