"""Building the ``InferenceClient`` and the ``chat_completion`` keyword arguments.

One :class:`~huggingface_hub.InferenceClient` is made per request (cheap: the HTTP connection pool is
huggingface_hub's shared session). In streaming mode the client keeps each open response in its own
exit stack until ``client.close()``; a client per request lets the provider close exactly that
response when the stream ends or the caller stops early, and keeps a long-lived model from piling up
finished responses. The async path (:func:`make_async_client`) does the same with
``AsyncInferenceClient``.

Details: docs/providers/inference-client.md, "Request rules".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from modelplug.types import ChatMessage, GenerationOptions
from modelplug.wire import chat_request

__all__ = ["CLIENT_OPTIONS", "chat_kwargs", "make_async_client", "make_client"]

#: Model options that configure the ``InferenceClient`` itself.
CLIENT_OPTIONS: Final = ("base_url", "token", "provider", "timeout", "headers", "bill_to", "cookies")
_NAMED_EXTRAS: Final = frozenset(
    {"frequency_penalty", "presence_penalty", "logprobs", "top_logprobs", "logit_bias", "n", "tool_prompt"}
)


def make_client(settings: Mapping[str, Any]) -> Any:
    """A new ``InferenceClient`` for one request, from the client options in ``settings``."""
    from huggingface_hub import InferenceClient

    return InferenceClient(**{k: v for k, v in settings.items() if v is not None})


def make_async_client(settings: Mapping[str, Any]) -> Any:
    """A new ``AsyncInferenceClient`` for one request, from the same settings as :func:`make_client`.

    Unlike the sync client, huggingface_hub gives each async client an ``httpx.AsyncClient`` of its
    own (no shared pool), closed with the client."""
    from huggingface_hub import AsyncInferenceClient

    return AsyncInferenceClient(**{k: v for k, v in settings.items() if v is not None})


def chat_kwargs(
    model: str | None, messages: Sequence[ChatMessage], options: GenerationOptions, *, native_tools: bool
) -> dict[str, Any]:
    """The keyword arguments of one streaming ``InferenceClient.chat_completion`` call.

    Args:
        model: the model name sent in the request (``None`` when the model is the client's URL).
        messages: the conversation.
        options: the generation options (see the module docstring for what is sent when).
        native_tools: the server takes ``tools``/``tool_choice`` natively (else only ``tools`` go).
    """
    kwargs: dict[str, Any] = {
        **chat_request(messages, options, native_tools=native_tools),
        "model": model,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    extra_body: dict[str, Any] = {}
    for key, value in options.extra.items():
        if key in _NAMED_EXTRAS:
            kwargs[key] = value
        elif key == "extra_body" and isinstance(value, Mapping):
            extra_body.update(value)
        else:
            extra_body[key] = value
    if extra_body:
        kwargs["extra_body"] = extra_body
    return kwargs
