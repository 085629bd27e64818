"""Importing LiteLLM lazily and building ``litellm.completion`` keyword arguments.

``import litellm`` takes about 5 s, so nothing here imports it at module level: :func:`import_litellm`
does, the first time a model is loaded. Before the import it sets ``LITELLM_LOCAL_MODEL_COST_MAP=True``
(unless the environment already says otherwise), so LiteLLM reads its bundled model cost map instead
of fetching it from GitHub; after it, ``litellm.suppress_debug_info = True`` silences the "Give
Feedback / Get Help" lines LiteLLM prints on stdout for every error.

Request rules (:func:`completion_kwargs`):

- The stream always asks for usage: ``stream=True, stream_options={"include_usage": True}``.
- ``max_retries=0``: the OpenAI SDK under LiteLLM would retry by itself, also at times modelplug
  cannot see; modelplug retries (before the first delta only, see :mod:`modelplug.retry`).
- ``stop`` is sent only when non-empty (the core leaves it out for models that declare
  ``stop_sequences=False`` and cuts the text itself).
- ``tools`` are sent only when there are tools. ``tool_choice`` is sent only with tools, only when
  it was given (``None`` means "the server's default", which is ``"auto"``), and only for native
  tool calling: with ``tool_calling="text"`` the tools go to the server's chat template and the
  calls are read from the text, so there is nothing to force.
- ``reasoning_content`` of earlier assistant messages is not sent back (servers reject or ignore it).
- Model options not read by modelplug are LiteLLM ``completion`` arguments (``api_base``,
  ``api_key``, ``timeout``, ``extra_headers``, ``custom_llm_provider``, ``api_version``, ...);
  generation options in ``extra`` (``frequency_penalty``, ``reasoning_effort``, ``extra_body``, ...)
  are passed the same way and win over model options.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any, Final

from modelplug.types import ChatMessage, GenerationOptions, Tool
from modelplug.wire import message_to_wire

__all__ = ["COST_MAP_ENV", "completion_kwargs", "import_litellm", "tool_to_wire"]

#: LiteLLM reads this at import: ``True`` makes it use the cost map bundled in the wheel.
COST_MAP_ENV: Final = "LITELLM_LOCAL_MODEL_COST_MAP"

_lock = threading.Lock()
_litellm: ModuleType | None = None


def import_litellm() -> ModuleType:
    """The ``litellm`` module, imported on first call (≈5 s) with the local cost map.

    Raises:
        ImportError: LiteLLM is not installed.
    """
    global _litellm
    if _litellm is not None:
        return _litellm
    with _lock:
        if _litellm is None:
            os.environ.setdefault(COST_MAP_ENV, "True")
            import litellm

            litellm.suppress_debug_info = True
            _litellm = litellm
    return _litellm


def tool_to_wire(tool: Tool) -> dict[str, Any]:
    """The chat-completions ``tools`` entry of ``tool``."""
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def _message(message: ChatMessage) -> dict[str, Any]:
    data = message_to_wire(message)
    data.pop("reasoning_content", None)
    return data


def completion_kwargs(
    model: str,
    base: Mapping[str, Any],
    messages: Sequence[ChatMessage],
    options: GenerationOptions,
    *,
    native_tools: bool,
) -> dict[str, Any]:
    """The keyword arguments of one streaming ``litellm.completion`` call.

    Args:
        model: the LiteLLM model string (``"openai/gpt-4o-mini"``).
        base: LiteLLM arguments from the model options (``api_base``, ``api_key``, ...).
        messages: the conversation.
        options: the generation options (see the module docstring for what is sent when).
        native_tools: the model takes ``tools``/``tool_choice`` natively (else only ``tools`` go).
    """
    kwargs: dict[str, Any] = {**base}
    kwargs.update(
        model=model,
        messages=[_message(m) for m in messages],
        stream=True,
        stream_options={"include_usage": True},
        max_retries=0,
    )
    for name in ("max_tokens", "temperature", "top_p", "seed", "response_format"):
        value = getattr(options, name)
        if value is not None:
            kwargs[name] = value
    if options.stop:
        kwargs["stop"] = list(options.stop)
    if options.tools:
        kwargs["tools"] = [tool_to_wire(t) for t in options.tools]
        if native_tools and options.tool_choice is not None:
            kwargs["tool_choice"] = options.tool_choice
    kwargs.update(options.extra)
    return kwargs
