"""What format readers produce (events while a block is read, an outcome at its end), and the rules
every format shares: where the arguments are, decoding, refusing tools not offered, schema
coercion, call ids. Described in ``docs/toolcall-parser.md`` ("What readers produce").
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any, Final, final

from modelplug.toolcalls._literals import LiteralSyntaxError, Twice, parse_literal
from modelplug.toolcalls._schema import coerce_arguments, schema_types
from modelplug.types import Tool

__all__ = [
    "Args",
    "ArgsPart",
    "BadCall",
    "Call",
    "Done",
    "Fail",
    "Header",
    "OfferedTools",
    "Outcome",
    "Reasoning",
    "Reject",
    "Text",
    "Twice",
    "Unusable",
    "as_arguments",
    "decode_value",
    "mint_id",
    "object_pairs",
    "read_call",
]


def mint_id() -> str:
    """A fresh tool-call id, ``call_`` and 24 random hex digits."""
    return "call_" + secrets.token_hex(12)


# events ---------------------------------------------------------------------------------------


@final
class Header:
    """A call's id and name are known; its arguments follow in an :class:`Args` event.

    The engine sets ``index`` when it receives the event.
    """

    __slots__ = ("format", "id", "index", "keys", "name", "partial", "seen", "streaming", "twice")

    def __init__(self, name: str, id: str | None, format: str) -> None:
        self.name = name
        self.id = id
        self.format = format
        self.index = -1
        #: Whether the call's arguments still stream (False once a piece could not be certain).
        self.streaming = True
        #: The argument names streamed so far.
        self.keys: set[str] = set()
        #: The argument names read so far (streamed or not), and the first one read twice.
        self.seen: set[str] = set()
        self.twice: str | None = None
        #: What went out of the argument being written (a string value, while it grows), in pieces.
        self.partial: list[str] = []


@final
class Args:
    """The complete arguments of the call announced by ``header``."""

    __slots__ = ("arguments", "header")

    def __init__(self, header: Header, arguments: dict[str, Any]) -> None:
        self.header = header
        self.arguments = arguments


@final
class ArgsPart:
    """The next piece of the arguments JSON of the call announced by ``header``, while it is
    written: the pieces of a call, joined, are a prefix of its final arguments JSON (the engine
    checks this when :class:`Args` arrives)."""

    __slots__ = ("header", "text")

    def __init__(self, header: Header, text: str) -> None:
        self.header = header
        self.text = text


@final
class Call:
    """A complete call, announced and finished at once."""

    __slots__ = ("arguments", "format", "id", "name")

    def __init__(self, name: str, id: str | None, arguments: dict[str, Any], format: str) -> None:
        self.name = name
        self.id = id
        self.arguments = arguments
        self.format = format


@final
class Text:
    """Content carried inside a block (harmony's final channel)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


@final
class Reasoning:
    """Reasoning carried inside a block (harmony's analysis channel)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


# outcomes -------------------------------------------------------------------------------------


class Outcome:
    """How a block ended. ``end``: block position where the block ends (None: at the cursor)."""

    __slots__ = ("end",)

    def __init__(self, end: int | None = None) -> None:
        self.end = end


@final
class Done(Outcome):
    """Tool calls (``tool_block``) or harmony messages, consumed."""

    __slots__ = ("format", "tool_block")

    def __init__(self, end: int | None = None, format: str | None = None, *, tool_block: bool = True) -> None:
        super().__init__(end)
        self.format = format
        self.tool_block = tool_block


@final
class Reject(Outcome):
    """Not a call: the text up to ``end`` (at least one character) is content."""

    __slots__ = ()


class Fail(Outcome):
    """Looks like a call, cannot be read: an error unless prose follows (then a mention)."""

    __slots__ = ("format", "reason")

    def __init__(self, format: str, reason: str, end: int | None = None) -> None:
        super().__init__(end)
        self.format = format
        self.reason = reason


@final
class Unusable(Fail):
    """A call that clearly cannot be used: always an error."""

    __slots__ = ()


# reading calls --------------------------------------------------------------------------------


class BadCall(ValueError):
    """A call object that cannot be used; the message says why."""


def object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The object of ``pairs``: a :class:`Twice` when a key repeats."""
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    twice = Twice(obj)
    twice.twice = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
    return twice


def decode_value(text: str) -> tuple[bool, Any]:
    """Decode JSON, or failing that a Python literal (never evaluated). ``(ok, value)``. An object
    with a key written twice decodes as a :class:`Twice`."""
    try:
        return True, json.loads(text, strict=False, object_pairs_hook=object_pairs)
    except (ValueError, RecursionError):
        pass
    try:
        return True, parse_literal(text)
    except LiteralSyntaxError:
        return False, None


def as_arguments(raw: Any) -> dict[str, Any]:
    """Arguments as a dict: an object as is, ``None`` or ``""`` as ``{}``, a string holding a JSON
    object (or Python dict) decoded once more. Anything else raises :class:`BadCall`."""
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        if not raw.strip():
            return {}
        ok, value = decode_value(raw)
        if ok and isinstance(value, dict):
            return value
        raise BadCall(f"arguments must be a JSON object, got the string {raw[:40]!r}")
    raise BadCall(f"arguments must be a JSON object, got {type(raw).__name__} {json.dumps(raw)[:40]}")


#: The keys of a call object (besides the arguments): an object without arguments may hold these only.
_CALL_KEYS: Final = frozenset(
    {"name", "tool_name", "arguments", "parameters", "id", "type", "function", "call_id", "index"}
)


def read_call(
    obj: Any, *, markerless: bool = False, keyed: bool = False
) -> tuple[str, dict[str, Any], str | None] | None:
    """``(name, arguments, id)`` of a call object, ``{"name": ..., "arguments" | "parameters": ...}``
    (or the OpenAI ``{"type": "function", "function": {...}}`` wrapping; inside a marker, Cohere's
    ``tool_name`` for ``name``).

    Without a marker around it (``markerless``), an object that is not clearly a call gives None: it
    needs a string ``name`` and an ``arguments`` or ``parameters`` key holding an object. Inside a
    marker, a missing arguments key means ``{}`` and anything unusable raises :class:`BadCall`.
    ``keyed``: the format writes a call as ``{"NAME": {arguments}}`` (Apertus); an object with one
    key and no ``name`` is read that way.

    A call object with a key written twice (``"arguments"`` or ``"name"`` given twice) raises
    :class:`BadCall`, also without a marker once the object is clearly a call: which one was meant
    cannot be told, and the first may already have streamed.
    """
    if not isinstance(obj, dict):
        if markerless:
            return None
        raise BadCall(f"a call must be a JSON object, got {type(obj).__name__}")
    if keyed and len(obj) == 1 and "name" not in obj:
        if isinstance(obj, Twice):
            raise BadCall(f"the call {obj.twice!r} is written twice in one object")
        ((key, raw),) = obj.items()
        if not isinstance(key, str) or not key.strip():
            raise BadCall("a call needs a tool name as its key")
        return key.strip(), as_arguments(raw), None
    twice = obj.twice if isinstance(obj, Twice) else None
    function = obj.get("function")
    if isinstance(function, dict) and "name" not in obj:
        twice = function.twice if isinstance(function, Twice) else twice
        obj = {**function, "id": obj.get("id")}
    name = obj.get("name")
    if name is None and not markerless:
        name = obj.get("tool_name")  # Cohere Command's action objects
    if not isinstance(name, str) or not name.strip():
        if markerless:
            return None
        raise BadCall(f"a call needs a string 'name'; got keys {sorted(map(str, obj))}")
    if twice is not None and (not markerless or "arguments" in obj or "parameters" in obj):
        raise BadCall(f"the key {twice!r} is given twice in the call object")
    if "arguments" in obj:
        raw = obj["arguments"]
    elif "parameters" in obj:
        raw = obj["parameters"]
    elif markerless:
        return None
    else:
        unknown = sorted(map(str, obj.keys() - _CALL_KEYS))
        if unknown:  # "argumnts": the arguments written under a key that is not read would be lost
            raise BadCall(f"the call has no 'arguments' key, and {unknown[0]!r} is not a key of a call object")
        raw = {}
    try:
        arguments = as_arguments(raw)
    except BadCall:
        if markerless:
            return None
        raise
    call_id = obj.get("id")
    return name.strip(), arguments, call_id if isinstance(call_id, str) and call_id else None


@final
class OfferedTools:
    """What readers need to know beyond the text: the offered tools (None: any name is fine)."""

    __slots__ = ("tools",)

    def __init__(self, tools: Mapping[str, Tool] | None) -> None:
        self.tools = tools

    def known(self, name: str) -> bool:
        """Whether a call to ``name`` may be made (always, when no tools were given)."""
        return self.tools is None or name in self.tools

    def unknown(self, name: str) -> str:
        """The reason for refusing a call to ``name``."""
        offered = ", ".join(sorted(self.tools or ())) or "none"
        return f"tool {name!r} was not offered (offered: {offered})"

    def schema(self, name: str, key: str) -> Mapping[str, Any] | None:
        """The JSON schema of argument ``key`` of tool ``name``; None when no offered tool
        describes it."""
        tool = None if self.tools is None else self.tools.get(name)
        properties = None if tool is None else tool.parameters.get("properties")
        schema = properties.get(key) if isinstance(properties, Mapping) else None
        return schema if isinstance(schema, Mapping) else None

    def keeps_strings(self, name: str, key: str) -> bool:
        """Whether a string value of argument ``key`` stays a string after coercion (so it can be
        handed out while it is written)."""
        schema = self.schema(name, key)
        if schema is None:
            return True
        types = schema_types(schema)
        return not types or "string" in types

    def arguments(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """``arguments`` coerced to the schema of tool ``name``, when tools were given."""
        if self.tools is None:
            return arguments
        tool = self.tools.get(name)
        return coerce_arguments(arguments, tool.parameters) if tool is not None else arguments
