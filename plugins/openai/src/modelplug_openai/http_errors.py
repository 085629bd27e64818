"""HTTP statuses, error bodies and transport failures to modelplug errors.

Private to this plugin and marked for replacement: the core's chat-client kit (issue 11) takes this
job for every HTTP provider; at merge this module becomes one import of the kit's functions.

- An HTTP error status: the class from :func:`modelplug.errors.error_class_for_status`, with the
  server's message read from OpenAI's ``{"error": {"message", "code"}}``, TGI's ``{"error": "...",
  "error_type": "..."}`` or FastAPI's ``{"detail": ...}``; ``retry_after`` from ``Retry-After``
  (seconds).
- An ``{"error": ...}`` object sent as an SSE event mid-stream: :func:`modelplug.wire.error_from_wire`.
- httpx timeouts: :class:`~modelplug.errors.ProviderTimeoutError`; other transport errors (refused,
  reset, a body cut mid-stream): :class:`~modelplug.errors.ProviderConnectionError`.

Registered secrets are redacted from messages and scrubbed from the original exception.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from modelplug.errors import (
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    error_class_for_status,
)
from modelplug.secrets import redact, scrub_exception

__all__ = ["PROVIDER", "error_details", "from_response", "from_transport"]

PROVIDER = "openai"


def error_details(body: Any) -> tuple[str | None, str | None]:
    """``(message, code)`` from a decoded error body in any of the shapes of the module docstring."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            message = error.get("message") or error.get("detail")
            code = error.get("code") if isinstance(error.get("code"), str) else error.get("type")
            if message is not None and not isinstance(message, str):
                message = json.dumps(message)
            return message, (code if isinstance(code, str) else None)
        if isinstance(error, str):
            kind = body.get("error_type")
            return error, kind if isinstance(kind, str) else None
        detail = body.get("detail")
        if detail is not None:
            return (detail if isinstance(detail, str) else json.dumps(detail)), None
    if isinstance(body, str):
        return body, None
    return None, None


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:  # an HTTP date
        return None


def from_response(response: httpx.Response, original: BaseException) -> ProviderError:
    """The error for a non-2xx ``response`` whose body has been read."""
    status = response.status_code
    try:
        message, code = error_details(response.json())
    except ValueError:
        message, code = (response.text or None), None
    cls = error_class_for_status(status, message or "", code)
    text = f"openai: HTTP {status}: {redact(message or response.reason_phrase)}"
    scrub_exception(original)
    if cls is RateLimitError:
        retry_after = _retry_after(response.headers.get("retry-after"))
        return RateLimitError(text, provider=PROVIDER, original=original, status_code=status, retry_after=retry_after)
    return cls(text, provider=PROVIDER, original=original, status_code=status)


def from_transport(error: BaseException) -> ProviderError:
    """The error for an httpx exception raised while connecting or reading."""
    if isinstance(error, ProviderError):
        return error
    scrub_exception(error)
    if isinstance(error, httpx.TimeoutException):
        return ProviderTimeoutError(
            f"openai: {type(error).__name__}: {redact(str(error))}", provider=PROVIDER, original=error
        )
    if isinstance(error, httpx.TransportError):
        return ProviderConnectionError(
            f"openai: connection failed: {type(error).__name__}: {redact(str(error))}",
            provider=PROVIDER,
            original=error,
        )
    return ProviderError(f"openai: {type(error).__name__}: {redact(str(error))}", provider=PROVIDER, original=error)
