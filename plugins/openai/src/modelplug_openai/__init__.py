"""The ``openai`` provider: stream from any OpenAI-compatible chat-completions server over httpx.

Spec ``openai:<model>``; the request goes to ``<base_url>/chat/completions`` with ``model`` in its
body. Options, errors and speed: see docs/providers/openai.md (this plugin's README).
"""

from __future__ import annotations

from modelplug_openai.provider import agenerate_stream, capabilities, generate_stream, load, option_types, unload

__all__ = ["agenerate_stream", "capabilities", "generate_stream", "load", "option_types", "unload"]
