"""huggingface_hub's exceptions to modelplug's errors, through the chat-client kit
(:mod:`modelplug.chat_client`).

- ``HfHubHTTPError`` with a response: :func:`~modelplug.chat_client.error_from_response` (status,
  the server's error body, ``Retry-After``).
- Error events inside the stream, which huggingface_hub raises as ``TextGenerationError`` subclasses
  named for TGI's ``error_type``: :func:`~modelplug.chat_client.error_from_event` (``validation`` is a
  :class:`~modelplug.errors.BadRequestError`, ``overloaded`` a :class:`~modelplug.errors.ServerError`).
- ``OfflineModeIsEnabled``: huggingface_hub refuses every request while ``HF_HUB_OFFLINE=1``.
- Anything else (timeouts, transport failures, data that is not JSON):
  :func:`~modelplug.chat_client.error_from_transport`.
"""

from __future__ import annotations

import re
from typing import Any

from modelplug.chat_client import error_from_client_response, error_from_event, error_from_transport, with_original
from modelplug.errors import ProviderError

__all__ = ["PROVIDER", "amap_error", "map_error"]

PROVIDER = "inference-client"


def _names(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


def map_error(error: BaseException) -> ProviderError:
    """The modelplug error for a huggingface_hub (or httpx) exception; ``original`` keeps ``error``."""
    if isinstance(error, ProviderError):
        return error
    names = _names(error)
    if "OfflineModeIsEnabled" in names:
        return ProviderError(
            "inference-client: huggingface_hub is in offline mode (HF_HUB_OFFLINE=1) and refuses every request, "
            "even to a local base_url; unset HF_HUB_OFFLINE to use this provider",
            provider=PROVIDER,
            original=error,
        )
    response: Any = getattr(error, "response", None)
    if "HfHubHTTPError" in names and response is not None:
        fallback = getattr(error, "server_message", None)
        return error_from_client_response(response, provider=PROVIDER, original=error, fallback=fallback)
    if "TextGenerationError" in names:
        kind = re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__.removesuffix("Error")).lower()
        data = {"error": str(error.args[0]) if error.args else "", "error_type": kind}
        return with_original(error_from_event(data, provider=PROVIDER), error)
    return error_from_transport(error, provider=PROVIDER)


async def amap_error(error: BaseException) -> ProviderError:
    """:func:`map_error` for ``AsyncInferenceClient``: an HTTP error's streamed body is read first
    (async; the sync client has read it already), so that the server's message and error type decide
    the class (a context-length or content-filter 400) exactly as on the sync path. huggingface_hub's
    own handling of a 422 fails on the unread body (``ResponseNotRead``); the HTTP error it was
    handling is mapped then."""
    link: BaseException | None = error
    for _ in range(4):
        if link is None:
            break
        response: Any = getattr(link, "response", None)
        aread = getattr(response, "aread", None)
        if "HfHubHTTPError" in _names(link) and aread is not None:
            try:
                await aread()
            except Exception:  # the connection failed: map what is known
                return map_error(error)
            mapped = map_error(link)
            if link is not error:
                mapped.original = error
            return mapped
        link = link.__cause__ or link.__context__
    return map_error(error)
