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
- Messages, sampling options, ``stop``, ``tools`` and ``tool_choice`` follow
  :func:`modelplug.wire.chat_request` (``stop`` only when given, ``tool_choice`` only with
  tools and when given, no ``reasoning_content`` sent back).
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

from modelplug.types import ChatMessage, GenerationOptions
from modelplug.wire import chat_request

__all__ = ["COST_MAP_ENV", "completion_kwargs", "import_litellm"]

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
        options: the generation options (:func:`modelplug.wire.chat_request` says what is sent when).
        native_tools: the model takes ``tools``/``tool_choice`` natively (else only ``tools`` go).
    """
    return {
        **base,
        "model": model,
        **chat_request(messages, options, native_tools=native_tools),
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_retries": 0,
        **options.extra,
    }
