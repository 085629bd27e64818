"""vLLM's own tool-call parsers (``tool_parser="hermes"`` etc.) behind modelplug's types.

A vLLM tool parser keeps state while it streams, so every request gets a new instance
(:func:`new_parser`). It reads a ``ChatCompletionRequest`` (for the tools and ``tool_choice``), built
here from modelplug's tools. :class:`StreamingToolParser` feeds it the text and token ids of each
output step the way vLLM's server does (previous text, current text, delta text, and the same for
token ids) and turns its ``DeltaMessage`` results into modelplug deltas; at the end it sends the
arguments a parser had parsed but not yet streamed, as vLLM's server does.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import Any

from modelplug.errors import InvalidOptionError, ToolCallParseError
from modelplug.types import ChatMessageStreamDelta, Tool, ToolCall, ToolCallDelta
from modelplug.wire import tool_call_from_wire
from modelplug_vllm import compat
from modelplug_vllm.convert import delta_from_delta_message, tools_to_openai

__all__ = ["StreamingToolParser", "check_parser", "extract", "new_parser", "parser_request"]


def parser_class(name: str, plugin: str | None = None) -> Any:
    """The tool parser class registered under ``name`` (after importing ``plugin``, a file path, if given).

    Raises:
        InvalidOptionError: no parser of that name (the message lists the registered ones).
    """
    manager = compat.tool_parser_manager()
    if plugin:
        manager.import_tool_parser(plugin)
    try:
        return manager.get_tool_parser(name)
    except KeyError as error:
        names = manager.list_registered() if hasattr(manager, "list_registered") else sorted(manager.tool_parsers)
        raise InvalidOptionError(f"vLLM has no tool parser {name!r}; registered: {', '.join(names)}") from error


def parser_request(tools: Sequence[Tool], tool_choice: Any = None, model: str = "modelplug") -> Any:
    """A vLLM ``ChatCompletionRequest`` carrying ``tools`` (what a tool parser reads).

    ``tool_choice`` ``"none"`` is kept; anything else is sent as ``"auto"``: the provider does not
    force calls with structured output as vLLM's server does for ``"required"`` or a named tool.
    """
    request_class = compat.chat_completion_request_class()
    wire_tools = tools_to_openai(tools)
    if wire_tools is None:
        return request_class(model=model, messages=[{"role": "user", "content": ""}])
    return request_class(
        model=model,
        messages=[{"role": "user", "content": ""}],
        tools=wire_tools,
        tool_choice="none" if tool_choice == "none" else "auto",
    )


def new_parser(parser_cls: Any, tokenizer: Any, request: Any | None = None) -> Any:
    """A fresh parser instance (the constructor takes ``tools`` since vLLM 0.12; older ones only the tokenizer)."""
    parameters = inspect.signature(parser_cls).parameters
    if "tools" in parameters and request is not None:
        return parser_cls(tokenizer, getattr(request, "tools", None))
    return parser_cls(tokenizer)


def check_parser(parser_cls: Any, tokenizer: Any, name: str) -> None:
    """Build one instance to see that the parser works with this model's tokenizer.

    Raises:
        InvalidOptionError: the parser refuses the tokenizer (e.g. ``could not locate tool call start/end
            tokens`` for a parser meant for another model family).
    """
    try:
        new_parser(parser_cls, tokenizer)
    except Exception as error:
        raise InvalidOptionError(
            f"vLLM's tool parser {name!r} does not work with this model's tokenizer: {type(error).__name__}: {error}"
        ) from error


def _tool_call(call: Any, index: int) -> ToolCall:
    function = call.function
    return tool_call_from_wire(
        {
            "id": getattr(call, "id", None) or f"call_vllm_{index}",
            "type": "function",
            "function": {"name": function.name, "arguments": function.arguments},
        }
    )


def _format(parser: Any) -> str:
    """The name shown in errors for a vLLM parser instance, e.g. ``vllm:Hermes2ProToolParser``."""
    return f"vllm:{type(parser).__name__}"


def extract(parser: Any, text: str, request: Any) -> tuple[str | None, list[ToolCall]]:
    """Whole-text parsing: ``(content, tool_calls)`` from ``parser.extract_tool_calls``.

    Raises:
        ToolCallParseError: the parser failed on this text.
    """
    try:
        info = parser.extract_tool_calls(text, request)
    except Exception as error:
        raise ToolCallParseError(
            f"vLLM's tool parser failed: {type(error).__name__}: {error}", format=_format(parser), text=text
        ) from error
    if not info.tools_called:
        return text, []
    return info.content, [_tool_call(call, i) for i, call in enumerate(info.tool_calls)]


class StreamingToolParser:
    """Feeds one request's output steps to a vLLM tool parser; yields modelplug deltas."""

    def __init__(self, parser: Any, request: Any) -> None:
        self._parser = parser
        self._request = request
        self._text = ""
        self._ids: list[int] = []
        self.last_index: int | None = None

    @property
    def called(self) -> bool:
        """Whether a tool-call delta has been produced."""
        return self.last_index is not None

    def feed(self, text: str, token_ids: Sequence[int]) -> ChatMessageStreamDelta | None:
        """Parse one step (its new text and token ids); ``None`` while the parser holds text back.

        Raises:
            ToolCallParseError: the parser failed.
        """
        previous_text, previous_ids = self._text, self._ids
        self._text = previous_text + text
        self._ids = previous_ids + list(token_ids)
        try:
            message = self._parser.extract_tool_calls_streaming(
                previous_text, self._text, text, previous_ids, self._ids, list(token_ids), self._request
            )
        except Exception as error:
            raise ToolCallParseError(
                f"vLLM's tool parser failed while streaming: {type(error).__name__}: {error}",
                format=_format(self._parser),
                text=self._text,
                offset=len(previous_text),
            ) from error
        delta = delta_from_delta_message(message)
        if delta is not None:
            for call in delta.tool_calls:
                if call.index is not None:
                    self.last_index = call.index
        return delta

    def finish(self) -> ChatMessageStreamDelta | None:
        """The arguments the parser parsed but did not stream (vLLM's server sends them at the end)."""
        if self.last_index is None:
            return None
        rest = ""
        remaining = getattr(self._parser, "get_remaining_unstreamed_args", None)
        if remaining is not None:
            rest = remaining()
        else:  # vLLM ≤ 0.31 did the same inline in its server
            calls = getattr(self._parser, "prev_tool_call_arr", None) or []
            streamed = getattr(self._parser, "streamed_args_for_tool", None) or []
            if calls and len(streamed) >= len(calls):
                arguments = calls[-1].get("arguments", {})
                expected = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
                actual = streamed[len(calls) - 1]
                rest = expected[len(actual) :] if expected.startswith(actual) else ""
        if not rest:
            return None
        return ChatMessageStreamDelta(tool_calls=(ToolCallDelta(index=self.last_index, arguments=rest),))
