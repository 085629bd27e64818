"""The single-JSON-blob reading of agent frameworks (smolagents' ``parse_json_blob`` and
``get_tool_call_from_text``), for prompts that ask the model for one JSON object.

:func:`modelplug.toolcalls.parse` with ``format="bare_json"`` is the better tool for model output in general: it keeps
the prose and reads every call. These helpers read exactly one object, tolerate any text around
it, and raise a clear error when there is none.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls._calls import mint_id
from modelplug.toolcalls._jsoncalls import bad_value
from modelplug.toolcalls._literals import LiteralSyntaxError, read_literal
from modelplug.types import ToolCall

__all__ = ["decode_json_string", "looks_like_call", "parse_json_blob", "tool_call_from_text"]

_THINK_OPEN: Final = "<think>"
_THINK_CLOSE: Final = "</think>"
_ATTEMPTS: Final = 32
_DECODER: Final = json.JSONDecoder(strict=False)
_CALL_SHAPE: Final = re.compile(r"""\{\s*["']?(?:name|tool|tool_name|function|action)["']?\s*:""")


def looks_like_call(text: str) -> bool:
    """Whether ``text`` holds an object that opens like a tool call (``{"name": ...``, also with
    ``tool``, ``tool_name``, ``function`` or ``action`` as the key, quoted or not), readable or not.

    Agents use it to tell an unreadable call (an error for the model to fix) from a plain answer.
    """
    return _CALL_SHAPE.search(text) is not None


def parse_json_blob(text: str) -> tuple[dict[str, Any], str]:
    """The one JSON object in ``text`` and the text before it: ``(data, prefix)``.

    Closed ``<think>`` blocks are skipped. The object may also be written as a Python dict literal
    (``{'a': True}``; read as a literal, never evaluated). Prose around it is ignored; a second
    object after it is an error (one blob was asked for, and picking the first would be a guess).

    Raises:
        ToolCallParseError: ``text`` holds no ``{`` ("does not contain any JSON"); no valid object
            starts at any ``{`` ("invalid or missing JSON: invalid JSON at offset N (reason)", the
            offset of the first failure, and the object that failed is reported even when a valid
            object is nested inside it); several objects ("several JSON objects at offsets ...");
            nesting too deep is a ``ToolCallParseError`` too, never a ``RecursionError``; so are
            a NaN or infinite number (``1e999``: not JSON; the message names its key path) and an
            integer too long to convert.
    """
    searched = _blank_think(text)
    start = searched.find("{")
    if start < 0:
        raise ToolCallParseError(
            "the model output does not contain any JSON blob", format="json_blob", text=text, offset=0
        )
    found = _first_object(searched, start, text)
    if found is None:
        raise ToolCallParseError(
            "invalid or missing JSON: no valid JSON object in the model output",
            format="json_blob",
            text=text,
            offset=start,
        )
    data, begin, end = found
    problem = bad_value(data)
    if problem is not None:
        raise ToolCallParseError(f"invalid JSON: {problem}", format="json_blob", text=text, offset=begin)
    later = searched.find("{", end)
    if later >= 0:
        second = _first_object(searched, later, text, quiet=True)
        if second is not None:
            raise ToolCallParseError(
                f"several JSON objects in the model output (at offsets {begin} and {second[1]}); expected one",
                format="json_blob",
                text=text,
                offset=second[1],
            )
    return data, text[:begin]


def _read_object(searched: str, start: int) -> tuple[Any, int]:
    """The JSON value (or, failing that, Python literal) at ``start`` and its end. Raises
    ``_Failure`` with the offset and reason of the JSON error when neither reads."""
    try:
        return _DECODER.raw_decode(searched, start)
    except json.JSONDecodeError as error:
        failure = _Failure(error.pos, error.msg)
    except RecursionError:
        failure = _Failure(start, "nesting too deep")
    except ValueError as error:  # an integer too long to convert (``sys.get_int_max_str_digits``)
        failure = _Failure(start, str(error).split(";")[0])
    try:
        return read_literal(searched, start)
    except LiteralSyntaxError:
        raise failure from None


def _first_object(
    searched: str, start: int, text: str, *, quiet: bool = False
) -> tuple[dict[str, Any], int, int] | None:
    """The first object at or after ``start``: ``(data, begin, end)``, None when there is none.

    A failed candidate whose reading got past a later ``{`` was an object containing it: that
    object is the blob, so its error is raised (not quiet) rather than reading the inner one.
    """
    failure: _Failure | None = None
    failed_at = start
    for _ in range(_ATTEMPTS):
        try:
            data, end = _read_object(searched, start)
        except _Failure as error:
            if failure is None:
                failure, failed_at = error, start
            data, end = None, start
        else:
            if failure is not None and failure.pos > start:
                break
            if isinstance(data, dict):
                return data, start, end
        start = searched.find("{", start + 1)
        if start < 0:
            break
    if failure is None or quiet:
        return None
    raise ToolCallParseError(
        f"invalid or missing JSON: invalid JSON at offset {failure.pos} ({failure.reason})"
        f" in the object at offset {failed_at}",
        format="json_blob",
        text=text,
        offset=failed_at,
    )


class _Failure(Exception):
    """Why the object at one ``{`` did not read: ``pos`` (offset into the text) and ``reason``."""

    def __init__(self, pos: int, reason: str) -> None:
        super().__init__(reason)
        self.pos = pos
        self.reason = reason


def _blank_think(text: str) -> str:
    """``text`` with each closed ``<think>...</think>`` block replaced by spaces (same length).

    One pass: once a ``<think>`` has no ``</think>`` after it, no later one has either, so the
    search stops there (a regex would rescan the rest of the text from every unclosed opener).
    """
    parts: list[str] = []
    pos = 0
    while True:
        a = text.find(_THINK_OPEN, pos)
        if a < 0:
            break
        b = text.find(_THINK_CLOSE, a + len(_THINK_OPEN))
        if b < 0:
            break
        b += len(_THINK_CLOSE)
        parts += (text[pos:a], " " * (b - a))
        pos = b
    parts.append(text[pos:])
    return "".join(parts)


def decode_json_string(value: Any) -> Any:
    """``value`` decoded from JSON if it is a string holding JSON, else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def tool_call_from_text(text: str, *, name_key: str = "name", arguments_key: str = "arguments") -> ToolCall:
    """One tool call from a JSON blob in ``text``: ``{name_key: ..., arguments_key: ...}``.

    Arguments that are a JSON string are decoded once more; arguments that are not an object are
    kept as text on ``raw_arguments`` (``arguments`` is then None).

    Raises:
        ToolCallParseError: no JSON object, or no ``name_key`` in it (the message lists the keys found).
    """
    data, prefix = parse_json_blob(text)
    name = data.get(name_key)
    if not isinstance(name, str) or not name:
        raise ToolCallParseError(
            f"tool call needs a key {name_key!r}; got keys {list(data)} instead",
            format="json_blob",
            text=text,
            offset=len(prefix),
        )
    arguments = decode_json_string(data.get(arguments_key, {}))
    if arguments is None:
        arguments = {}
    if isinstance(arguments, dict):
        return ToolCall(id=mint_id(), name=name, arguments=arguments)
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(id=mint_id(), name=name, arguments=None, raw_arguments=raw)
