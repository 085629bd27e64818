"""Tools a model may call: the :class:`Tool` value class, and turning tool descriptions into one.

``Tool`` lives here, beside its converters, so that :mod:`modelplug.types` (which re-exports it and
converts ``GenerationOptions(tools=...)`` through :func:`as_tool`) imports this module and never the
other way round. A tool may be given as a :class:`Tool`, as an OpenAI tool dict
(``{"type": "function", "function": {"name", "description", "parameters"}}`` or the bare
``function`` part), or as a plain typed Python function whose JSON schema is built from its
signature and its docstring (Google, NumPy or reST style, read by ``docstring_parser``).
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from modelplug.errors import InvalidOptionError

__all__ = ["Tool", "as_tool", "json_schema_for", "tool_from_function", "tool_to_wire"]


def _default_parameters() -> dict[str, Any]:
    return {"type": "object", "properties": {}}


@attrs.frozen
class Tool:
    """A tool the model may call: a name, a description and the JSON schema of its parameters.

    Build one from an OpenAI tool dict or a typed Python function with :func:`as_tool`.
    """

    name: str
    description: str = ""
    parameters: dict[str, Any] = attrs.field(factory=_default_parameters)


_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def json_schema_for(annotation: Any) -> dict[str, Any]:
    """The JSON schema of a Python type annotation (str, int, float, bool, None, list[X],
    dict[str, X], tuple, Literal[...], Optional / unions). ``Any`` or a missing annotation gives
    ``{}`` (any value)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    try:
        scalar = _SCALARS.get(annotation)
    except TypeError:  # an unhashable annotation (``x: [int]``): nothing to describe
        return {}
    if scalar is not None:
        return {"type": scalar}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        values = list(args)
        schema: dict[str, Any] = {"enum": values}
        kinds = {_SCALARS.get(type(v)) for v in values}
        if len(kinds) == 1 and None not in kinds:
            schema["type"] = kinds.pop()
        return schema
    if origin in (typing.Union, types.UnionType):
        options = [json_schema_for(a) for a in args]
        simple = [o.get("type") for o in options if set(o) == {"type"}]
        if len(simple) == len(options):
            return {"type": simple}
        return {"anyOf": options}
    if origin in (list, set, frozenset) or annotation in (list, set, frozenset):
        return {"type": "array", "items": json_schema_for(args[0])} if args else {"type": "array"}
    if origin is tuple or annotation is tuple:
        if args and args[-1] is not Ellipsis:
            return {"type": "array", "prefixItems": [json_schema_for(a) for a in args]}
        return {"type": "array", "items": json_schema_for(args[0])} if args else {"type": "array"}
    if origin in (dict, Mapping) or annotation in (dict, Mapping):
        if len(args) == 2:
            return {"type": "object", "additionalProperties": json_schema_for(args[1])}
        return {"type": "object"}
    return {}


def tool_from_function(function: Callable[..., Any], *, name: str | None = None) -> Tool:
    """Build a :class:`Tool` from a typed function.

    The name is the function's ``__name__``; the description is the docstring's summary and
    body; each parameter's schema comes from its annotation, its ``description`` from the
    docstring's ``Args:`` section; parameters without a default are ``required``.

    Raises:
        InvalidOptionError: the function takes ``*args`` or ``**kwargs`` (no schema possible), has
            no name (a ``functools.partial`` or callable object: pass ``name=``), or no signature.
    """
    import docstring_parser

    name = name or _callable_name(function)
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as error:
        raise InvalidOptionError(f"tool {name!r}: cannot read the function's signature ({error})") from error

    doc = docstring_parser.parse(inspect.getdoc(function) or "")
    described = {p.arg_name: p.description or "" for p in doc.params}
    annotated: Any = function
    while isinstance(annotated, functools.partial):
        annotated = annotated.func
    if not (inspect.isroutine(annotated) or inspect.isclass(annotated)):
        annotated = type(annotated).__call__  # a callable object
    try:
        hints = typing.get_type_hints(annotated)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = getattr(annotated, "__annotations__", {})
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise InvalidOptionError(f"tool {name!r}: *args/**kwargs parameters cannot be described as a JSON schema")
        schema = json_schema_for(hints.get(parameter.name, parameter.annotation))
        if described.get(parameter.name):
            schema["description"] = described[parameter.name]
        if parameter.default is parameter.empty:
            required.append(parameter.name)
        properties[parameter.name] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    description = "\n\n".join(p for p in (doc.short_description, doc.long_description) if p)
    return Tool(name=name, description=description, parameters=parameters)


def _callable_name(function: Callable[..., Any]) -> str:
    """The name of a function, method or class; of a ``functools.partial``'s wrapped function; of a
    callable object's class. A lambda has none."""
    while isinstance(function, functools.partial):
        function = function.func
    named: Any = function if inspect.isroutine(function) or inspect.isclass(function) else type(function)
    name = getattr(named, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidOptionError(
            f"cannot name the tool {function!r}: give it a name (modelplug.agents.tool(name=...)) or use a def function"
        )
    return name


def as_tool(value: Tool | Mapping[str, Any] | Callable[..., Any]) -> Tool:
    """Return ``value`` as a :class:`Tool`.

    Accepts a Tool, an OpenAI tool dict (with or without the ``{"type": "function",
    "function": ...}`` wrapper), an object with a ``tool`` attribute holding a Tool (as made by
    :func:`modelplug.agents.tool`), or a typed function.

    Raises:
        InvalidOptionError: the value is none of these, or the dict has no ``name``.
    """
    if isinstance(value, Tool):
        return value
    attached = getattr(value, "tool", None)
    if isinstance(attached, Tool):
        return attached
    if isinstance(value, Mapping):
        spec = value.get("function", value) if value.get("type", "function") == "function" else value
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str) or not spec["name"]:
            raise InvalidOptionError(f"a tool dict needs a non-empty 'name' (OpenAI tool format), got {dict(value)!r}")
        parameters = spec.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(parameters, Mapping):
            raise InvalidOptionError(
                f"tool {spec['name']!r}: 'parameters' must be a JSON schema object (a dict), got {parameters!r}"
            )
        description = spec.get("description") or ""
        if not isinstance(description, str):
            raise InvalidOptionError(f"tool {spec['name']!r}: 'description' must be a string, got {description!r}")
        return Tool(name=spec["name"], description=description, parameters=dict(parameters))
    if callable(value):
        return tool_from_function(value)
    raise InvalidOptionError(f"cannot use {value!r} as a tool: give a Tool, an OpenAI tool dict or a typed function")


def tool_to_wire(tool: Tool) -> dict[str, Any]:
    """The OpenAI chat-completions form of ``tool``: ``{"type": "function", "function": {...}}``."""
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }
