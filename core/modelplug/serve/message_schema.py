"""The JSON Schema of a chat-completions request's ``messages``, and :func:`check_messages`.

One schema for every role, content part and tool call, checked by ``jsonschema-rs`` (compiled once
per process); the first fault becomes a :class:`~modelplug.serve.requests.RequestError` naming its
place (``messages[1].content``), as OpenAI does. docs/serving.md lists the rules.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["MESSAGES_SCHEMA", "MessageFault", "check_messages"]


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
                "then": {"required": ["content"], "description": "in an assistant message without 'tool_calls'"},
            },
            _role("tool", ["content", "tool_call_id"], content=_TEXT_ONLY, tool_call_id=_text()),
            _role("function", ["name", "content"], name=_text(), content=_OPTIONAL_TEXT),
        ],
    },
}


class MessageFault(ValueError):
    """A fault in ``messages``: ``param`` is its place (``messages[1].content``), ``str()`` the message."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


@functools.cache
def _validator() -> Any:
    import jsonschema_rs  # the serve extra; compiled once per process

    return jsonschema_rs.validator_for(MESSAGES_SCHEMA)


def _place(path: Sequence[str | int]) -> str:
    place = "messages"
    for step in path:
        place += f"[{step}]" if isinstance(step, int) else f".{step}"
    return place


def _node(schema_path: Sequence[str | int]) -> Any:
    node: Any = MESSAGES_SCHEMA
    for step in schema_path:
        node = node[step]
    return node


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:80]


def check_messages(messages: Any) -> None:
    """Check ``messages`` (decoded JSON) against :data:`MESSAGES_SCHEMA` (compiled once per process).

    Raises:
        MessageFault: the first fault, naming its place, what was expected and what came.
    """
    validator = _validator()
    if validator.is_valid(messages):
        return
    error = next(iter(validator.iter_errors(messages)))
    import jsonschema_rs

    path = list(error.instance_path)
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Required):
        place = _place([*path, error.kind.property])
        where = _node(list(error.schema_path)[:-1]).get("description")
        if where is None and len(path) == 1:
            where = f"in a message with role {_shown(_value_at(messages, path).get('role'))}"
        raise MessageFault(f"'{place}' is required" + (f" {where}" if where else ""), place)
    place = _place(path)
    schema_path = list(error.schema_path)
    node = _node(schema_path[:-1])  # the schema object whose keyword failed
    expected = node.get("description") if isinstance(node, dict) else None
    if expected is None:
        raise MessageFault(f"'{place}': {error.message}", place)
    raise MessageFault(f"'{place}' must be {expected}, got {_shown(_value_at(messages, path))}", place)


def _value_at(document: Any, path: Sequence[str | int]) -> Any:
    for step in path:
        document = document[step]
    return document
