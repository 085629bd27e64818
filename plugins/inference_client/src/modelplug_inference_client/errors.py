"""huggingface_hub's exceptions mapped to modelplug's hierarchy.

- ``HfHubHTTPError`` (and its subclasses): by HTTP status and the server's error body
  (:func:`modelplug.errors.error_class_for_status`): OpenAI's ``{"error": {"message", "code"}}``,
  TGI's ``{"error": "...", "error_type": "..."}`` and FastAPI's ``{"detail": ...}`` (``transformers
  serve``'s 422) are read. ``retry_after`` comes from ``Retry-After``.
- ``InferenceTimeoutError`` and httpx timeouts: :class:`~modelplug.errors.ProviderTimeoutError`.
- httpx transport errors (connection refused, reset, a body cut mid-stream):
  :class:`~modelplug.errors.ProviderConnectionError`. huggingface_hub does not wrap errors raised
  while a stream is read, so these arrive as httpx's own.
- SSE error events, which huggingface_hub raises as ``TextGenerationError`` subclasses:
  ``ValidationError`` is a :class:`~modelplug.errors.BadRequestError`, the others (generation,
  incomplete generation, overloaded, unknown) a :class:`~modelplug.errors.ServerError`.
- ``OfflineModeIsEnabled``: huggingface_hub refuses every request, even to a loopback ``base_url``,
  while ``HF_HUB_OFFLINE=1``; a :class:`~modelplug.errors.ProviderError` that says so.

Registered secrets are scrubbed from the original exception and its chain, which stays attached as
``original``.
"""

from __future__ import annotations

import json
from typing import Any

from modelplug.errors import (
    BadRequestError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    error_class_for_status,
)
from modelplug.secrets import redact, scrub_exception

__all__ = ["PROVIDER", "map_error", "server_error_details"]

PROVIDER = "inference-client"
_TRANSPORT = frozenset({"TransportError", "NetworkError", "ProtocolError", "ConnectError", "ReadError"})


def _mro_names(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


def server_error_details(body: Any) -> tuple[str | None, str | None]:
    """``(message, code)`` from an error body (a decoded JSON value), in any of the shapes above."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            message = error.get("message") or error.get("detail")
            code = error.get("code") if isinstance(error.get("code"), str) else error.get("type")
            return (str(message) if message is not None else None), (code if isinstance(code, str) else None)
        if isinstance(error, str):
            return error, body.get("error_type") if isinstance(body.get("error_type"), str) else None
        detail = body.get("detail")
        if detail is not None:
            return (detail if isinstance(detail, str) else json.dumps(detail)), None
    if isinstance(body, str):
        return body, None
    return None, None


def _http_details(error: Any) -> tuple[int | None, str | None, str | None, float | None]:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    message = code = None
    retry_after = None
    if response is not None:
        try:
            message, code = server_error_details(response.json())
        except Exception:  # not JSON, or the body was never read
            message = getattr(error, "server_message", None) or None
        value = response.headers.get("retry-after")
        if value is not None:
            try:
                retry_after = max(0.0, float(value))
            except ValueError:  # an HTTP date: not worth parsing
                retry_after = None
    return status, message, code, retry_after


def map_error(error: BaseException) -> ProviderError:
    """The modelplug error for a huggingface_hub (or httpx) exception; ``original`` keeps ``error``."""
    if isinstance(error, ProviderError):
        return error
    scrub_exception(error)
    names = _mro_names(error)
    if "OfflineModeIsEnabled" in names:
        return ProviderError(
            "inference-client: huggingface_hub is in offline mode (HF_HUB_OFFLINE=1) and refuses every request, "
            "even to a local base_url; unset HF_HUB_OFFLINE to use this provider",
            provider=PROVIDER,
            original=error,
        )
    if "HfHubHTTPError" in names and getattr(error, "response", None) is not None:
        status, message, code, retry_after = _http_details(error)
        cls = error_class_for_status(status, message or "", code)
        text = f"inference-client: HTTP {status}: {redact(message or str(error))}"
        if cls is RateLimitError:
            return RateLimitError(text, provider=PROVIDER, original=error, status_code=status, retry_after=retry_after)
        return cls(text, provider=PROVIDER, original=error, status_code=status)
    if "InferenceTimeoutError" in names or "TimeoutException" in names:
        return ProviderTimeoutError(f"inference-client: {redact(str(error))}", provider=PROVIDER, original=error)
    if names & _TRANSPORT:
        return ProviderConnectionError(
            f"inference-client: connection failed: {type(error).__name__}: {redact(str(error))}",
            provider=PROVIDER,
            original=error,
        )
    if "TextGenerationError" in names:
        payload = error.args[0] if error.args else None
        message, _ = server_error_details(payload)
        cls = BadRequestError if "ValidationError" in names else ServerError
        return cls(
            f"inference-client: the server reported an error: {redact(message or str(error))}",
            provider=PROVIDER,
            original=error,
        )
    if isinstance(error, json.JSONDecodeError):
        return ProviderError(f"inference-client: malformed stream data: {error}", provider=PROVIDER, original=error)
    return ProviderError(
        f"inference-client: {type(error).__name__}: {redact(str(error))}", provider=PROVIDER, original=error
    )
