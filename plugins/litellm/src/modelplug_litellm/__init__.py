"""The ``litellm`` provider: stream from any model LiteLLM reaches.

Model spec: ``litellm:<LiteLLM model string>``, e.g. ``litellm:openai/gpt-4o-mini``,
``litellm:anthropic/claude-sonnet-4-5``, or ``litellm:openai/<name>`` with ``api_base`` for any
OpenAI-compatible server (vLLM, ``transformers serve``, llama.cpp).

Model options: ``api_base``, ``api_key`` (else LiteLLM reads the provider's usual environment
variable, e.g. ``OPENAI_API_KEY``), ``timeout`` (seconds), ``extra_headers``, any other
``litellm.completion`` argument (``custom_llm_provider``, ``api_version``, ...), and modelplug's own:
``capabilities`` (a dict overriding the declared :class:`~modelplug.types.Capabilities`),
``max_retries`` (default 2), ``retry_backoff`` (seconds, default 0.5), ``retry_max_wait`` (seconds,
default 30), ``estimated_usage`` (default ``False``).

What the provider corrects in what LiteLLM yields:

- LiteLLM fills in usage from a token-count estimate when the server reports none; the provider
  drops that estimate (``usage`` stays ``None``) unless ``estimated_usage=True``.
- LiteLLM raises when an OpenAI-style stream ends cleanly without a ``finish_reason``; the provider
  ends the stream there (``finish_reason`` stays ``None``). A connection that drops mid-stream still
  raises :class:`~modelplug.errors.ProviderConnectionError`.
- LiteLLM turns a 200 with an empty body into an empty answer with ``finish_reason="stop"``; the
  provider raises :class:`~modelplug.errors.ServerError` (retried like a 5xx).

LiteLLM itself is imported on the first :func:`modelplug.load_model`, never by importing this
package or by listing plugins. Async callers get ``litellm.acompletion`` (``agenerate_stream``,
the same corrections). ``generate`` comes from the core's aggregation of the stream.
"""

from __future__ import annotations

from modelplug_litellm.provider import agenerate_stream, capabilities, generate_stream, load, option_types, unload

__all__ = ["agenerate_stream", "capabilities", "generate_stream", "load", "option_types", "unload"]
