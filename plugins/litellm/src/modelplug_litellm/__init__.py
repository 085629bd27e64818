"""The ``litellm`` provider: stream from any model LiteLLM reaches.

Model spec: ``litellm:<LiteLLM model string>``, e.g. ``litellm:openai/gpt-4o-mini``,
``litellm:anthropic/claude-sonnet-4-5``, or ``litellm:openai/<name>`` with ``api_base`` for any
OpenAI-compatible server (vLLM, ``transformers serve``, llama.cpp).

Details: docs/providers/litellm.md, "Options and corrections".
"""

from __future__ import annotations

from modelplug_litellm.provider import agenerate_stream, capabilities, generate_stream, load, option_types, unload

__all__ = ["agenerate_stream", "capabilities", "generate_stream", "load", "option_types", "unload"]
