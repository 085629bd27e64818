"""Wrapping a plain function ``messages -> ChatMessage | str`` as a modelplug provider.

For code that hands an agent a function instead of a model: :func:`model_from_callable` registers
a small provider (``callable-<n>``) declaring no streaming and text tool calls, and loads it as a
:class:`~modelplug.Model`. What the function receives and returns: ``docs/agents.md`` ("A function
as the model").
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

from modelplug import _plugins as plugins
from modelplug._load import load_model
from modelplug._model import Model
from modelplug.agents.prompts import text_tools_prompt
from modelplug.errors import InvalidOptionError
from modelplug.hookspecs import hookimpl
from modelplug.types import Capabilities, ChatMessage, GenerationOptions
from modelplug.wire import message_from_wire, message_to_wire

__all__ = ["CALLABLE_CAPABILITIES", "CallableProvider", "model_from_callable"]

#: What a wrapped function declares (see the module docstring).
CALLABLE_CAPABILITIES: Final = Capabilities(streaming=False, tool_calling="text", stop_sequences=False)

_counter = itertools.count(1)
_lock = threading.Lock()


class CallableProvider:
    """The provider object registered for one wrapped function (hook implementations as methods)."""

    def __init__(self, name: str, function: Callable[[list[dict[str, Any]]], Any]) -> None:
        self.name = name
        self.function = function

    @hookimpl
    def capabilities(self) -> Capabilities:
        """Non-streaming, tool calls read from the text (or taken as given)."""
        return CALLABLE_CAPABILITIES

    @hookimpl
    def generate(self, messages: list[ChatMessage], options: GenerationOptions) -> ChatMessage:
        """Call the function with the messages as wire dicts (the tools described in the system
        message); turn its result into an assistant message.

        Raises:
            InvalidOptionError: the function returned something other than a string, an assistant
                ChatMessage or an assistant message dict.
        """
        wire = [message_to_wire(m) for m in messages]
        if options.tools and options.tool_choice != "none":
            described = text_tools_prompt(options.tools)
            if wire and wire[0]["role"] == "system" and isinstance(wire[0]["content"], str):
                wire[0] = {**wire[0], "content": f"{wire[0]['content']}\n\n{described}"}
            else:
                wire.insert(0, {"role": "system", "content": described})
        result = self.function(wire)
        if isinstance(result, str):
            return ChatMessage(role="assistant", content=result, finish_reason="stop")
        if isinstance(result, Mapping):
            result = message_from_wire({"role": "assistant", **result})
        if isinstance(result, ChatMessage) and result.role == "assistant":
            return result
        raise InvalidOptionError(
            f"the model function {self.name!r} must return a string or an assistant ChatMessage, got {result!r}"
        )

    @hookimpl
    def unload(self) -> None:
        """Unregister the provider."""
        plugins.unregister_provider(self.name)


def model_from_callable(function: Callable[[list[dict[str, Any]]], Any]) -> Model:
    """Register ``function`` as a provider under a unique name and load it as a :class:`Model`.

    Raises:
        InvalidOptionError: ``function`` is not callable.
    """
    if not callable(function):
        raise InvalidOptionError(f"a model function must be callable, got {function!r}")
    with _lock:
        taken = plugins.provider_names()  # without importing every installed plugin
        name = next(n for n in (f"callable-{i}" for i in _counter) if n not in taken)
        plugins.register_provider(name, CallableProvider(name, function))
    label = getattr(function, "__qualname__", None) or type(function).__name__
    return load_model(f"{name}:{label}")
