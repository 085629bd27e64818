"""modelplug: stream language-model output — text, reasoning and tool calls — through provider plugins.

``load_model(spec)`` gives a :class:`Model`; ``model.generate(...)`` returns a :class:`ChatMessage`,
``model.stream(...)`` a :class:`ChatStream` of deltas (``astream`` / ``agenerate`` from async code).
Everything a user needs is importable from here (``__all__``); heavy parts load on first use
(``_LAZY``), so ``import modelplug`` imports no backend. Quick start: ``docs/quickstart.md``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from modelplug.errors import (
    AuthenticationError,
    BadRequestError,
    CapabilityError,
    ContentFilterError,
    ContextLengthError,
    HookNotImplementedError,
    InvalidOptionError,
    MalformedChunkError,
    ModelClosedError,
    ModelLoadError,
    ModelplugError,
    PluginContractError,
    PluginError,
    PluginLoadError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    ToolCallParseError,
    UnknownProviderError,
)
from modelplug.hookspecs import hookimpl
from modelplug.types import (
    Capabilities,
    ChatMessage,
    ChatMessageStreamDelta,
    GenerationOptions,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
)

if TYPE_CHECKING:
    from modelplug._aggregation import StreamAggregator, aggregate, aggregate_chunks
    from modelplug._astream import AsyncChatStream
    from modelplug._load import load_model
    from modelplug._model import Model
    from modelplug._plugins import ProviderInfo, list_providers, register_provider
    from modelplug._stream import ChatStream
    from modelplug.tools import as_tool

__version__ = "0.1.0"

# name -> module that defines it; imported on first attribute access (PEP 562)
_LAZY = {
    "Model": "modelplug._model",
    "load_model": "modelplug._load",
    "ChatStream": "modelplug._stream",
    "AsyncChatStream": "modelplug._astream",
    "StreamAggregator": "modelplug._aggregation",
    "aggregate": "modelplug._aggregation",
    "aggregate_chunks": "modelplug._aggregation",
    "ProviderInfo": "modelplug._plugins",
    "list_providers": "modelplug._plugins",
    "register_provider": "modelplug._plugins",
    "as_tool": "modelplug.tools",
}

__all__ = [
    "AsyncChatStream",
    "AuthenticationError",
    "BadRequestError",
    "Capabilities",
    "CapabilityError",
    "ChatMessage",
    "ChatMessageStreamDelta",
    "ChatStream",
    "ContentFilterError",
    "ContextLengthError",
    "GenerationOptions",
    "HookNotImplementedError",
    "InvalidOptionError",
    "MalformedChunkError",
    "Model",
    "ModelClosedError",
    "ModelLoadError",
    "ModelplugError",
    "PluginContractError",
    "PluginError",
    "PluginLoadError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderInfo",
    "ProviderTimeoutError",
    "RateLimitError",
    "ServerError",
    "StreamAggregator",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallParseError",
    "UnknownProviderError",
    "Usage",
    "__version__",
    "aggregate",
    "aggregate_chunks",
    "as_tool",
    "hookimpl",
    "list_providers",
    "load_model",
    "register_provider",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'modelplug' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
