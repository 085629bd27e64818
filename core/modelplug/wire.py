"""Conversion to and from the OpenAI chat-completions wire format.

Messages, tools and usage convert with a cattrs converter (:data:`converter`) whose hooks give the
wire shapes: a :class:`~modelplug.types.ToolCall` becomes ``{"id", "type": "function",
"function": {"name", "arguments": "<JSON text>"}}``; ``None`` fields are left out.

Stream chunks take one hand-written reader (:func:`delta_from_chunk`), because it runs once per
token: it reads wire dicts and client libraries' chunk objects alike, through a field getter, and
tolerates what real servers send (docs/concepts/streams.md lists the shapes). Error objects sent by
servers become typed errors with :func:`error_from_wire`.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import cattrs

from modelplug.errors import (
    AuthenticationError,
    BadRequestError,
    CapabilityError,
    ContentFilterError,
    ContextLengthError,
    InvalidOptionError,
    MalformedChunkError,
    ModelLoadError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    error_class_for_status,
)
from modelplug.secrets import redact
from modelplug.types import (
    ChatMessage,
    ChatMessageStreamDelta,
    GenerationOptions,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = [
    "FieldGetter",
    "attribute_getter",
    "chat_request",
    "converter",
    "decode_arguments",
    "delta_from_chunk",
    "delta_to_chunk",
    "error_body",
    "error_from_wire",
    "error_to_wire",
    "mapping_getter",
    "message_from_wire",
    "message_to_response",
    "message_to_wire",
    "messages_from_input",
    "mint_tool_call_id",
    "no_choices_error",
    "plain",
    "response_to_message",
    "tool_call_from_wire",
    "usage_from_fields",
    "usage_from_wire",
    "usage_to_chunk",
    "usage_to_wire",
]

converter = cattrs.Converter(omit_if_default=False)

#: ``get(obj, name)``: field ``name`` of a chunk node (a dict or a client library's object),
#: ``None`` when absent. :func:`mapping_getter` and :func:`attribute_getter` are the two usual ones.
FieldGetter = Callable[[Any, str], Any]


def mint_tool_call_id() -> str:
    """A new tool-call id, ``call_`` + 24 hex digits, for providers that send none."""
    return "call_" + secrets.token_hex(12)


def decode_arguments(raw: str) -> dict[str, Any] | None:
    """Decode the joined argument text of a tool call.

    Returns ``{}`` for blank text, the object for a JSON object (a JSON string holding an object is
    decoded once more), and ``None`` for anything else (truncated or invalid JSON, a non-object,
    nesting too deep for the JSON decoder).
    """
    if not raw or raw.isspace():
        return {}
    if raw.rstrip()[-1] not in '}"':  # cannot be a complete object (or a string holding one): skip the scan
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, dict) else None


def _tool_call_to_wire(call: ToolCall) -> dict[str, Any]:
    arguments = call.raw_arguments if call.arguments is None else json.dumps(call.arguments, ensure_ascii=False)
    return {"id": call.id, "type": call.type, "function": {"name": call.name, "arguments": arguments or ""}}


def tool_call_from_wire(data: Mapping[str, Any]) -> ToolCall:
    """A :class:`ToolCall` from its wire dict; ``function.arguments`` may be JSON text or an object.

    Raises:
        InvalidOptionError: the dict has no function name.
    """
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
    if raw is None or isinstance(raw, Mapping):
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


def _token_count(
    data: Mapping[str, Any], key: str, alias: str | None = None, error: type[InvalidOptionError] = InvalidOptionError
) -> int | None:
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
    raise error(f"usage.{key} must be a non-negative whole number of tokens, got {_short(value)}")


def usage_from_wire(data: Mapping[str, Any] | None) -> Usage | None:
    """A :class:`Usage` from a wire ``usage`` dict (``None`` stays ``None``; a missing
    ``total_tokens`` is computed; ``input_tokens``/``output_tokens`` are accepted too).

    Counts may be ints, whole floats (``3.0``) or digit strings; a missing or ``null`` count is 0.

    Raises:
        InvalidOptionError: ``data`` is not a dict, or a count is negative, fractional or not a number
            (the message names the field).
    """
    return _usage_from_mapping(data, InvalidOptionError)


def _usage_from_mapping(data: Any, error: type[InvalidOptionError]) -> Usage | None:
    """:func:`usage_from_wire`, raising ``error`` (:class:`~modelplug.errors.MalformedChunkError`
    for a chunk's usage)."""
    if not data:
        return None
    if not isinstance(data, Mapping):
        raise error(f"usage must be a dict of token counts, got {_short(data)}")
    prompt = _token_count(data, "prompt_tokens", "input_tokens", error) or 0
    completion = _token_count(data, "completion_tokens", "output_tokens", error) or 0
    total = _token_count(data, "total_tokens", None, error)
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
    if message.refusal is not None:
        data["refusal"] = message.refusal
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
    function_call = data.get("function_call")
    if function_call:  # the legacy single call: one tool call
        calls = [*calls, {"function": function_call}]
    role = data.get("role", "")
    if not isinstance(role, str):
        raise InvalidOptionError(f"'role' must be a string, got {_short(role)}")
    return ChatMessage(
        role=role,
        content=_message_content(data.get("content")),
        tool_calls=tuple(c if isinstance(c, ToolCall) else tool_call_from_wire(c) for c in calls),
        reasoning_content=_optional_text(data, "reasoning_content", "reasoning"),
        refusal=_optional_text(data, "refusal"),
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


_ERROR_KINDS: tuple[tuple[type[ProviderError], tuple[str, ...]], ...] = (
    (ContextLengthError, ("context_length", "context length", "context window", "maximum context", "too many tokens")),
    (ContentFilterError, ("content_filter", "content filter", "content_policy", "content policy", "safety")),
    (RateLimitError, ("rate_limit", "ratelimit", "rate limit", "too many requests", "quota")),
    (AuthenticationError, ("authentication", "invalid_api_key", "permission", "unauthorized", "forbidden")),
    (ServerError, ("overload", "server_error", "internalserver", "internal_server", "unavailable", "timeout")),
    (BadRequestError, ("validation", "invalid_request", "badrequest", "bad_request", "invalid", "not_found")),
)


def _error_fields(data: Any) -> tuple[str, list[str], int | None]:
    """``(message, kind words, numeric code)`` of an error object in any of the shapes
    :func:`error_from_wire` reads."""
    error: Any = data
    if isinstance(data, Mapping):
        error = data.get("error", data) if data.get("object") != "error" else data
    words: list[str] = []
    code: int | None = None
    if isinstance(error, str):
        message = error
        if isinstance(data, Mapping):
            words += [str(data[k]) for k in ("error_type", "type", "code") if isinstance(data.get(k), str)]
    elif isinstance(error, Mapping):
        raw = error.get("message") or error.get("detail") or error.get("msg")
        message = raw if isinstance(raw, str) else json.dumps(plain(raw if raw is not None else error))
        for key in ("type", "code", "error_type", "status"):
            value = error.get(key)
            if isinstance(value, str):
                if value.isdigit():
                    code = int(value)
                else:
                    words.append(value)
            elif type(value) is int:
                code = value
    else:
        message = json.dumps(plain(error))
    return message, words, code


def error_from_wire(data: Any, *, status: int | None = None, provider: str | None = None) -> ProviderError:
    """The :class:`~modelplug.errors.ProviderError` for an error object a server sent, in an HTTP
    error body or as a chunk of a 200 stream.

    Shapes read: OpenAI's ``{"error": {"message", "type", "code", "param"}}``, TGI's
    ``{"error": "<text>", "error_type": "validation" | "overloaded" | ...}``, vLLM's
    ``{"object": "error", "message", "type", "code": 400}`` (also nested under ``"error"``),
    FastAPI's ``{"detail": ...}`` and a bare string.

    The class: from the error's type or code words first (``validation`` / ``invalid_request`` ->
    :class:`~modelplug.errors.BadRequestError`, never retried; ``overloaded`` / ``server_error`` ->
    :class:`~modelplug.errors.ServerError`, retryable; rate limit, authentication, context length,
    content filter), else from ``status`` or a numeric code in the object
    (:func:`~modelplug.errors.error_class_for_status`), else :class:`~modelplug.errors.ServerError`
    (a server that breaks off a stream with an unexplained error may succeed when asked again).

    Args:
        data: the decoded error object (a dict, or the error text).
        status: the HTTP status the error came with, when it came as an error response.
        provider: the provider name, for the message and ``ProviderError.provider``.
    """
    message, words, code = _error_fields(data)
    cls: type[ProviderError] | None = None
    lowered = " ".join(words).lower().replace("-", "_")
    for kind, markers in _ERROR_KINDS:
        if any(marker in lowered for marker in markers):
            cls = kind
            break
    effective = status if status is not None else (code if code is not None and 400 <= code < 600 else None)
    word = words[0] if words else None
    if cls is None:
        cls = error_class_for_status(effective, message, word)
        if cls is ProviderError:
            cls = ServerError
    elif cls is BadRequestError:
        # a 5xx wins over a generic word; a 4xx may still be a context-length or content-filter error
        cls = error_class_for_status(effective if effective is not None else 400, message, word)
    if status is not None:
        # a status that names one kind (401/403, 408, 429, a context-length or content-filter 4xx) wins over words
        by_status = error_class_for_status(status, message, word)
        if by_status not in (ProviderError, BadRequestError, ServerError):
            cls = by_status
    where = f"{provider}: " if provider else ""
    if status is None:
        text = f"{where}the server reported an error mid-stream: {redact(message)}"
    else:
        text = f"{where}HTTP {status}: {redact(message)}"
    return cls(text, provider=provider, status_code=effective)


def mapping_getter(obj: Any, name: str) -> Any:
    """Field ``name`` of a wire dict (``None`` when absent): the getter of the dict route."""
    return obj.get(name)


def attribute_getter(obj: Any, name: str) -> Any:
    """Field ``name`` of a client library's object (``None`` when absent): the getter for chunk
    objects such as LiteLLM's pydantic models (declared fields and pydantic's extra fields alike)
    or huggingface_hub's dataclasses. A dict met inside such an object tree is read as a dict.
    """
    if type(obj) is dict:
        return obj.get(name)
    return getattr(obj, name, None)


def plain(value: Any) -> Any:
    """``value`` as plain JSON-like data: dicts, lists, strings, numbers, ``None``. Client objects
    become dicts (pydantic's ``model_dump()``, else their ``__dict__``), so that what a client
    object carries can be kept exactly like the same dict."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return plain(dump())
    fields = getattr(value, "__dict__", None)
    if fields is not None:
        return {k: plain(v) for k, v in fields.items()}
    return str(value)


def _bad_chunk(field: str, expected: str, value: Any) -> MalformedChunkError:
    return MalformedChunkError(f"stream chunk field {field} must be {expected}, got {_short(value)}")


_SCALARS = (str, bytes, int, float, bool, list, tuple)
_SCALAR_TYPES = frozenset(_SCALARS)


def _node(value: Any, field: str, get: FieldGetter) -> Any:
    """``value`` when it can hold fields (a dict on the dict route, any non-scalar object otherwise)."""
    if get is mapping_getter:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise _bad_chunk(field, "a dict", value)
    elif type(value) in _SCALAR_TYPES or isinstance(value, _SCALARS):
        raise _bad_chunk(field, "an object with fields", value)
    return value


def _chunk_index(value: Any, field: str) -> int | None:
    """An ``index`` field: an int ≥ 0, a digit string (read as the int), or ``None`` (absent)."""
    if value is None or (type(value) is int and value >= 0):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise _bad_chunk(field, "an int ≥ 0", value)


def _optional_str(value: Any, field: str) -> str | None:
    if value is None or type(value) is str:
        return value or None
    raise _bad_chunk(field, "a string", value)


#: Content part types read as text, as reasoning, and as a refusal.
_TEXT_PARTS = frozenset({"text", "output_text", "input_text"})
_REASONING_PARTS = frozenset({"thinking", "reasoning", "reasoning_text"})


def _part_text(value: Any, get: FieldGetter, field: str) -> str | None:
    """Text nested in a part: a string, or a list of parts holding ``text`` (a reasoning summary)."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, (list, tuple)):
        texts = [_part_text(get(_node(item, field, get), "text"), get, field) for item in value]
        return "".join(t for t in texts if t)
    raise _bad_chunk(field, "a string or a list of text parts", value)


class _Parts:
    """What a list of content parts carries, sorted by kind."""

    __slots__ = ("other", "reasoning", "refusal", "text")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.other: list[dict[str, Any]] = []


def _content_parts(value: Any, get: FieldGetter, field: str) -> _Parts:
    """Sort the parts of a ``content`` list: ``text`` parts (and ``output_text``) into text;
    ``thinking`` / ``reasoning`` parts (their ``thinking``, ``text``, ``reasoning`` or ``summary``,
    a string or a list of text parts) into reasoning; ``refusal`` parts into the refusal; every
    other part kept whole, as a dict."""
    if not isinstance(value, (list, tuple)):
        value = (value,)
    parts = _Parts()
    for part in value:
        _node(part, f"{field}[]", get)
        kind = get(part, "type")
        if kind is None and get(part, "text") is not None:
            kind = "text"
        if kind in _TEXT_PARTS:
            text = _part_text(get(part, "text"), get, f"{field}[].text")
            if text:
                parts.text.append(text)
        elif kind in _REASONING_PARTS:
            for key in ("thinking", "text", "reasoning", "summary"):
                text = _part_text(get(part, key), get, f"{field}[].{key}")
                if text:
                    parts.reasoning.append(text)
                    break
            else:
                parts.other.append(plain(part))
        elif kind == "refusal":
            text = _part_text(get(part, "refusal"), get, f"{field}[].refusal")
            if text:
                parts.refusal.append(text)
        else:
            parts.other.append(plain(part))
    return parts


def _arguments_text(value: Any, field: str) -> str | None:
    """Tool-call ``arguments``: JSON text as sent, or a JSON value (Ollama sends an object) encoded once."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, _SCALARS):
        raise _bad_chunk(field, "a string of JSON or a JSON object", value)
    return json.dumps(plain(value), ensure_ascii=False)


def _tool_call_deltas(raw: Any, get: FieldGetter) -> tuple[ToolCallDelta, ...]:
    if not isinstance(raw, (list, tuple)):
        raw = (raw,)  # TGI sends one object
    deltas = []
    strict = get is mapping_getter
    for item in raw:
        if (type(item) is not dict) if strict else (type(item) in _SCALAR_TYPES):
            _node(item, "delta.tool_calls[]", get)
        function = get(item, "function")
        if function is None:
            function = item
        elif (type(function) is not dict) if strict else (type(function) in _SCALAR_TYPES):
            _node(function, "delta.tool_calls[].function", get)
        deltas.append(
            ToolCallDelta(
                index=_chunk_index(get(item, "index"), "delta.tool_calls[].index"),
                id=_optional_str(get(item, "id"), "delta.tool_calls[].id"),
                name=_optional_str(get(function, "name"), "delta.tool_calls[].function.name"),
                arguments=_arguments_text(get(function, "arguments"), "delta.tool_calls[].function.arguments"),
            )
        )
    return tuple(deltas)


def _function_call_delta(raw: Any, get: FieldGetter) -> ToolCallDelta:
    """The legacy ``delta.function_call`` (``{"name", "arguments"}``) as a fragment of call 0."""
    _node(raw, "delta.function_call", get)
    return ToolCallDelta(
        index=0,
        name=_optional_str(get(raw, "name"), "delta.function_call.name"),
        arguments=_arguments_text(get(raw, "arguments"), "delta.function_call.arguments"),
    )


def usage_from_fields(usage: Any, get: FieldGetter) -> Usage | None:
    """A :class:`Usage` from a usage node read with ``get`` (a client library's usage object), with
    the rules of :func:`usage_from_wire` (a chunk's field: a bad count raises
    :class:`~modelplug.errors.MalformedChunkError`)."""
    return _usage(usage, get) if usage else None


def _usage(value: Any, get: FieldGetter) -> Usage | None:
    if get is mapping_getter:
        return _usage_from_mapping(value, MalformedChunkError)
    return _usage_from_mapping({key: get(value, key) for key in _USAGE_KEYS}, MalformedChunkError)


_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens", "input_tokens", "output_tokens")


def _slow_delta(
    delta: Any, get: FieldGetter, finish: str | None, usage: Usage | None, content: Any
) -> ChatMessageStreamDelta | None:
    """The general case of :func:`delta_from_chunk`: any field that is not plain text (``content``
    is the delta's content, already read)."""
    raw_calls = get(delta, "tool_calls")
    reasoning = get(delta, "reasoning_content")
    if reasoning is None:
        reasoning = get(delta, "reasoning")
    refusal = get(delta, "refusal")
    function_call = get(delta, "function_call")
    if (
        raw_calls
        and content is None
        and reasoning is None
        and refusal is None
        and function_call is None
        and type(raw_calls) is list
        and len(raw_calls) == 1
    ):  # the common tool-call chunk: one fragment and nothing else
        return ChatMessageStreamDelta(tool_calls=_tool_call_deltas(raw_calls, get), usage=usage, finish_reason=finish)
    texts: list[str] = []
    reasonings: list[str] = []
    refusals: list[str] = []
    others: tuple[dict[str, Any], ...] = ()
    if type(content) is str:
        texts.append(content)
    elif content is not None:
        parts = _content_parts(content, get, "delta.content")
        texts, reasonings, refusals, others = parts.text, parts.reasoning, parts.refusal, tuple(parts.other)
    if type(reasoning) is str:
        reasonings.append(reasoning)
    elif reasoning is not None:
        parts = _content_parts(reasoning, get, "delta.reasoning_content")
        reasonings += parts.text + parts.reasoning
        others += tuple(parts.other)
    if refusal is not None:
        refusals.append(_part_text(refusal, get, "delta.refusal") or "")
    calls = _tool_call_deltas(raw_calls, get) if raw_calls else ()
    if function_call:
        calls += (_function_call_delta(function_call, get),)
    text = "".join(texts) or None
    thought = "".join(reasonings) or None
    refused = "".join(refusals) or None
    nothing = text is None and thought is None and refused is None and not calls and not others
    if nothing and finish is None and usage is None:
        return None
    return ChatMessageStreamDelta(
        content=text,
        reasoning_content=thought,
        tool_calls=calls,
        usage=usage,
        finish_reason=finish,
        refusal=refused,
        content_parts=others,
    )


#: What :func:`_common_delta` returns for a chunk it leaves to the general reader.
_UNCOMMON: Any = object()


def _common_delta(chunk: dict[str, Any]) -> Any:
    """:func:`delta_from_chunk` of a wire dict of the shapes nearly every chunk has, read with
    fewer look-ups: one choice (index 0 or none) with a ``delta`` dict whose only field, besides
    ``role`` and a ``null`` ``content``, is text ``content``, text ``reasoning_content`` /
    ``reasoning``, text ``refusal``, or a list of one tool-call fragment with a ``function`` dict
    and well-typed ``index`` / ``id`` / ``name`` / text ``arguments``; or no field at all (a role
    or finish chunk). :data:`_UNCOMMON` for anything else (several choices, content parts, an
    object ``arguments``, ``function_call``, several fields, a wrongly typed field...), which the
    general reader then reads, so that both give the same delta and the same errors.
    """
    choices = chunk.get("choices")
    if type(choices) is not list or len(choices) != 1:
        return _UNCOMMON
    choice = choices[0]
    if type(choice) is not dict:
        return _UNCOMMON
    delta = choice.get("delta")
    index = choice.get("index")
    if type(delta) is not dict or not (index is None or (index == 0 and type(index) is int)):
        return _UNCOMMON
    usage_value = chunk.get("usage")
    usage = _usage_from_mapping(usage_value, MalformedChunkError) if usage_value else None
    finish = choice.get("finish_reason") or None
    if finish is not None and type(finish) is not str:
        finish = str(finish)
    content = delta.get("content")
    fields = len(delta) - ("role" in delta) - (content is None and "content" in delta)
    if fields == 0:
        return None if finish is None and usage is None else ChatMessageStreamDelta(usage=usage, finish_reason=finish)
    if fields != 1:
        return _UNCOMMON
    if type(content) is str:
        if not content and finish is None and usage is None:
            return None
        # positional (content, reasoning_content, tool_calls, usage, finish_reason): cheaper than keywords
        return ChatMessageStreamDelta(content or None, None, (), usage, finish)
    calls = delta.get("tool_calls")
    if calls is not None:
        if type(calls) is not list or len(calls) != 1:
            return _UNCOMMON
        call = calls[0]
        function = call.get("function") if type(call) is dict else None
        if type(function) is not dict:
            return _UNCOMMON
        index = call.get("index")
        id_ = call.get("id")
        name = function.get("name")
        arguments = function.get("arguments")
        if (
            (index is None or (type(index) is int and index >= 0))
            and (id_ is None or type(id_) is str)
            and (name is None or type(name) is str)
            and (arguments is None or type(arguments) is str)
        ):
            fragment = ToolCallDelta(index, id_ or None, name or None, arguments)
            return ChatMessageStreamDelta(None, None, (fragment,), usage, finish)
        return _UNCOMMON
    reasoning = delta.get("reasoning_content")
    if reasoning is None:
        reasoning = delta.get("reasoning")
    if type(reasoning) is str:
        if not reasoning and finish is None and usage is None:
            return None
        return ChatMessageStreamDelta(reasoning_content=reasoning or None, usage=usage, finish_reason=finish)
    refusal = delta.get("refusal")
    if type(refusal) is str:
        if not refusal and finish is None and usage is None:
            return None
        return ChatMessageStreamDelta(refusal=refusal or None, usage=usage, finish_reason=finish)
    return _UNCOMMON


def _common_object_delta(chunk: Any) -> Any:
    """:func:`_common_delta` for a client library's chunk object read with :func:`attribute_getter`
    (``getattr`` without a call per field): one choice (index 0 or none) whose ``delta`` object has
    text ``content`` or one tool-call fragment object (with a ``function`` object) and no
    ``tool_calls`` / ``reasoning_content`` / ``reasoning`` / ``refusal`` / ``function_call`` besides.
    :data:`_UNCOMMON` for anything else (dicts inside the tree included), left to the general reader.
    """
    choices = getattr(chunk, "choices", None)
    if type(choices) is not list or len(choices) != 1:
        return _UNCOMMON
    choice = choices[0]
    if type(choice) is dict or isinstance(choice, _SCALARS):
        return _UNCOMMON
    delta = getattr(choice, "delta", None)
    index = getattr(choice, "index", None)
    if delta is None or type(delta) is dict or isinstance(delta, _SCALARS):
        return _UNCOMMON
    if not (index is None or (index == 0 and type(index) is int)):
        return _UNCOMMON
    content = getattr(delta, "content", None)
    calls = getattr(delta, "tool_calls", None)
    if (
        getattr(delta, "reasoning_content", None) is not None
        or getattr(delta, "reasoning", None) is not None
        or getattr(delta, "refusal", None) is not None
        or getattr(delta, "function_call", None) is not None
    ):
        return _UNCOMMON
    usage_value = getattr(chunk, "usage", None)
    usage = _usage(usage_value, attribute_getter) if usage_value else None
    finish = getattr(choice, "finish_reason", None) or None
    if finish is not None and type(finish) is not str:
        finish = str(finish)
    if type(content) is str and calls is None:
        if not content and finish is None and usage is None:
            return None
        return ChatMessageStreamDelta(content or None, None, (), usage, finish)
    if content is not None or type(calls) is not list or len(calls) != 1:
        return _UNCOMMON
    call = calls[0]
    if type(call) is dict or isinstance(call, _SCALARS):
        return _UNCOMMON
    function = getattr(call, "function", None)
    if function is None or type(function) is dict or isinstance(function, _SCALARS):
        return _UNCOMMON
    index = getattr(call, "index", None)
    id_ = getattr(call, "id", None)
    name = getattr(function, "name", None)
    arguments = getattr(function, "arguments", None)
    if (
        (index is None or (type(index) is int and index >= 0))
        and (id_ is None or type(id_) is str)
        and (name is None or type(name) is str)
        and (arguments is None or type(arguments) is str)
    ):
        fragment = ToolCallDelta(index, id_ or None, name or None, arguments)
        return ChatMessageStreamDelta(None, None, (fragment,), usage, finish)
    return _UNCOMMON


def delta_from_chunk(chunk: Any, get: FieldGetter | None = None) -> ChatMessageStreamDelta | None:
    """The :class:`ChatMessageStreamDelta` of one ``chat.completion.chunk``, or ``None`` when the
    chunk carries nothing (``"[DONE]"``, ``choices: []`` without usage, a role-only or
    annotation-only choice).

    The one chunk reader of modelplug, for wire dicts (``get=None``: the dict route) and for client
    libraries' chunk objects (``get=attribute_getter``, or any ``get(obj, name)`` returning ``None``
    for an absent field): both routes give the same delta for the same chunk.

    Read: choice 0 only (a missing ``index`` counts as 0); ``content`` as a string or a list of
    typed parts (text parts into ``content``, ``thinking`` / ``reasoning`` parts into
    ``reasoning_content``, ``refusal`` parts into ``refusal``, any other part kept in
    ``content_parts``); ``reasoning_content`` or ``reasoning``; ``refusal``; ``tool_calls`` as a
    list or one object (TGI), with ``arguments`` as JSON text or a JSON object (encoded once);
    the legacy ``function_call`` as a fragment of call 0; ``usage``; ``finish_reason`` verbatim
    (a non-string is turned into its text).

    Raises:
        ProviderError: the chunk is an error object (``{"error": ...}``, vLLM's
            ``{"object": "error", ...}``): the subclass :func:`error_from_wire` picks.
        MalformedChunkError: (an ``InvalidOptionError``) on the dict route ``chunk`` is neither a
            dict nor ``"[DONE]"``; on either route a field has the wrong type (``choices`` not a
            list, ``delta`` a list, an ``index`` that is no number, a tool call's ``name`` not a
            string, a negative usage count...): the message names the field.
    """
    if get is None:
        if type(chunk) is dict:
            delta = _common_delta(chunk)
            if delta is not _UNCOMMON:
                return delta  # type: ignore[no-any-return]
        else:
            if isinstance(chunk, str):
                if chunk.strip() == "[DONE]":
                    return None
                raise MalformedChunkError(f"a stream chunk must be a dict or '[DONE]', got {chunk[:80]!r}")
            if not isinstance(chunk, Mapping):
                raise MalformedChunkError(f"a stream chunk must be a dict or '[DONE]', got {type(chunk).__name__}")
        get = mapping_getter
    elif isinstance(chunk, str):
        if chunk.strip() == "[DONE]":
            return None
    elif get is attribute_getter and type(chunk) is not dict:
        delta = _common_object_delta(chunk)
        if delta is not _UNCOMMON:
            return delta  # type: ignore[no-any-return]
    usage_value = get(chunk, "usage")
    usage = _usage(usage_value, get) if usage_value else None
    choices = get(chunk, "choices") or ()
    if not isinstance(choices, (list, tuple)):
        raise _bad_chunk("choices", "a list", choices)
    choice = None
    strict = get is mapping_getter
    for candidate in choices:
        if (type(candidate) is not dict) if strict else (type(candidate) in _SCALAR_TYPES):
            _node(candidate, "choices[]", get)
        if _chunk_index(get(candidate, "index"), "choices[].index") in (0, None):
            choice = candidate
            break
    if choice is None:
        if not choices and (get(chunk, "error") is not None or get(chunk, "object") == "error"):
            raise error_from_wire(plain(chunk))
        return None if usage is None else ChatMessageStreamDelta(usage=usage)
    finish = get(choice, "finish_reason") or None
    if finish is not None and type(finish) is not str:
        finish = str(finish)
    delta = get(choice, "delta")
    if delta is None:
        delta = get(choice, "message")  # some servers send a whole message as the last chunk
        if delta is None:
            return (
                None if finish is None and usage is None else ChatMessageStreamDelta(usage=usage, finish_reason=finish)
            )
    if (type(delta) is not dict) if strict else (type(delta) in _SCALAR_TYPES):
        _node(delta, "choices[].delta", get)
    # the hot path: a plain text fragment and nothing else of note
    content = get(delta, "content")
    if type(content) is str and (
        # a dict holding only content (and the role): no other field to look up
        (strict and (len(delta) == 1 or (len(delta) == 2 and "role" in delta)))
        # a client object: attribute_getter's look-ups, without a call each
        or (
            (
                getattr(delta, "tool_calls", None) is None
                and getattr(delta, "reasoning_content", None) is None
                and getattr(delta, "reasoning", None) is None
                and getattr(delta, "refusal", None) is None
                and getattr(delta, "function_call", None) is None
            )
            if get is attribute_getter and type(delta) is not dict
            else get(delta, "tool_calls") is None
            and get(delta, "reasoning_content") is None
            and get(delta, "reasoning") is None
            and get(delta, "refusal") is None
            and get(delta, "function_call") is None
        )
    ):
        if not content and finish is None and usage is None:
            return None
        return ChatMessageStreamDelta(content=content or None, usage=usage, finish_reason=finish)
    return _slow_delta(delta, get, finish, usage, content)


def delta_to_chunk(
    delta: ChatMessageStreamDelta,
    *,
    model: str = "",
    id: str = "",
    created: int | None = None,
    role: str | None = None,
) -> dict[str, Any]:
    """A ``chat.completion.chunk`` dict for ``delta``: the one chunk writer (``--json`` output,
    ``modelplug serve``, test servers). :func:`delta_from_chunk` reads it back to ``delta``.

    ``created`` (Unix seconds) is written when given; ``role`` (``"assistant"`` on a stream's first
    chunk) goes first in ``delta``. ``delta.usage`` becomes the chunk's ``usage``.
    """
    body: dict[str, Any] = {} if role is None else {"role": role}
    if delta.content is not None:
        body["content"] = delta.content
    if delta.reasoning_content is not None:
        body["reasoning_content"] = delta.reasoning_content
    if delta.refusal is not None:
        body["refusal"] = delta.refusal
    if delta.content_parts:
        text = [{"type": "text", "text": body.pop("content")}] if delta.content is not None else []
        body["content"] = text + [dict(part) for part in delta.content_parts]
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
    chunk: dict[str, Any] = {"id": id, "object": "chat.completion.chunk"}
    if created is not None:
        chunk["created"] = created
    chunk["model"] = model
    chunk["choices"] = [{"index": 0, "delta": body, "finish_reason": delta.finish_reason}]
    if delta.usage is not None:
        chunk["usage"] = usage_to_wire(delta.usage)
    return chunk


def usage_to_chunk(usage: Usage, *, model: str = "", id: str = "", created: int | None = None) -> dict[str, Any]:
    """The last chunk of a stream asked for with ``stream_options.include_usage``: ``choices: []``
    and the generation's ``usage``."""
    chunk: dict[str, Any] = {"id": id, "object": "chat.completion.chunk"}
    if created is not None:
        chunk["created"] = created
    chunk["model"] = model
    chunk["choices"] = []
    chunk["usage"] = usage_to_wire(usage)
    return chunk


def message_to_response(
    message: ChatMessage, *, model: str = "", id: str = "", created: int | None = None
) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` response dict of an assistant ``message``: one choice
    with :func:`message_to_wire` of it and its ``finish_reason``, and ``usage`` when the message has
    one. :func:`response_to_message` reads it back."""
    response: dict[str, Any] = {"id": id, "object": "chat.completion"}
    if created is not None:
        response["created"] = created
    response["model"] = model
    response["choices"] = [{"index": 0, "message": message_to_wire(message), "finish_reason": message.finish_reason}]
    if message.usage is not None:
        response["usage"] = usage_to_wire(message.usage)
    return response


def error_body(message: str, *, type: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """The OpenAI error object ``{"error": {"message", "type", "param", "code"}}`` (``message`` redacted)."""
    return {"error": {"message": redact(message), "type": type, "param": param, "code": code}}


def _retry_after(error: BaseException) -> dict[str, str]:
    wait = getattr(error, "retry_after", None)
    if isinstance(wait, (int, float)) and not isinstance(wait, bool) and wait >= 0:
        return {"retry-after": str(max(1, math.ceil(wait)))}
    return {}


def error_to_wire(error: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """``(HTTP status, OpenAI error body, headers)`` for an error a server answers with: the inverse
    of :func:`error_from_wire`, so that a client's library raises the class the error was.

    ==============================================  ======  ==============================
    error                                           status  ``type`` / ``code``
    ==============================================  ======  ==============================
    MalformedChunkError (a backend's bad chunk)     502     server_error
    InvalidOptionError, CapabilityError, 4xx
    BadRequestError                                 400     invalid_request_error
    ContextLengthError                              400     ``context_length_exceeded``
    ContentFilterError                              400     ``content_filter``
    AuthenticationError                             401/403 authentication_error
    RateLimitError                                  429     rate_limit_error (Retry-After)
    ProviderTimeoutError                            504     timeout
    ProviderConnectionError                         502     server_error
    ModelLoadError                                  503     server_error
    ServerError                                     its 5xx server_error (Retry-After)
    anything else                                   500     server_error
    ==============================================  ======  ==============================

    The message is the error's text, redacted; ``Retry-After`` (whole seconds) comes from the
    error's ``retry_after``.
    """
    message = str(error) or type(error).__name__
    status_code = getattr(error, "status_code", None)
    if isinstance(error, MalformedChunkError):  # the backend sent a bad chunk: not the client's request
        return 502, error_body(message, type="server_error"), {}
    if isinstance(error, ContextLengthError):
        return 400, error_body(message, type="invalid_request_error", code="context_length_exceeded"), {}
    if isinstance(error, ContentFilterError):
        return 400, error_body(message, type="invalid_request_error", code="content_filter"), {}
    if isinstance(error, (InvalidOptionError, CapabilityError, BadRequestError)):
        status = status_code if isinstance(status_code, int) and 400 <= status_code < 500 else 400
        if status in (401, 403, 408, 429):  # those statuses name other kinds
            status = 400
        return status, error_body(message, type="invalid_request_error"), {}
    if isinstance(error, AuthenticationError):
        status = 403 if status_code == 403 else 401
        return status, error_body(message, type="authentication_error"), {}
    if isinstance(error, RateLimitError):
        return 429, error_body(message, type="rate_limit_error", code="rate_limit_exceeded"), _retry_after(error)
    if isinstance(error, ProviderTimeoutError):
        return 504, error_body(message, type="timeout"), {}
    if isinstance(error, ProviderConnectionError):
        return 502, error_body(message, type="server_error"), {}
    if isinstance(error, ModelLoadError):
        return 503, error_body(message, type="server_error"), {}
    if isinstance(error, ServerError):
        status = status_code if isinstance(status_code, int) and 500 <= status_code < 600 else 500
        return status, error_body(message, type="server_error"), _retry_after(error)
    return 500, error_body(message, type="server_error"), {}


def no_choices_error(model: str | None, *, provider: str | None = None) -> ProviderError:
    """The error for an answer without choices (an empty ``choices`` list, a response without a
    message, a stream that ended before any choice): a :class:`~modelplug.errors.ProviderError`
    naming the model and saying "no choices"."""
    name = f"model {model!r}" if model else "the model"
    where = f"{provider}: " if provider else ""
    return ProviderError(
        f"{where}{name} answered with no choices (nothing to read: an empty 'choices' list or no message)",
        provider=provider,
    )


def response_to_message(response: Mapping[str, Any], *, provider: str | None = None) -> ChatMessage:
    """The assistant message of a non-streaming ``chat.completion`` response dict, with ``usage``
    (``None`` when the server sent none) and ``finish_reason`` (verbatim).

    ``message.content`` is read like a stream delta's (a list of typed parts is sorted into content,
    reasoning, refusal and kept parts); the legacy ``message.function_call`` is one tool call.

    Raises:
        ProviderError: the response is an error object (:func:`error_from_wire`), or has no
            ``choices[0].message`` (:func:`no_choices_error`, naming ``response["model"]``).
        InvalidOptionError: a field of the message has the wrong type
            (:class:`~modelplug.errors.MalformedChunkError` for a field of ``content`` parts).
    """
    if "error" in response and not response.get("choices"):
        raise error_from_wire(plain(response), provider=provider)
    choices = response.get("choices") or ()
    if not choices or not isinstance(choices[0], Mapping) or not isinstance(choices[0].get("message"), Mapping):
        model = response.get("model")
        raise no_choices_error(model if isinstance(model, str) else None, provider=provider)
    choice = choices[0]
    data = dict(choice["message"])
    data.setdefault("role", "assistant")
    content = data.get("content")
    if content is not None and not isinstance(content, str):
        parts = _content_parts(content, mapping_getter, "message.content")
        text = "".join(parts.text) or None
        data["content"] = ([{"type": "text", "text": text}] if text else []) + parts.other if parts.other else text
        reasoning = _optional_text(data, "reasoning_content", "reasoning")
        if parts.reasoning:
            data["reasoning_content"] = (reasoning or "") + "".join(parts.reasoning)
        if parts.refusal:
            data["refusal"] = (_optional_text(data, "refusal") or "") + "".join(parts.refusal)
    data["usage"] = response.get("usage")
    finish = choice.get("finish_reason")
    data["finish_reason"] = finish if finish is None or isinstance(finish, str) else str(finish)
    return message_from_wire(data)


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
    request: dict[str, Any] = {"messages": [_request_message(m) for m in messages]}
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


def _request_message(message: ChatMessage) -> dict[str, Any]:
    data = message_to_wire(message)
    data.pop("reasoning_content", None)
    return data
