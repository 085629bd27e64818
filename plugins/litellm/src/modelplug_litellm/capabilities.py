"""What a LiteLLM model can do, from LiteLLM's model information, with a user override.

LiteLLM knows the parameters each provider takes (``litellm.get_supported_openai_params``) and, for
the models in its bundled map, their features (``litellm.get_model_info``: function calling,
response schema, vision, reasoning). Unknown models (a custom name on an OpenAI-compatible server)
get the provider's parameters and no special features.

Details: docs/providers/litellm.md, "Capabilities: `stop` and the override".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Final

from modelplug.types import Capabilities

__all__ = ["declared_capabilities", "supports_stop"]

_NO_STOP: Final = re.compile(
    r"""
    (?: o3 (?!-mini) (?:-[\w.-]*)?        # o3, o3-pro, o3-2025-04-16; o3-mini takes stop
      | o4-mini (?:-[\w.-]*)?
      | gpt-5 (?:[.-][\w.-]*)?             # gpt-5, gpt-5.1, gpt-5-mini, gpt-5.2-mini, ...
      | grok-(?:4|3-mini|code) [\w.-]*
    )$
    """,
    re.VERBOSE,
)
_VENDOR_PREFIX: Final = re.compile(r"^[a-z][\w-]*\.(?=grok-)")


def supports_stop(model: str) -> bool:
    """Whether ``model`` takes the ``stop`` parameter, by name (see the module docstring).

    Only the last path segment counts (``openai/o3`` is ``o3``), without a ``vendor.`` prefix
    (``oci/xai.grok-4`` is ``grok-4``); an empty name counts as supported.
    """
    name = _VENDOR_PREFIX.sub("", model.rsplit("/", 1)[-1].lower())
    return not _NO_STOP.match(name)


def _provider_params(litellm: ModuleType, model: str, options: Mapping[str, Any]) -> tuple[str, list[str] | None]:
    """``(model name without provider, supported OpenAI params or None when unknown)``."""
    try:
        name, provider, _, _ = litellm.get_llm_provider(
            model, custom_llm_provider=options.get("custom_llm_provider"), api_base=options.get("api_base")
        )
    except Exception:  # LiteLLM cannot tell the provider (e.g. "grok-4" without "xai/")
        return model, None
    try:
        params = litellm.get_supported_openai_params(model=name, custom_llm_provider=provider)
    except Exception:
        params = None
    return name, params


def _model_info(litellm: ModuleType, model: str) -> Mapping[str, Any]:
    try:
        return dict(litellm.get_model_info(model))
    except Exception:  # not in LiteLLM's map
        return {}


def declared_capabilities(litellm: ModuleType, model: str, options: Mapping[str, Any]) -> Capabilities:
    """The :class:`Capabilities` of ``model`` from LiteLLM's information (the ``capabilities``
    override is the core's, applied by ``load`` with ``reserved.apply``)."""
    name, params = _provider_params(litellm, model, options)
    info = _model_info(litellm, model)
    takes = (lambda p: True) if params is None else (lambda p: p in params)
    function_calling = info.get("supports_function_calling")
    native = takes("tools") and function_calling is not False
    return Capabilities(
        streaming=True,
        async_streaming=True,
        tool_calling="native" if native else "none",
        streamed_tool_calls=native,
        usage_in_stream=True,
        stop_sequences=takes("stop") and supports_stop(name) and supports_stop(model),
        structured_output=takes("response_format"),
        vision=bool(info.get("supports_vision")),
        reasoning=bool(info.get("supports_reasoning")),
    )
