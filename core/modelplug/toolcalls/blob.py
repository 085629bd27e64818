"""The single-JSON-blob reading of agent frameworks (smolagents' ``parse_json_blob`` and
``get_tool_call_from_text``), for prompts that ask the model for one JSON object.

:func:`modelplug.toolcalls.parse` with ``format="bare_json"`` is the better tool for model output in general: it keeps
the prose and reads every call. These helpers read exactly one object, tolerate any text around
it, and raise a clear error when there is none.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any, Final

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls._calls import mint_id, object_pairs
from modelplug.toolcalls._jsoncalls import bad_value
from modelplug.toolcalls._literals import LiteralSyntaxError, LiteralValueError, read_literal
from modelplug.types import ToolCall

__all__ = ["decode_json_string", "looks_like_call", "parse_json_blob", "tool_call_from_text"]

_THINK_OPEN: Final = "<think>"
_THINK_CLOSE: Final = "</think>"
_ATTEMPTS: Final = 32
_DECODER: Final = json.JSONDecoder(strict=False, object_pairs_hook=object_pairs)
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
    (``{'a': True}``; read as a literal, never evaluated). Prose around it is ignored, braces in
    prose too: a ``{`` counts as an object only where it opens like one (a quoted or bare key and
    ``:``, ``}``, or the end of the text right after it); a ``{`` that does not (``{so on}``) is
    prose unless it reads as an object all the same. A second object after the blob is an error
    (one blob was asked for, and picking the first would be a guess), also when it is not closed.

    Raises:
        ToolCallParseError: ``text`` holds no ``{`` ("does not contain any JSON"); the first ``{``
            that opens like an object does not read ("invalid or missing JSON: invalid JSON at
            offset N (reason) in the object at offset M": where that outer object fails, never an
            object nested in it; for a Python literal the reason names the value that is not a
            literal, ``float('nan')``, ``b'ab'``, ``1j``); no object at all; several objects
            ("several JSON objects at offsets ...", naming why the second does not read when it
            does not); a key given twice in one object; nesting too deep (never a
            ``RecursionError``); a NaN or infinite number (``1e999``: not JSON) or a string with
            a lone surrogate (``"\\ud800"``: not Unicode text), the message naming its key path;
            an integer too long to convert.
    """
    data, begin, second = _blob(text)
    if second is not None:
        raise _several(text, begin, second)
    return data, text[:begin]


#: A ``{`` that opens like an object: a quoted or bare key and ``:``, ``}``, or the end of the text.
_OPENS_OBJECT: Final = re.compile(r"""\{\s*(?:["'}]|[A-Za-z_][\w-]*\s*:|\Z)""")


def _blob(text: str) -> tuple[dict[str, Any], int, tuple[int, str] | None]:
    """``(data, begin, second)``: the blob, where it starts, and a second object after it (its
    offset, and why it does not read or ``""``), None when there is none. Raises what
    :func:`parse_json_blob` raises, except for a second object."""
    searched = _blank_think(text)
    start = searched.find("{")
    if start < 0:
        raise ToolCallParseError(
            "the model output does not contain any JSON blob", format="json_blob", text=text, offset=0
        )
    data, begin, end = _first_object(searched, start, text)
    problem = bad_value(data, noun="key")
    if problem is not None:
        raise ToolCallParseError(f"invalid JSON: {problem}", format="json_blob", text=text, offset=begin)
    return data, begin, _second_object(searched, end)


def _several(text: str, begin: int, second: tuple[int, str], calls: tuple[ToolCall, ...] = ()) -> ToolCallParseError:
    at, unreadable = second
    why = f"; the second cannot be read: {unreadable}" if unreadable else ""
    return ToolCallParseError(
        f"several JSON objects in the model output (at offsets {begin} and {at}{why}); expected one",
        format="json_blob",
        text=text,
        offset=at,
        tool_calls=calls,
    )


def _read_object(searched: str, start: int, *, literal_first: bool = False) -> tuple[Any, int]:
    """The JSON value (or, failing that, Python literal) at ``start`` and its end. Raises
    ``_Failure`` when neither reads: the JSON error, or the literal reading's when it names a value
    that is no literal (``float('nan')``, ``b'ab'``, ``1j``) at or after where JSON failed.

    ``literal_first``: try the literal reading first (it reads JSON too, to the same value). A JSON
    error costs time in proportion to its offset (the decoder counts the lines before it), so a
    scan that may try many braces (``{"x"} {"x"} ...``: sets) reads them this way."""
    if literal_first:
        with contextlib.suppress(LiteralSyntaxError):
            return read_literal(searched, start)
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
    except LiteralValueError as error:  # a Python literal, but a value in it is not one
        if error.pos >= failure.pos:
            failure = _Failure(error.pos, f"as a Python literal: {error.reason}")
        raise failure from None
    except LiteralSyntaxError:
        raise failure from None


def _first_object(searched: str, start: int, text: str) -> tuple[dict[str, Any], int, int]:
    """The blob: ``(data, begin, end)``, the object at the first ``{`` that opens like one (or an
    earlier prose ``{`` that reads as an object all the same; at most ``_ATTEMPTS`` of those are
    tried). The first ``{`` that opens like an object and does not read is the blob that failed:
    its error is raised, never an object nested in it or written after it."""
    failure: _Failure | None = None
    failed_at = start
    attempts = 0
    while start >= 0:
        shaped = _OPENS_OBJECT.match(searched, start) is not None
        if shaped or attempts < _ATTEMPTS:
            attempts += 1
            try:
                data, end = _read_object(searched, start, literal_first=attempts > _ATTEMPTS)
            except _Failure as error:
                if shaped:
                    failure, failed_at = error, start
                    break
                if failure is None:
                    failure, failed_at = error, start
            else:
                if isinstance(data, dict):
                    return data, start, end
                start = searched.find("{", end)  # a set or a list: nothing in it is the blob
                continue
        start = searched.find("{", start + 1)
    if failure is None:
        raise ToolCallParseError(
            "invalid or missing JSON: no valid JSON object in the model output",
            format="json_blob",
            text=text,
            offset=searched.find("{"),
        )
    raise ToolCallParseError(
        f"invalid or missing JSON: invalid JSON at offset {failure.pos} ({failure.reason})"
        f" in the object at offset {failed_at}",
        format="json_blob",
        text=text,
        offset=failed_at,
    )


def _second_object(searched: str, start: int) -> tuple[int, str] | None:
    """The first ``{`` at or after ``start`` that opens like an object and reads as one, or does
    not read: ``(offset, why it does not read or "")``; None when there is none."""
    later = searched.find("{", start)
    while later >= 0:
        if _OPENS_OBJECT.match(searched, later) is None:
            later = searched.find("{", later + 1)
            continue
        try:
            data, end = _read_object(searched, later, literal_first=True)
        except _Failure as error:
            return later, f"invalid JSON at offset {error.pos} ({error.reason})"
        if isinstance(data, dict):
            return later, ""
        later = searched.find("{", end)
    return None


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
        ToolCallParseError: what :func:`parse_json_blob` raises, or no ``name_key`` in the object
            (the message lists the keys found). For several objects, the error carries the call
            read from the first on ``tool_calls``.
    """
    data, begin, second = _blob(text)
    name = data.get(name_key)
    if not isinstance(name, str) or not name:
        raise ToolCallParseError(
            f"tool call needs a key {name_key!r}; got keys {list(data)} instead",
            format="json_blob",
            text=text,
            offset=begin,
        )
    arguments = decode_json_string(data.get(arguments_key, {}))
    if arguments is None:
        arguments = {}
    if isinstance(arguments, dict):
        call = ToolCall(id=mint_id(), name=name, arguments=arguments)
    else:
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        call = ToolCall(id=mint_id(), name=name, arguments=None, raw_arguments=raw)
    if second is not None:
        raise _several(text, begin, second, (call,))
    return call
