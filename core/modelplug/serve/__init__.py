"""``modelplug serve``: any provider as an OpenAI-compatible HTTP server (the ``serve`` extra).

:func:`build_app` gives the Starlette app for loaded models; :mod:`modelplug.serve.ray` deploys the
same app on Ray Serve (the ``ray`` extra). Nothing here is imported by ``import modelplug``.
docs/serving.md is the guide.
"""

from __future__ import annotations

from modelplug.serve.app import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONCURRENCY, ServedModel, build_app
from modelplug.serve.requests import ChatRequest, RequestError, parse_chat_request

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_CONCURRENCY",
    "ChatRequest",
    "RequestError",
    "ServedModel",
    "build_app",
    "parse_chat_request",
]
