"""The chat-completions wire format as client libraries handle it, for providers built on one
(LiteLLM, huggingface_hub's ``InferenceClient``, the OpenAI SDK).

:func:`chat_request` builds the request fields from modelplug's messages and options, with the
rules every such provider follows (so ``tools`` and ``tool_choice`` mean the same everywhere).
:func:`delta_from_fields` reads a client library's chunk *object* with the rules of
:func:`modelplug.wire.delta_from_chunk` (which reads dicts); the provider passes the function that
reads one field of its library's objects, the fastest way for that library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from modelplug.types import ChatMessage, ChatMessageStreamDelta, GenerationOptions, ToolCallDelta, Usage
from modelplug.wire import converter, message_to_wire

__all__ = ["FieldGetter", "chat_request", "delta_from_fields", "usage_from_fields"]

#: ``get(obj, name)``: field ``name`` of a client library's object, ``None`` when absent.
FieldGetter = Callable[[Any, str], Any]

_SAMPLING = ("max_tokens", "temperature", "top_p", "seed", "response_format")


def chat_request(
    messages: Sequence[ChatMessage], options: GenerationOptions, *, native_tools: bool = True
) -> dict[str, Any]:
    """The chat-completions request fields for ``messages`` and ``options`` (without ``model``,
    ``stream`` and ``options.extra``, which the provider adds as its client takes them).

    - ``messages``: wire dicts, without the ``reasoning_content`` of earlier answers (servers reject
      or ignore it in requests).
    - ``max_tokens``, ``temperature``, ``top_p``, ``seed``, ``response_format``: when set.
    - ``stop``: only when non-empty (the core leaves it out for models that declare
      ``stop_sequences=False``, and cuts the text itself).
    - ``tools``: when given. ``tool_choice``: only with tools, only when given (``None``, like unset,
      leaves the server's default, ``"auto"``), and only when ``native_tools``: a model that writes
      calls as text gets the tools through its chat template and cannot be forced.
    """
    request: dict[str, Any] = {"messages": [_message(m) for m in messages]}
    for name in _SAMPLING:
        value = getattr(options, name)
        if value is not None:
            request[name] = value
    if options.stop:
        request["stop"] = list(options.stop)
    if options.tools:
        request["tools"] = [converter.unstructure(tool) for tool in options.tools]
        if native_tools and options.tool_choice is not None:
            request["tool_choice"] = options.tool_choice
    return request


def _message(message: ChatMessage) -> dict[str, Any]:
    data = message_to_wire(message)
    data.pop("reasoning_content", None)
    return data


def usage_from_fields(usage: Any, get: FieldGetter) -> Usage | None:
    """A :class:`~modelplug.types.Usage` from a usage object (``None`` for none; a missing
    ``total_tokens`` is computed)."""
    if not usage:
        return None
    prompt = get(usage, "prompt_tokens") or 0
    completion = get(usage, "completion_tokens") or 0
    total = get(usage, "total_tokens")
    if total is None:
        return Usage(int(prompt), int(completion))
    return Usage(int(prompt), int(completion), int(total))


def _tool_call(item: Any, get: FieldGetter) -> ToolCallDelta:
    function = get(item, "function")
    index = get(item, "index")
    arguments = get(function, "arguments") if function is not None else None
    return ToolCallDelta(
        index=index if isinstance(index, int) else None,
        id=get(item, "id") or None,
        name=(get(function, "name") or None) if function is not None else None,
        arguments=arguments if isinstance(arguments, str) else None,
    )


def delta_from_fields(chunk: Any, get: FieldGetter) -> ChatMessageStreamDelta | None:
    """The delta of one chunk object, or ``None`` when it carries nothing (a role-only chunk, an
    empty delta, Azure's ``choices: []`` prompt-filter and annotation-only chunks).

    The rules of :func:`modelplug.wire.delta_from_chunk`: choice 0 only (a missing index counts as
    0), empty strings are no content, ``reasoning_content`` or ``reasoning`` is reasoning,
    ``tool_calls`` may be one object instead of a list (TGI), an empty ``id`` is no id.
    """
    usage = get(chunk, "usage")
    choice = None
    for candidate in get(chunk, "choices") or ():
        if get(candidate, "index") in (0, None):
            choice = candidate
            break
    if choice is None:
        return ChatMessageStreamDelta(usage=usage_from_fields(usage, get)) if usage else None
    delta = get(choice, "delta")
    finish = get(choice, "finish_reason") or None
    if delta is None:
        content = reasoning = calls = None
    else:
        content = get(delta, "content")
        reasoning = get(delta, "reasoning_content") or get(delta, "reasoning")
        calls = get(delta, "tool_calls")
    if not content and not reasoning and not calls and finish is None and not usage:
        return None
    if calls and not isinstance(calls, (list, tuple)):
        calls = (calls,)
    return ChatMessageStreamDelta(
        content=content if isinstance(content, str) and content else None,
        reasoning_content=reasoning if isinstance(reasoning, str) else None,
        tool_calls=tuple(_tool_call(c, get) for c in calls) if calls else (),
        usage=usage_from_fields(usage, get),
        finish_reason=finish if isinstance(finish, str) else str(finish) if finish is not None else None,
    )
