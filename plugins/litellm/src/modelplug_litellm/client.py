"""Importing LiteLLM lazily and building ``litellm.completion`` keyword arguments.

LiteLLM is imported by :func:`import_litellm` on the first load, never at module level. Every
request asks for usage and passes ``max_retries=0``: modelplug retries, before the first delta only.

Details: docs/providers/litellm.md, "Importing LiteLLM and the request rules".
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
