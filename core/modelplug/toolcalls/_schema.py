"""Giving parsed arguments the types their tool's JSON schema asks for.

XML-style formats (Qwen3-Coder, GLM, MiniMax-M2, Step-3, Seed-OSS) write every value as text:
``<parameter=days>5</parameter>``. With the tool's schema, ``"5"`` becomes ``5`` for an
``integer`` parameter, ``"true"`` becomes ``True`` for a ``boolean``, ``"[1, 2]"`` a list for an
``array``. JSON formats get the same treatment for string values where the schema asks for
something else. Rules:

- a value that does not convert is kept as it was (the tool may still cope; nothing is dropped);
- an empty value for a non-string parameter is left out, so the tool's default applies;
- string values are never stripped here (whitespace in them is data); values converted to other
  types are stripped first;
- parameters the schema does not describe are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from modelplug.toolcalls._literals import LiteralSyntaxError, parse_literal

__all__ = ["coerce_arguments", "coerce_to_type", "coerce_value", "schema_types", "type_name"]

_ORDER: Final = ("integer", "number", "boolean", "null", "object", "array")
_MISSING: Final = object()


def schema_types(schema: Mapping[str, Any]) -> set[str]:
    """The JSON types a (sub)schema allows: ``type`` (a name or a list), ``enum`` values, and the
    branches of ``anyOf`` / ``oneOf``. Empty means "anything"."""
    types: set[str] = set()
    kind = schema.get("type")
    if isinstance(kind, str):
        types.add(kind)
    elif isinstance(kind, list):
        types.update(k for k in kind if isinstance(k, str))
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key) or ():
            if isinstance(branch, Mapping):
                types |= schema_types(branch)
    if not types and isinstance(schema.get("enum"), list):
        for value in schema["enum"]:
            types.add("string" if isinstance(value, str) else "boolean" if isinstance(value, bool) else "number")
    if not types and "properties" in schema:
        types.add("object")
    return types


def _convert(text: str, kind: str) -> Any:
    value = text.strip()
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return _MISSING
            return int(number) if number.is_integer() else _MISSING
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return _MISSING
        if number != number or number in (float("inf"), float("-inf")):
            return _MISSING
        try:
            return int(value)
        except ValueError:
            return number
    if kind == "boolean":
        lowered = value.lower()
        return True if lowered == "true" else False if lowered == "false" else _MISSING
    if kind == "null":
        return None if value.lower() in ("null", "none") else _MISSING
    # object / array
    try:
        decoded = json.loads(value)
    except ValueError:
        try:
            decoded = parse_literal(value)
        except LiteralSyntaxError:
            return _MISSING
    if kind == "object" and isinstance(decoded, dict):
        return decoded
    if kind == "array" and isinstance(decoded, list):
        return decoded
    return _MISSING


#: Type names models write for JSON schema types (K2 Horizon's ``<ifm|arg_type>int</ifm|arg_type>``).
_TYPE_NAMES: Final = {
    **dict.fromkeys(("str", "text", "varchar", "char", "enum"), "string"),
    **dict.fromkeys(("int", "int32", "int64", "uint", "uint32", "uint64", "long", "short"), "integer"),
    **dict.fromkeys(("float", "float32", "float64", "double"), "number"),
    "bool": "boolean",
    **dict.fromkeys(("dict", "map"), "object"),
    **dict.fromkeys(("list", "arr", "sequence", "tuple"), "array"),
}


def type_name(written: str) -> str:
    """The JSON schema type a written type name stands for (``int`` -> ``integer``,
    ``array[string]`` -> ``array``); unknown names are returned lowercased."""
    base = written.split("[", 1)[0].strip().lower()
    return _TYPE_NAMES.get(base, base)


def coerce_to_type(text: str, written: str) -> Any:
    """``text`` converted to the type named ``written`` (see :func:`type_name`), by the rules of
    :func:`coerce_arguments`: a value that does not convert, or an unknown or string type, stays
    the text as it was."""
    kind = type_name(written)
    if kind not in _ORDER or not text.strip():
        return text
    converted = _convert(text, kind)
    return text if converted is _MISSING else converted


def coerce_arguments(arguments: dict[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` with string values converted to the types ``parameters`` (a tool's JSON
    schema) gives them. Returns a new dict."""
    properties = parameters.get("properties")
    if not isinstance(properties, Mapping):
        return dict(arguments)
    result: dict[str, Any] = {}
    for key, value in arguments.items():
        schema = properties.get(key)
        if not isinstance(value, str) or not isinstance(schema, Mapping):
            result[key] = value
            continue
        types = schema_types(schema)
        if types and "string" not in types and not value.strip():
            continue  # empty value for a non-string parameter: let the tool's default apply
        result[key] = coerce_value(value, schema)
    return result


def coerce_value(text: str, schema: Mapping[str, Any]) -> Any:
    """``text`` converted to the type ``schema`` (one value's JSON schema) gives it, by the rules
    of :func:`coerce_arguments`; the text itself when the schema allows a string or nothing
    converts."""
    types = schema_types(schema)
    if not types or "string" in types or not text.strip():
        return text
    for kind in _ORDER:
        if kind in types:
            converted = _convert(text, kind)
            if converted is not _MISSING:
                return converted
    return text
