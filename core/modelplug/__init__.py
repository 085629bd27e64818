"""modelplug: stream language-model output — text, reasoning and tool calls — through provider plugins.

The whole public API::

    import modelplug

    model = modelplug.load_model("transformers:default")         # "<provider>:<model id>"
    answer = model.generate("What is the capital of France?")     # ChatMessage
    with model.stream("Tell me a story", max_tokens=64) as stream:
        for delta in stream:                                      # ChatMessageStreamDelta
            print(delta.content or "", end="", flush=True)
    stream.message                                                # the aggregate, also after an error

    answer = await model.agenerate("...")                         # from async code: the same answers
    async with model.astream("Tell me a story") as stream:        # AsyncChatStream
        async for delta in stream: ...

Everything below is importable from ``modelplug`` directly. Heavy parts load on first use, so
``import modelplug`` stays cheap and imports no backend.
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
