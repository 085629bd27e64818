"""Conversion to and from the OpenAI chat-completions wire format.

Messages, tools and usage convert with a cattrs converter (:data:`converter`) whose hooks give the
wire shapes: a :class:`~modelplug.types.ToolCall` becomes ``{"id", "type": "function",
"function": {"name", "arguments": "<JSON text>"}}``; ``None`` fields are left out.

Stream chunks take a hand-written path (:func:`delta_from_chunk`), because it runs once per token
and must tolerate what real servers send: ``tool_calls`` as one object instead of a list (TGI),
missing ``index`` keys, ``reasoning`` instead of ``reasoning_content`` (Ollama, OpenRouter, vLLM),
``choices: []`` chunks, ``delta: null``, usage without ``total_tokens``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import cattrs

from modelplug.errors import InvalidOptionError
from modelplug.types import ChatMessage, ChatMessageStreamDelta, Tool, ToolCall, ToolCallDelta, Usage

__all__ = [
    "converter",
    "delta_from_chunk",
    "delta_to_chunk",
    "message_from_wire",
    "message_to_wire",
    "messages_from_input",
    "response_to_message",
    "tool_call_from_wire",
    "usage_from_wire",
    "usage_to_wire",
]

converter = cattrs.Converter(omit_if_default=False)


def _tool_call_to_wire(call: ToolCall) -> dict[str, Any]:
    arguments = call.raw_arguments if call.arguments is None else json.dumps(call.arguments, ensure_ascii=False)
    return {"id": call.id, "type": call.type, "function": {"name": call.name, "arguments": arguments or ""}}


def tool_call_from_wire(data: Mapping[str, Any]) -> ToolCall:
    """A :class:`ToolCall` from its wire dict; ``function.arguments`` may be JSON text or an object.

    Raises:
        InvalidOptionError: the dict has no function name.
    """
    from modelplug.aggregation import decode_arguments, mint_tool_call_id

    if not isinstance(data, Mapping):
        raise InvalidOptionError(f"a tool call must be a dict with a 'function', got {_short(data)}")
    function = data.get("function") or data
    if not isinstance(function, Mapping):
        raise InvalidOptionError(f"a tool call's 'function' must be a dict with 'name', got {_short(function)}")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidOptionError(f"a tool call needs function.name, got {_short(dict(data))}")
    call_id = data.get("id")
    if call_id is not None and not isinstance(call_id, str):
        raise InvalidOptionError(f"a tool call's 'id' must be a string, got {_short(call_id)}")
    raw = function.get("arguments")
    arguments: dict[str, Any] | None
    raw_text: str | None = None
    if raw is None or isinstance(raw, dict):
        arguments = dict(raw or {})
    else:
        text = raw if isinstance(raw, str) else json.dumps(raw)
        decoded = decode_arguments(text)
        arguments, raw_text = decoded, (text if decoded is None else None)
    return ToolCall(
        id=call_id or mint_tool_call_id(),
        name=name,
        arguments=arguments,
        raw_arguments=raw_text,
        type=data.get("type") or "function",
    )


def _short(value: Any) -> str:
    """``repr(value)``, cut to 120 characters (error messages quote what was received)."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _token_count(data: Mapping[str, Any], key: str, alias: str | None = None) -> int | None:
    value = data.get(key)
    if value is None and alias is not None:
        value = data.get(alias)
        key = alias if value is not None else key
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise InvalidOptionError(f"usage.{key} must be a non-negative whole number of tokens, got {_short(value)}")


def usage_from_wire(data: Mapping[str, Any] | None) -> Usage | None:
    """A :class:`Usage` from a wire ``usage`` dict (``None`` stays ``None``; a missing
    ``total_tokens`` is computed; ``input_tokens``/``output_tokens`` are accepted too).

    Counts may be ints, whole floats (``3.0``) or digit strings; a missing or ``null`` count is 0.

    Raises:
        InvalidOptionError: ``data`` is not a dict, or a count is negative, fractional or not a number
            (the message names the field).
    """
    if not data:
        return None
    if not isinstance(data, Mapping):
        raise InvalidOptionError(f"usage must be a dict of token counts, got {_short(data)}")
    prompt = _token_count(data, "prompt_tokens", "input_tokens") or 0
    completion = _token_count(data, "completion_tokens", "output_tokens") or 0
    total = _token_count(data, "total_tokens")
    if total is None:
        return Usage(prompt, completion)
    return Usage(prompt, completion, total)


def usage_to_wire(usage: Usage) -> dict[str, int]:
    """The chat-completions ``usage`` dict of ``usage`` (``prompt_tokens``, ``completion_tokens``,
    ``total_tokens``)."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def message_to_wire(message: ChatMessage) -> dict[str, Any]:
    """The chat-completions dict of ``message`` (``None`` fields and empty ``tool_calls`` omitted;
    ``usage`` and ``finish_reason`` are not part of a request message and are left out too)."""
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        data["tool_calls"] = [_tool_call_to_wire(c) for c in message.tool_calls]
    if message.reasoning_content is not None:
        data["reasoning_content"] = message.reasoning_content
    if message.tool_call_id is not None:
        data["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        data["name"] = message.name
    return data


def message_from_wire(data: Mapping[str, Any]) -> ChatMessage:
    """A :class:`ChatMessage` from a chat-completions message dict.

    Raises:
        InvalidOptionError: not a dict, no valid ``role``, or a bad tool call (the message says which).
    """
    if not isinstance(data, Mapping):
        raise InvalidOptionError(f"a message must be a dict with 'role' and 'content', got {_short(data)}")
    try:
        return converter.structure(dict(data), ChatMessage)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as error:
        detail = "; ".join(_flatten(error)) or str(error)
        raise InvalidOptionError(f"invalid message {_short(dict(data))}: {detail}") from error


def _flatten(error: BaseException) -> list[str]:
    if isinstance(error, cattrs.BaseValidationError):
        return [m for sub in error.exceptions for m in _flatten(sub)]
    return [str(error)]


def _optional_text(data: Mapping[str, Any], key: str, alias: str | None = None) -> str | None:
    value = data.get(key)
    if value is None and alias is not None:
        value = data.get(alias)
        key = alias if value is not None else key
    if value is not None and not isinstance(value, str):
        raise InvalidOptionError(f"'{key}' must be a string, got {_short(value)}")
    return value


def _message_content(content: Any) -> str | list[dict[str, Any]] | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, Mapping) for part in content):
        for part in content:
            if part.get("type") == "text" and not isinstance(part.get("text"), str):
                raise InvalidOptionError(f"a text content part needs 'text' as a string, got {_short(part)}")
        return [dict(part) for part in content]
    raise InvalidOptionError(
        "'content' must be a string, a list of content parts ({'type': 'text', 'text': ...}) or null, "
        f"got {_short(content)}"
    )


def _structure_message(data: dict[str, Any], _: type) -> ChatMessage:
    calls = data.get("tool_calls") or ()
    if isinstance(calls, Mapping):
        calls = [calls]
    elif not isinstance(calls, (list, tuple)):
        raise InvalidOptionError(f"'tool_calls' must be a list of tool calls, got {_short(calls)}")
    role = data.get("role", "")
    if not isinstance(role, str):
        raise InvalidOptionError(f"'role' must be a string, got {_short(role)}")
    return ChatMessage(
        role=role,
        content=_message_content(data.get("content")),
        tool_calls=tuple(c if isinstance(c, ToolCall) else tool_call_from_wire(c) for c in calls),
        reasoning_content=_optional_text(data, "reasoning_content", "reasoning"),
        usage=usage_from_wire(data.get("usage")),
        finish_reason=_optional_text(data, "finish_reason"),
        tool_call_id=_optional_text(data, "tool_call_id"),
        name=_optional_text(data, "name"),
    )


converter.register_structure_hook(ChatMessage, _structure_message)
converter.register_unstructure_hook(ChatMessage, message_to_wire)
converter.register_unstructure_hook(ToolCall, _tool_call_to_wire)
converter.register_structure_hook(ToolCall, lambda d, _: tool_call_from_wire(d))
converter.register_unstructure_hook(Usage, usage_to_wire)
converter.register_structure_hook(Usage, lambda d, _: usage_from_wire(d))
converter.register_unstructure_hook(
    Tool,
    lambda t: {
        "type": "function",
        "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
    },
)


def messages_from_input(messages: str | ChatMessage | Mapping[str, Any] | Sequence[Any]) -> list[ChatMessage]:
    """Normalise what users pass as ``messages``: a string (one user message), one message, or a
    list of :class:`ChatMessage` objects and chat-completions dicts.

    Raises:
        InvalidOptionError: an element is neither a ChatMessage nor a valid message dict, or the list is empty.
    """
    if isinstance(messages, str):
        return [ChatMessage(role="user", content=messages)]
    items: list[Any]
    if isinstance(messages, (bytes, bytearray, memoryview)):
        raise InvalidOptionError("messages must be text, not bytes: decode them first (e.g. data.decode('utf-8'))")
    if isinstance(messages, (ChatMessage, Mapping)):
        items = [messages]
    elif isinstance(messages, Sequence):
        items = list(messages)
    else:
        raise InvalidOptionError(
            f"messages must be a string, a message or a list of messages, got {type(messages).__name__}"
        )
    result = [m if isinstance(m, ChatMessage) else message_from_wire(m) for m in items]
    if not result:
        raise InvalidOptionError("messages is empty: give at least one message")
    return result


def _bad_chunk(field: str, expected: str, value: Any) -> InvalidOptionError:
    return InvalidOptionError(f"stream chunk field {field} must be {expected}, got {_short(value)}")


def _chunk_index(value: Any, field: str) -> int | None:
    """An ``index`` field: an int ≥ 0, a digit string (read as the int), or ``None`` (absent)."""
    if value is None or (type(value) is int and value >= 0):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise _bad_chunk(field, "an int ≥ 0", value)


def _chunk_text(value: Any, field: str) -> str | None:
    """A text field: a string, ``None``, or a list of content parts (their text parts joined)."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, list) and all(isinstance(part, Mapping) for part in value):
        texts = [part.get("text") for part in value if part.get("type", "text") == "text"]
        if all(isinstance(text, str) for text in texts):
            return "".join(texts) or None
    raise _bad_chunk(field, "a string", value)


def _tool_call_deltas(raw: Any) -> tuple[ToolCallDelta, ...]:
    if isinstance(raw, Mapping):
        raw = (raw,)
    elif not isinstance(raw, (list, tuple)):
        raise _bad_chunk("delta.tool_calls", "a list of tool-call dicts", raw)
    deltas = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise _bad_chunk("delta.tool_calls[]", "a dict", item)
        function = item.get("function") or {}
        if not isinstance(function, Mapping):
            raise _bad_chunk("delta.tool_calls[].function", "a dict", function)
        call_id = item.get("id") or None
        if call_id is not None and not isinstance(call_id, str):
            raise _bad_chunk("delta.tool_calls[].id", "a string", call_id)
        name = function.get("name") or None
        if name is not None and not isinstance(name, str):
            raise _bad_chunk("delta.tool_calls[].function.name", "a string", name)
        arguments = function.get("arguments")
        if isinstance(arguments, Mapping):  # some servers (Ollama) send the arguments as an object
            arguments = json.dumps(arguments, ensure_ascii=False)
        elif arguments is not None and not isinstance(arguments, str):
            raise _bad_chunk("delta.tool_calls[].function.arguments", "a string of JSON", arguments)
        deltas.append(
            ToolCallDelta(
                index=_chunk_index(item.get("index"), "delta.tool_calls[].index"),
                id=call_id,
                name=name,
                arguments=arguments,
            )
        )
    return tuple(deltas)


def delta_from_chunk(chunk: Mapping[str, Any] | str) -> ChatMessageStreamDelta | None:
    """The :class:`ChatMessageStreamDelta` of one ``chat.completion.chunk`` dict, or ``None`` when
    the chunk carries nothing (``"[DONE]"``, ``choices: []`` without usage, an annotation-only choice).

    Only choice 0 is read. ``delta.reasoning`` is read as ``reasoning_content``. Tolerated: content
    as a list of content parts (text parts joined), tool-call ``arguments`` as an object (encoded as
    JSON text), an ``index`` as a digit string.

    Raises:
        InvalidOptionError: ``chunk`` is neither a dict nor the ``"[DONE]"`` sentinel, or a field has
            the wrong type (``choices`` not a list, ``delta`` not a dict, a tool call's ``name`` not a
            string, a negative or non-numeric usage count...): the message names the field.
    """
    if isinstance(chunk, str):
        if chunk.strip() == "[DONE]":
            return None
        raise InvalidOptionError(f"a stream chunk must be a dict or '[DONE]', got {chunk[:80]!r}")
    if not isinstance(chunk, Mapping):
        raise InvalidOptionError(f"a stream chunk must be a dict or '[DONE]', got {type(chunk).__name__}")
    usage = chunk.get("usage")
    usage_value = usage_from_wire(usage) if usage else None
    choices = chunk.get("choices") or ()
    if not isinstance(choices, (list, tuple)):
        raise _bad_chunk("choices", "a list", choices)
    choice = None
    for candidate in choices:
        if not isinstance(candidate, Mapping):
            raise _bad_chunk("choices[]", "a dict", candidate)
        if _chunk_index(candidate.get("index"), "choices[].index") in (0, None):
            choice = candidate
            break
    if choice is None:
        return None if usage_value is None else ChatMessageStreamDelta(usage=usage_value)
    delta = choice.get("delta") or {}
    if not isinstance(delta, Mapping):
        raise _bad_chunk("choices[].delta", "a dict", delta)
    finish = choice.get("finish_reason") or None
    content = delta.get("content")
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    raw_calls = delta.get("tool_calls")
    if not content and not reasoning and not raw_calls and finish is None and usage_value is None:
        return None
    return ChatMessageStreamDelta(
        content=(content or None) if type(content) is str else _chunk_text(content, "delta.content"),
        reasoning_content=(reasoning or None)
        if type(reasoning) is str
        else _chunk_text(reasoning, "delta.reasoning_content"),
        tool_calls=_tool_call_deltas(raw_calls) if raw_calls else (),
        usage=usage_value,
        finish_reason=finish if isinstance(finish, str) else str(finish) if finish is not None else None,
    )


def delta_to_chunk(delta: ChatMessageStreamDelta, *, model: str = "", id: str = "") -> dict[str, Any]:
    """A ``chat.completion.chunk`` dict for ``delta`` (used by ``--json`` output and test servers)."""
    body: dict[str, Any] = {}
    if delta.content is not None:
        body["content"] = delta.content
    if delta.reasoning_content is not None:
        body["reasoning_content"] = delta.reasoning_content
    if delta.tool_calls:
        body["tool_calls"] = [
            {
                "index": d.index,
                **({"id": d.id, "type": "function"} if d.id else {}),
                "function": {
                    **({"name": d.name} if d.name else {}),
                    **({"arguments": d.arguments} if d.arguments is not None else {}),
                },
            }
            for d in delta.tool_calls
        ]
    chunk: dict[str, Any] = {
        "id": id,
        "object": "chat.completion.chunk",
        "model": model,
        "choices": [{"index": 0, "delta": body, "finish_reason": delta.finish_reason}],
    }
    if delta.usage is not None:
        chunk["usage"] = usage_to_wire(delta.usage)
    return chunk


def response_to_message(response: Mapping[str, Any]) -> ChatMessage:
    """The assistant message of a non-streaming ``chat.completion`` response dict, with ``usage``
    (``None`` when the server sent none) and ``finish_reason``.

    Raises:
        InvalidOptionError: the response has no ``choices[0].message``.
    """
    choices = response.get("choices") or ()
    if not choices or not isinstance(choices[0], Mapping) or not isinstance(choices[0].get("message"), Mapping):
        raise InvalidOptionError(
            f"a chat.completion response needs choices[0].message, got {str(dict(response))[:200]}"
        )
    choice = choices[0]
    data = dict(choice["message"])
    data.setdefault("role", "assistant")
    data["usage"] = response.get("usage")
    data["finish_reason"] = choice.get("finish_reason")
    return message_from_wire(data)
