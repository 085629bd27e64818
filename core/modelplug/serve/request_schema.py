"""The JSON Schema of a chat-completions request body, and :func:`check_request`.

One schema for the body's fields and every message role, content part and tool call, checked by
``jsonschema-rs`` (compiled once per process); the first fault is a :class:`RequestFault` naming its
place (``messages[1].content``), as OpenAI does. docs/serving.md lists the rules.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["MESSAGES_SCHEMA", "REQUEST_SCHEMA", "RequestFault", "check_request"]


def _text(what: str = "a string") -> dict[str, Any]:
    return {"type": "string", "description": what}


def _part(kind: str, body: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A content part ``{"type": kind, kind: body}`` (or with ``fields`` beside ``type``)."""
    properties = {"type": {"const": kind}, **({kind: body} if body is not None else fields)}
    return {
        "if": {"properties": {"type": {"const": kind}}},
        "then": {"type": "object", "required": list(properties), "properties": properties},
    }


def _object(description: str, required: Sequence[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "description": description, "required": list(required), "properties": properties}


_TEXT_PART: Final = _part("text", text=_text())
_IMAGE_PART: Final = _part(
    "image_url",
    _object(
        "an object with 'url'",
        ["url"],
        url=_text("a string (an http(s) or data: URL)"),
        detail={"enum": ["auto", "low", "high"], "description": "'auto', 'low' or 'high'"},
    ),
)
_AUDIO_PART: Final = _part(
    "input_audio",
    _object(
        "an object with 'data' and 'format'",
        ["data", "format"],
        data=_text("a string (base64)"),
        format=_text("a string ('wav', 'mp3', ...)"),
    ),
)
_FILE_PART: Final = _part(
    "file",
    _object(
        "an object with 'file_data' or 'file_id'",
        [],
        file_data=_text(),
        file_id=_text(),
        filename=_text(),
    ),
)
_REFUSAL_PART: Final = _part("refusal", refusal=_text())


def _parts(kinds: Sequence[str], branches: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A list of content parts of ``kinds``."""
    shown = ", ".join(f"'{kind}'" for kind in kinds)
    return {
        "type": "array",
        "description": f"a non-empty list of content parts of type {shown}",
        "minItems": 1,
        "items": {
            "type": "object",
            "description": "a content part object with 'type'",
            "required": ["type"],
            "properties": {"type": {"enum": list(kinds), "description": f"one of {shown}"}},
            "allOf": list(branches),
        },
    }


def _content(kinds: Sequence[str], branches: Sequence[dict[str, Any]], *, nullable: bool = False) -> dict[str, Any]:
    shown = ", ".join(f"'{kind}'" for kind in kinds)
    types = ["string", "array", *(["null"] if nullable else [])]
    return {
        "type": types,
        "description": f"a string or a list of content parts ({shown}){' or null' if nullable else ''}",
        "if": {"type": "array"},
        "then": _parts(kinds, branches),
    }


_TEXT_ONLY: Final = _content(["text"], [_TEXT_PART])
_TOOL_CALL: Final = _object(
    "a tool call object with 'id', 'type' and 'function'",
    ["id", "type", "function"],
    id=_text(),
    type={"const": "function", "description": "'function'"},
    function=_object(
        "an object with 'name' and 'arguments'",
        ["name", "arguments"],
        name=_text(),
        arguments=_text("a string (the arguments as JSON text)"),
    ),
)
_NAME: Final = _text()
_OPTIONAL_TEXT: Final = {"type": ["string", "null"], "description": "a string or null"}


def _role(role: str, required: Sequence[str], **properties: Any) -> dict[str, Any]:
    then = {"required": list(required), "properties": properties}
    return {"if": {"properties": {"role": {"const": role}}}, "then": then}


ROLES: Final = ("system", "developer", "user", "assistant", "tool", "function")

#: The schema of ``messages`` (JSON Schema 2020-12). Unknown keys in a message are allowed (and
#: ignored); the keys OpenAI defines must have their shapes.
MESSAGES_SCHEMA: Final[dict[str, Any]] = {
    "type": "array",
    "description": "a non-empty list of message objects",
    "minItems": 1,
    "items": {
        "type": "object",
        "description": "a message object with 'role'",
        "required": ["role"],
        "properties": {"role": {"enum": list(ROLES), "description": "one of " + ", ".join(f"'{r}'" for r in ROLES)}},
        "allOf": [
            _role("system", ["content"], content=_TEXT_ONLY, name=_NAME),
            _role("developer", ["content"], content=_TEXT_ONLY, name=_NAME),
            _role(
                "user",
                ["content"],
                content=_content(
                    ["text", "image_url", "input_audio", "file"], [_TEXT_PART, _IMAGE_PART, _AUDIO_PART, _FILE_PART]
                ),
                name=_NAME,
            ),
            {
                **_role(
                    "assistant",
                    [],
                    content=_content(["text", "refusal"], [_TEXT_PART, _REFUSAL_PART], nullable=True),
                    name=_NAME,
                    refusal=_OPTIONAL_TEXT,
                    reasoning_content=_OPTIONAL_TEXT,
                    tool_calls={
                        "type": ["array", "null"],
                        "description": "a list of tool call objects",
                        "items": _TOOL_CALL,
                    },
                    function_call={
                        "type": ["object", "null"],
                        "description": "an object with 'name' and 'arguments'",
                        "required": ["name", "arguments"],
                        "properties": {"name": _text(), "arguments": _text()},
                    },
                ),
            },
            # an assistant message without tool calls says something: content (or a refusal) is required
            {
                "if": {
                    "properties": {"role": {"const": "assistant"}},
                    "required": ["role"],
                    "not": {
                        "anyOf": [
                            {"required": ["tool_calls"], "properties": {"tool_calls": {"minItems": 1}}},
                            {"required": ["function_call"], "properties": {"function_call": {"type": "object"}}},
                            {"required": ["refusal"], "properties": {"refusal": {"type": "string"}}},
                        ]
                    },
                },
                "then": {"required": ["content"], "$comment": "in an assistant message without 'tool_calls'"},
            },
            _role("tool", ["content", "tool_call_id"], content=_TEXT_ONLY, tool_call_id=_text()),
            _role("function", ["name", "content"], name=_text(), content=_OPTIONAL_TEXT),
        ],
    },
}


_BOOLEAN: Final = {"type": ["boolean", "null"], "description": "a boolean"}

#: The schema of the request body. Generation options (``temperature``, ``stop``, ``tools``, ...)
#: are only typed loosely here: :class:`~modelplug.types.GenerationOptions` checks them, for
#: every caller of the library. Unknown fields are allowed (they go to the provider).
REQUEST_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "a JSON object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string", "minLength": 1, "description": "the name of a served model (GET /v1/models)"},
        "messages": MESSAGES_SCHEMA,
        "stream": _BOOLEAN,
        "stream_options": {
            "type": ["object", "null"],
            "description": "an object",
            "properties": {"include_usage": _BOOLEAN},
        },
        # accepted and not used (docs/serving.md), but of the type OpenAI takes
        "user": _OPTIONAL_TEXT,
        "service_tier": _OPTIONAL_TEXT,
        "store": _BOOLEAN,
        "parallel_tool_calls": _BOOLEAN,
        "logprobs": _BOOLEAN,
        "metadata": {
            "type": ["object", "null"],
            "description": "an object of strings",
            "additionalProperties": {"type": "string", "description": "a string"},
        },
        "response_format": {
            "type": ["object", "null"],
            "description": "an object with 'type'",
            "required": ["type"],
            "properties": {
                "type": {
                    "enum": ["text", "json_object", "json_schema"],
                    "description": "one of 'text', 'json_object', 'json_schema'",
                },
            },
            "if": {"properties": {"type": {"const": "json_schema"}}},
            "then": {
                "required": ["json_schema"],
                "properties": {
                    "json_schema": _object(
                        "an object with 'name' and 'schema'",
                        ["name"],
                        name=_text(),
                        schema={"type": "object", "description": "a JSON schema object"},
                        strict=_BOOLEAN,
                    ),
                },
            },
        },
    },
}


class RequestFault(ValueError):
    """A fault in the body: ``param`` is its place (``messages[1].content``; ``body`` for the body
    itself), ``code`` ``invalid_type`` or ``invalid_value``, ``str()`` the message."""

    def __init__(self, message: str, param: str, code: str) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


@functools.cache
def _validator() -> Any:
    import jsonschema_rs  # the serve extra; compiled once per process

    return jsonschema_rs.validator_for(REQUEST_SCHEMA)


def _place(path: Sequence[str | int]) -> str:
    place = ""
    for step in path:
        place += f"[{step}]" if isinstance(step, int) else f".{step}"
    return place.lstrip(".") or "body"


def _at(document: Any, path: Sequence[str | int]) -> Any:
    for step in path:
        document = document[step]
    return document


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:80]


def check_request(body: Any) -> None:
    """Check a decoded request body against :data:`REQUEST_SCHEMA` (compiled once per process).

    Raises:
        RequestFault: the first fault, naming its place, what was expected and what came.
    """
    validator = _validator()
    if validator.is_valid(body):
        return
    error = next(iter(validator.iter_errors(body)))
    import jsonschema_rs

    path = list(error.instance_path)
    node = _at(REQUEST_SCHEMA, list(error.schema_path)[:-1])  # the schema object whose keyword failed
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Required):
        name = error.kind.property
        place = _place([*path, name])
        where = node.get("$comment")  # where the field is required, when it is not always
        if where is None and len(path) == 2 and path[0] == "messages":
            where = f"in a message with role {_shown(_at(body, path).get('role'))}"
        what = node.get("properties", {}).get(name, {}).get("description")
        message = f"'{place}' is required" + (f" {where}" if where else "") + (f": {what}" if what else "")
        raise RequestFault(message, place, "invalid_value")
    place = _place(path)
    code = "invalid_type" if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Type) else "invalid_value"
    expected = node.get("description") if isinstance(node, dict) else None
    if expected is None:
        raise RequestFault(f"'{place}': {error.message}", place, code)
    raise RequestFault(f"'{place}' must be {expected}, got {_shown(_at(body, path))}", place, code)
