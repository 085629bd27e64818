"""XML-like formats where every argument is a tagged text value: qwen3_coder, seed_oss, glm45,
glm47, minimax_m2, deepseek_v32 and step3; deepseek_v4, deepseek_v41, gigachat35, dots, kimi_k3,
hy_v3, k2_horizon, solar_open2, minicpm5, iquest_q1 and hyperclovax_seed_think on the same elements;
cwm's one text value.

Values are text, coerced to the schema's types when tools are given; a value's closing tag ends it
only where the next parameter or the call's end follows. Each format's layout and the
malformations read: ``docs/toolcall-parser.md`` ("Tagged argument values").
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable
from typing import Any, Final, TypeVar, final

from modelplug.toolcalls._blocks import read_block, read_special_block, resync
from modelplug.toolcalls._calls import Done, Fail, Header, OfferedTools, Outcome, Reject, Unusable, decode_value
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._jsoncalls import BlockCalls, read_json_arguments, read_json_calls
from modelplug.toolcalls._scan import ScanStatus, scan_json
from modelplug.toolcalls._schema import coerce_to_type, type_name
from modelplug.toolcalls._source import (
    NAME_RE,
    NEED,
    Read,
    Source,
    accept,
    alternation,
    at,
    need,
    peek,
    read_name,
    skip_ws,
    until,
    until_re,
)
from modelplug.toolcalls.json_tags import json_payload

__all__ = [
    "ATEM_OPENER",
    "CWM_OPENER",
    "DOTS_OPENER",
    "DSML_OPENER",
    "DSML_V4_OPENER",
    "DSML_V41_OPENER",
    "GCML_OPENER",
    "HY_SUFFIXED_OPENER",
    "IQUEST_OPENER",
    "K2_HORIZON_OPENER",
    "K3_CLOSE",
    "K3_MARKUP",
    "K3_OPEN",
    "K3_TOOLS_OPEN",
    "MINICPM_OPENER",
    "SOLAR_OPENER",
    "atem",
    "bare_function",
    "cwm",
    "deepseek_v4",
    "deepseek_v32",
    "deepseek_v41",
    "dots",
    "gigachat35",
    "glm_body",
    "hy_body",
    "hy_suffixed",
    "iquest_q1",
    "k2_horizon",
    "k3_spaced",
    "kimi_k3",
    "minicpm5",
    "minimax_m2",
    "qwen_body",
    "qwen_function",
    "seed_oss",
    "solar_open2",
    "step3",
]

_FUNCTION: Final = "<function="
_FUNCTION_END: Final = "</function>"
_QWEN_NAME_END: Final = re.compile(r"[>\n<]")


def _strip_newline(value: str) -> str:
    if value.startswith("\r\n"):
        value = value[2:]
    elif value.startswith("\n"):
        value = value[1:]
    if value.endswith("\r\n"):
        value = value[:-2]
    elif value.endswith("\n"):
        value = value[:-1]
    return value


def _valid_name(text: str) -> str | None:
    name = text.strip().strip("\"'")
    return name if NAME_RE.fullmatch(name) else None


def _params(
    src: Source,
    *,
    key_open: str,
    key_close: str,
    value_close: str,
    end: str,
    value_open: str | None = None,
    qwen: bool = False,
    strip_newline: bool = True,
    on_value: Callable[[str, Any], list[object]] | None = None,
    on_piece: Callable[[str, str], list[object]] | None = None,
    attributes: re.Pattern[str] | None = None,
    json_values: bool = False,
    stops: tuple[str, ...] = (),
    closes_block: bool = False,
    type_tag: tuple[str, str] | None = None,
    typed_text: Callable[[str, str], bool] | None = None,
) -> Read[tuple[dict[str, Any] | None, str]]:
    """Read ``key_open K key_close [value_open] V value_close`` pairs up to ``end`` (consumed).

    ``on_value(key, value)``: events to yield as soon as a parameter is complete (its streamed part);
    ``on_piece(key, text)``: events for the next piece of a value while it is written (text that is
    certain to be part of it: not the layout newlines that are stripped).
    ``attributes``: a pattern that must follow ``key_close`` (DSML's `` string="false">``, Kimi
    K3's `` type="object"<|sep|>``); a ``string`` group other than ``true``, or a ``type`` group
    other than ``string``, makes the value JSON, decoded when it ends. ``json_values``: every
    value is JSON when it reads as JSON, else text (HyperCLOVA X), decided when it ends.
    ``stops``: the block's other structural tokens (its next element's opener, its closer): a
    value's closing tag before one of them ends the value too, and the call, whose end is
    missing, cannot be read (its block goes on at that token). ``closes_block``: ``end`` is also
    the block's closer (one call per block: GLM, Solar, MiniCPM).

    Where a value ends (the rule of every format here): at its closing tag where the next
    structural token follows (else the tag is part of the value, ``</parameter>`` written to a
    file); a value that runs into ``key_open``, one of ``stops`` or the block's closer before
    that is broken (a mistyped closer, ``</parametr>``): the call cannot be read and the cursor
    is left on that token, so the block's next call is still read. qwen3_coder (``qwen``) leaves
    ``</parameter>`` out: there ``key_open`` ends the value, and so does ``end`` where a
    structural token follows it (or always, in a block of one function).
    ``type_tag``: the open and close tags of an optional type written between the key and the
    value (K2 Horizon's ``<ifm|arg_type>integer</ifm|arg_type>``); ``typed_text(key, type)`` says
    whether such a value stays text (else it is converted to the type when it ends, and kept as
    text when it does not convert: ``_schema.coerce_to_type``).
    """
    params: dict[str, Any] = {}
    while True:
        yield from skip_ws(src)
        if stops and (yield from _at_any(src, stops)):  # checked first: "</tool_calls>" starts like "</tool_call"
            return None, f"the call is not closed: expected {key_open!r} or {end!r}"
        if (yield from accept(src, end)):
            return params, ""
        if not (yield from accept(src, key_open)):
            return None, "the text ends inside the call" if not peek(src) else f"expected {key_open!r} or {end!r}"
        a = src.pos
        if not (yield from until(src, key_close, 256)):
            return None, "the text ends inside a parameter name" if src.eof else "parameter name not closed"
        written = src.text(a, src.pos)
        key = _valid_name(written)
        if key is None:
            return None, f"a parameter without a valid name ({written[:40]!r})"
        src.i += len(key_close)
        is_text = not json_values
        if attributes is not None:
            m = yield from _match_run(src, attributes)
            if m is None:
                return None, f"parameter {key!r}: unreadable attributes"
            src.i = m.end()
            is_text = _is_text(m)
        typed: str | None = None
        if type_tag is not None:
            yield from skip_ws(src)
            if (yield from accept(src, type_tag[0])):
                a = src.pos
                if not (yield from until(src, type_tag[1], 64)):
                    ended = src.eof and len(src.s) - src.i < 64 + len(type_tag[1])
                    return None, "the text ends inside the call" if ended else f"parameter {key!r}: type not closed"
                typed = src.text(a, src.pos).strip()
                src.i += len(type_tag[1])
                is_text = typed_text is None or typed_text(key, typed)
        if value_open is not None:
            yield from skip_ws(src)
            # GLM-4.7 sometimes leaves the value opener out (``</arg_key>v</arg_value>``): the
            # closing tag still delimits the value, so it is read as if the opener were there
            if not (yield from accept(src, value_open)) and not peek(src):
                return None, "the text ends inside the call"
        a = src.pos
        pieces = _Pieces(src, key, a, strip_newline, on_piece if is_text else None)
        breakers = (key_open, *stops, *((end,) if closes_block or qwen else ()))
        pattern, longest, literals = _value_ends(value_close, breakers)
        while True:
            m = yield from pieces.around(until_re(src, pattern, longest, literals))
            if m is None:
                return None, "the text ends inside a parameter value"
            b, token = src.pos, m.group()
            if qwen and token == key_open:
                break  # qwen3_coder: the next parameter, without </parameter>
            if token != value_close and not (qwen and token == end):
                # a mistyped closer (</parametr>): the value ran into the next call or the block's end
                return None, f"parameter {key!r}: its value runs into {token!r} before {value_close!r}"
            # a closing tag ends the value only where the next structural token follows (or the
            # end of the text); elsewhere it is part of the value ("</parameter>" written to a file)
            if token == end:  # qwen3_coder's </function> without </parameter>: the cursor stays on it
                if not stops or (yield from _followed_by(src, len(end), stops)):
                    break
                src.i += len(end)
                continue
            src.i += len(token)
            yield from skip_ws(src)
            if not peek(src) or (yield from at(src, key_open)) or (yield from at(src, end)):
                break
            if stops and (yield from _at_any(src, stops)):
                break
        value = src.text(a, b)
        params[key] = _strip_newline(value) if strip_newline else value
        if typed is not None and not is_text:
            params[key] = coerce_to_type(params[key], typed)
        elif not is_text:
            ok, decoded = decode_value(params[key].strip())
            if ok:
                params[key] = decoded
            elif not json_values:
                return None, f"parameter {key!r} (marked as JSON) is not valid JSON"
        if on_value is not None:
            yield from on_value(key, params[key])


@functools.cache
def _value_ends(close: str, breakers: tuple[str, ...]) -> tuple[re.Pattern[str], int, tuple[str, ...]]:
    """The search for a value's end: its closing tag or a token that breaks it (see ``_params``),
    as ``until_re`` takes it (pattern, longest literal, the literals when one character starts
    them all)."""
    literals = tuple(dict.fromkeys((close, *breakers)))
    assert not any(x != y and y.startswith(x) for x in literals for y in literals), literals
    same_first = len({literal[0] for literal in literals}) == 1
    return alternation(literals), max(map(len, literals)), literals if same_first else ()


def _followed_by(src: Source, skip: int, literals: tuple[str, ...]) -> Read[bool]:
    """Whether the text ends, or one of ``literals`` starts, after the ``skip`` characters at the
    cursor and the whitespace after them; the cursor does not move."""
    rel = skip  # where the whitespace run ends, relative to the cursor (kept across waits: linear)
    while True:
        j = _WS_RUN.match(src.s, src.i + rel).end()  # type: ignore[union-attr]  # matches the empty string
        rel = j - src.i
        if j < len(src.s) or src.eof:
            rest = src.s[j : j + max(map(len, literals))]
            if not rest or any(rest.startswith(literal) for literal in literals):
                return True
            if src.eof or not any(literal.startswith(rest) for literal in literals):
                return False
        yield NEED


_WS_RUN: Final = re.compile(r"\s*")


def _at_any(src: Source, literals: tuple[str, ...]) -> Read[bool]:
    for literal in literals:
        if (yield from at(src, literal)):
            return True
    return False


def _call_params(
    src: Source, calls: BlockCalls, header: Header | None, **layout: Any
) -> Read[tuple[dict[str, Any] | None, str]]:
    """``_params`` of one call, its arguments streamed under ``header``."""
    return (
        yield from _params(
            src,
            on_value=lambda key, value: calls.argument(header, key, value),
            on_piece=lambda key, text: calls.text_piece(header, key, text),
            **layout,
        )
    )


def _is_text(m: re.Match[str]) -> bool:
    """Whether the attributes ``m`` (see ``_params``) leave a value as text."""
    groups = m.groupdict()
    if "type" in groups:
        return groups["type"] in (None, "string")
    return groups.get("string") in (None, "true")


def _match_run(src: Source, pattern: re.Pattern[str], limit: int = 128) -> Read[re.Match[str] | None]:
    """``pattern`` matched at the cursor once it can be decided (its text ends with ``>``)."""
    while True:
        k = src.s.find(">", src.i, src.i + limit)
        if k >= 0 or src.eof or len(src.s) - src.i >= limit:
            return pattern.match(src.s, src.i, k + 1 if k >= 0 else len(src.s))
        yield NEED


_T = TypeVar("_T")


@final
class _Pieces:
    """Hands out a value's text while a search for its end waits for more text. Text before the
    cursor of such a search can never be part of the closing tag; only the layout newlines at the
    value's ends (stripped at the end) wait."""

    __slots__ = ("blank", "done", "key", "lead", "on_piece", "space", "src", "strip")

    def __init__(
        self,
        src: Source,
        key: str,
        start: int,
        strip: bool,
        on_piece: Callable[[str, str], list[object]] | None,
        *,
        space: bool = False,
    ) -> None:
        self.src = src
        self.key = key
        self.done = start  # block position of the first value character not handed out
        self.strip = strip
        self.space = space  # all trailing whitespace is layout if the value ends there (cwm)
        self.blank = start
        self.lead = strip  # a leading newline may still have to be skipped
        self.on_piece = on_piece

    def around(self, search: Read[_T]) -> Read[_T]:
        """``search``, with the value's pieces handed out each time it waits."""
        if self.on_piece is None:
            return (yield from search)
        try:
            item = search.send(None)
            while True:
                events = self._flush() if item is NEED else None
                yield events or item  # a list of events means: those, then NEED
                item = search.send(None)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def _flush(self) -> list[object]:
        assert self.on_piece is not None
        if self.space:
            return self._flush_space()
        chunk = self.src.text(self.done, self.src.pos)
        if not chunk:
            return []
        if self.lead:
            if chunk == "\r":
                return []
            skip = 2 if chunk.startswith("\r\n") else 1 if chunk.startswith("\n") else 0
            self.lead = False
            self.done += skip
            chunk = chunk[skip:]
        hold = 0
        if self.strip:  # a trailing newline is layout if the value ends there
            hold = 2 if chunk.endswith("\r\n") else 1 if chunk.endswith(("\n", "\r")) else 0
        text = chunk[: len(chunk) - hold] if hold else chunk
        if not text:
            return []
        self.done += len(text)
        return self.on_piece(self.key, text)

    def _flush_space(self) -> list[object]:
        """``_flush`` holding back all trailing whitespace; the run held is looked at once (text
        from ``done`` to ``blank`` is known to be whitespace), so a long run costs linear time."""
        assert self.on_piece is not None
        start = max(self.done, self.blank)
        new = self.src.text(start, self.src.pos)
        kept = len(new.rstrip())
        if not kept:
            self.blank = self.src.pos
            return []
        text = self.src.text(self.done, start + kept)
        self.done = self.blank = start + kept
        return self.on_piece(self.key, text)


# qwen3_coder / seed_oss ---------------------------------------------------------------------------

_MALFORMED: Final = "malformed tag <function="


def qwen_function(src: Source, calls: BlockCalls, stops: tuple[str, ...] = ()) -> Read[tuple[str, str | None]]:
    """Read ``NAME>`` parameters ``</function>`` (cursor after ``<function=``); ``stops``: the
    block's structural tokens (see ``_params``).

    Returns why it failed (``""``: it did not; a malformed tag, ``<function=name\n``, is read to
    its ``</function>``) and the tool name when it was read.
    """
    a = src.pos
    m = yield from until_re(src, _QWEN_NAME_END, 1)
    name = _valid_name(src.text(a, src.pos)) if m is not None and m.group() == ">" else None
    if name is None:  # e.g. "<function=name\n": an attempted call that cannot be used; skip to its end
        written = src.text(a, src.pos).strip()
        if (yield from until(src, _FUNCTION_END)):
            src.i += len(_FUNCTION_END)
            return f"{_MALFORMED}{written[:40]}: the name must be a tool name closed by '>'", None
        return "the text ends inside a malformed <function=...> tag", None
    src.i += 1
    header = calls.announce(name)
    if header is not None:
        yield header
    params, reason = yield from _call_params(
        src,
        calls,
        header,
        key_open="<parameter=",
        key_close=">",
        value_close="</parameter>",
        end=_FUNCTION_END,
        qwen=True,
        stops=stops,
    )
    if params is None:
        return reason, name
    yield from calls.complete(header, name, params)
    return "", name


def qwen_body(src: Source, ctx: OfferedTools, format: str, *, closer: str, opener_length: int) -> Read[Outcome]:
    """``<function=...>`` elements up to ``closer`` (cursor after the opener and whitespace)."""
    calls = BlockCalls(ctx, format, src)
    outcome = yield from read_block(
        src,
        calls,
        lambda _: qwen_function(src, calls, (_FUNCTION, closer)),
        openers=(_FUNCTION,),
        closers=(closer,),
        ends=(_FUNCTION_END,),
    )
    if outcome is not None:
        return outcome
    if peek(src):
        return Reject(opener_length)
    return calls.failed("the text ends before a <function=...> tag")


def seed_oss(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Seed-OSS: ``<seed:tool_call>`` + qwen3_coder functions + ``</seed:tool_call>``."""
    opener = "<seed:tool_call>"
    src.i += len(opener)
    return (yield from qwen_body(src, ctx, "seed_oss", closer="</seed:tool_call>", opener_length=len(opener)))


def bare_function(format: str) -> Reader:
    """qwen3_coder's ``<function=...>`` written without the ``<tool_call>`` wrapper."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        calls = BlockCalls(ctx, format, src)
        src.i += len(_FUNCTION)
        reason, _ = yield from qwen_function(src, calls)
        if reason.startswith(_MALFORMED):
            calls.bad(reason)
            return calls.failed(calls.errors[0])
        if reason:
            if not calls.emitted and not src.eof and not reason.startswith("the text ends"):
                return Reject(len(_FUNCTION))
            return calls.failed(reason)
        return calls.outcome()

    return read


# glm45 / glm47 ------------------------------------------------------------------------------------


def glm_body(
    src: Source,
    ctx: OfferedTools,
    *,
    opener_length: int,
    opener: str = "<tool_call>",
    closer: str = "</tool_call>",
    format: str | None = None,
    json_values: bool = False,
) -> Read[Outcome]:
    """GLM: ``NAME`` then ``<arg_key>``/``<arg_value>`` pairs then ``closer`` (cursor on NAME,
    which GLM writes right after the tag: a space there is prose, as in "the <tool_call> tag").
    ``format``: the name to report (default: glm45 or glm47, told apart by a newline after NAME);
    ``json_values``: values are JSON where they read as JSON (see ``_params``)."""
    if " " in src.text(opener_length, src.pos):
        return Reject(opener_length)
    name = yield from read_name(src)
    if not name:
        return Reject(opener_length)
    name_end = src.pos
    yield from skip_ws(src)
    if format is None:
        format = "glm45" if "\n" in src.text(name_end, src.pos) else "glm47"
    calls = BlockCalls(ctx, format, src)
    if not ((yield from at(src, "<arg_key>")) or (yield from at(src, closer))):
        return Reject(opener_length) if peek(src) else calls.failed("the text ends inside the call")
    header = calls.announce(name)
    if header is not None:
        yield header
    params, reason = yield from _call_params(
        src,
        calls,
        header,
        key_open="<arg_key>",
        key_close="</arg_key>",
        value_open="<arg_value>",
        value_close="</arg_value>",
        end=closer,
        strip_newline=False,
        json_values=json_values,
        stops=(opener,),
        closes_block=True,
    )
    if params is None:
        return (yield from _one_call_failed(src, calls, reason, name, opener, closer))
    yield from calls.complete(header, name, params)
    return calls.outcome()


def _one_call_failed(
    src: Source, calls: BlockCalls, reason: str, name: str | None, opener: str, closer: str
) -> Read[Outcome]:
    """The outcome of a block of one call (GLM, Solar, MiniCPM) that cannot be read, named: the
    block runs past its ``closer``, or to the next call's ``opener`` where that comes first (a
    mistyped closer never takes the next call with it)."""
    calls.bad(reason, name)
    yield from resync(src, (opener,), (closer,))
    return calls.failed(calls.errors[-1])


# minimax_m2 ---------------------------------------------------------------------------------------


def _invokes(
    src: Source,
    calls: BlockCalls,
    *,
    invoke_end: str,
    parameter: str,
    parameter_end: str,
    key_close: str,
    strip_newline: bool,
    attributes: re.Pattern[str] | None = None,
    parameter_key_close: str | None = None,
    json_body: bool = False,
    json_values: bool = False,
    stops: tuple[str, ...] = (),
    closes_block: bool = False,
) -> Read[tuple[str, str | None]]:
    """One ``<invoke name="f">`` parameters ``</invoke>`` (cursor after ``invoke``, the tag up to the
    name); returns why it failed (``""``: it did not) and the tool name when it was read.

    ``json_body``: the parameters may instead be one JSON object (DSML's direct-JSON form),
    streamed like a JSON-bodied format's arguments. ``json_values``, ``stops``: see ``_params``.
    """
    a = src.pos
    if not (yield from until(src, key_close, 256)):
        return ("the text ends inside the call" if src.eof else "tool name not closed"), None
    written = src.text(a, src.pos)
    name = _valid_name(written)
    src.i += len(key_close)
    if name is None:
        if "<" in written:  # the tag is not closed before the next tag: the call's end is looked for from there
            src.seek(a + written.index("<"))
            written = written[: written.index("<")]
        return f"bad tool name {written[:40]!r}", None
    header = calls.announce(name)
    if header is not None:
        yield header
    if json_body:
        yield from skip_ws(src)
        if peek(src) == "{":
            status, arguments, reason = yield from read_json_arguments(src, (invoke_end,), calls, header)
            if status != ScanStatus.COMPLETE or arguments is None:
                return reason, name
            yield from skip_ws(src)
            if not (yield from accept(src, invoke_end)):
                if not peek(src):
                    return "the text ends inside the call", name
                return f"expected {invoke_end!r} after the JSON arguments", name
            yield from calls.complete(header, name, arguments)
            return "", name
    params, reason = yield from _call_params(
        src,
        calls,
        header,
        key_open=parameter,
        key_close=parameter_key_close or key_close,
        value_close=parameter_end,
        end=invoke_end,
        strip_newline=strip_newline,
        attributes=attributes,
        json_values=json_values,
        stops=stops,
        closes_block=closes_block,
    )
    if params is None:
        return reason, name
    yield from calls.complete(header, name, params)
    return "", name


def _invoke_block(
    format: str,
    opener: str,
    closer: str,
    prefix: str,
    *,
    attributes: re.Pattern[str] | None = None,
    json_calls: bool = False,
    json_values: bool = False,
) -> Reader:
    """``opener`` + ``<{prefix}invoke name="f">`` elements + ``closer`` (MiniMax-M2, DSML, GCML,
    dots).

    With ``attributes`` (the DSML family) an invoke's parameters may also be one JSON object;
    ``json_calls``: the block may instead hold JSON call objects (dots); ``json_values``: every
    value is JSON where it reads as JSON, else its text exactly as written (MuseGlimmer's ATEM).
    """
    invoke = f"<{prefix}invoke name="

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(opener)
        calls = BlockCalls(ctx, format, src)
        if json_calls:
            yield from skip_ws(src)
            c = peek(src)
            if c and c in "{[":
                return (yield from json_payload(src, ctx, format, closer=closer, several=True))
        outcome = yield from read_block(
            src,
            calls,
            lambda _: _invokes(
                src,
                calls,
                invoke_end=f"</{prefix}invoke>",
                parameter=f"<{prefix}parameter name=" + ('"' if attributes is not None else ""),
                parameter_end=f"</{prefix}parameter>",
                key_close=">",
                strip_newline=attributes is None and not json_values,
                attributes=attributes,
                parameter_key_close='"' if attributes is not None else None,
                json_body=attributes is not None,
                json_values=json_values,
                stops=(invoke, closer),
            ),
            openers=(invoke,),
            closers=(closer,),
            ends=(f"</{prefix}invoke>",),
        )
        if outcome is not None:
            return outcome
        return Reject(len(opener)) if peek(src) else calls.failed(f"the text ends after {opener}")

    return read


#: MiniMax-M2: ``<minimax:tool_call>`` + ``<invoke>`` elements + ``</minimax:tool_call>``.
minimax_m2: Final = _invoke_block("minimax_m2", "<minimax:tool_call>", "</minimax:tool_call>", "")

_STRING_ATTRIBUTE: Final = re.compile(r'\s*(?:string="(?P<string>[a-z]*)"\s*)?>')

DSML_OPENER: Final = "<｜DSML｜function_calls>"
#: DeepSeek-V3.2's DSML: ``<｜DSML｜function_calls>`` + ``<｜DSML｜invoke name="f">`` elements whose
#: ``<｜DSML｜parameter name="k" string="true">`` values are text (``string="false"``: JSON).
deepseek_v32: Final = _invoke_block(
    "deepseek_v32", DSML_OPENER, "</｜DSML｜function_calls>", "｜DSML｜", attributes=_STRING_ATTRIBUTE
)

DSML_V4_OPENER: Final = "<｜DSML｜tool_calls>"
#: DeepSeek-V4: V3.2's DSML inside ``<｜DSML｜tool_calls>``.
deepseek_v4: Final = _invoke_block(
    "deepseek_v4", DSML_V4_OPENER, "</｜DSML｜tool_calls>", "｜DSML｜", attributes=_STRING_ATTRIBUTE
)

DSML_V41_OPENER: Final = "<｜DSML｜ calls>"
#: DeepSeek-V4.1: the DSML tag names with a leading space (``<｜DSML｜ calls>``,
#: ``<｜DSML｜ invoke name="f">``, ``<｜DSML｜ parameter ...>``).
deepseek_v41: Final = _invoke_block(
    "deepseek_v41", DSML_V41_OPENER, "</｜DSML｜ calls>", "｜DSML｜ ", attributes=_STRING_ATTRIBUTE
)

DOTS_OPENER: Final = "<dots_function_call>"
#: dots.llm: MiniMax-M2's ``<invoke>`` elements, or JSON call objects, in ``<dots_function_call>``.
dots: Final = _invoke_block("dots", DOTS_OPENER, "</dots_function_call>", "", json_calls=True)

GCML_OPENER: Final = "<｜GCML｜tool_calls>"
#: GigaChat 3.5's GCML: DSML's elements with the ``｜GCML｜`` prefix (``string`` defaults to true).
gigachat35: Final = _invoke_block(
    "gigachat35", GCML_OPENER, "</｜GCML｜tool_calls>", "｜GCML｜", attributes=_STRING_ATTRIBUTE
)

ATEM_OPENER: Final = "<atem:function_calls>"
#: MuseGlimmer's ATEM: MiniMax-M2's elements with the ``atem:`` prefix in ``<atem:function_calls>``.
atem: Final = _invoke_block("muse_glimmer", ATEM_OPENER, "</atem:function_calls>", "atem:", json_values=True)


# step3 --------------------------------------------------------------------------------------------

_STEP_CALLS_BEGIN: Final = "<｜tool_calls_begin｜>"
_STEP_CALLS_END: Final = "<｜tool_calls_end｜>"
_STEP_CALL_BEGIN: Final = "<｜tool_call_begin｜>"
_STEP_CALL_END: Final = "<｜tool_call_end｜>"
_STEP_INVOKE: Final = "<steptml:invoke"
_STEP_NAME: Final = ' name="'


def step3(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Step-3: special-token call list around ``<steptml:invoke>`` elements."""
    src.i += len(_STEP_CALLS_BEGIN)
    calls = BlockCalls(ctx, "step3", src)

    def call(opener: str) -> Read[tuple[str, str | None]]:
        # the short form leaves out <｜tool_call_begin｜>function<｜tool_sep｜> (or the type and
        # separator only): the invoke element alone is unambiguous, what comes before it is skipped
        if opener == _STEP_CALL_BEGIN:
            yield from skip_ws(src)
            if not (yield from accept(src, _STEP_INVOKE)):
                if not (yield from until(src, _STEP_INVOKE, 256)):
                    return "expected <steptml:invoke>", None
                src.i += len(_STEP_INVOKE)
        if not (yield from accept(src, _STEP_NAME)):
            return "an invoke without a tool name (name=\"...\")", None
        return (
            yield from _invokes(
                src,
                calls,
                invoke_end="</steptml:invoke>",
                parameter='<steptml:parameter name="',
                parameter_end="</steptml:parameter>",
                key_close='">',
                strip_newline=False,
                stops=(_STEP_CALL_BEGIN, _STEP_INVOKE, _STEP_CALL_END, _STEP_CALLS_END),
            )
        )

    return (
        yield from read_special_block(
            src,
            calls,
            call,
            openers=(_STEP_CALL_BEGIN, _STEP_INVOKE),
            closers=(_STEP_CALLS_END,),
            ends=(_STEP_CALL_END,),
            expected=_STEP_CALL_BEGIN,
            opened=_STEP_CALLS_BEGIN,
        )
    )


# kimi_k3 (XTML) -----------------------------------------------------------------------------------

K3_TOOLS_OPEN: Final = "<|open|>tools<|sep|>"
_K3_TOOLS_CLOSE: Final = "<|close|>tools<|sep|>"
_K3_CALL: Final = "<|open|>call"
_K3_CALL_END: Final = "<|close|>call<|sep|>"
_K3_CALL_ATTRIBUTES: Final = re.compile(r'(?P<attrs>(?:\s+\w+="[^"]*")*)\s*<\|sep\|>')
_K3_ATTRIBUTE: Final = re.compile(r'(\w+)="([^"]*)"')
#: The response channel's markers and the message end: markup around the content, dropped.
K3_MARKUP: Final = ("<|open|>response<|sep|>", "<|close|>response<|sep|>", "<|close|>message<|sep|>")


def _unescape_attribute(value: str) -> str:
    return value.replace("&quot;", '"').replace("&amp;", "&")


def kimi_k3(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Kimi K3's XTML tools channel: ``<|open|>tools<|sep|>`` + ``<|open|>call tool="f" ...<|sep|>``
    elements of ``<|open|>argument key="k" type="string"<|sep|>v<|close|>argument<|sep|>`` +
    ``<|close|>tools<|sep|>``; a ``type`` other than ``string`` makes the value JSON."""
    src.i += len(K3_TOOLS_OPEN)
    calls = BlockCalls(ctx, "kimi_k3", src)

    def call(_: str) -> Read[tuple[str, str | None]]:
        m = yield from _match_run(src, _K3_CALL_ATTRIBUTES, 512)
        attributes = {} if m is None else {k: _unescape_attribute(v) for k, v in _K3_ATTRIBUTE.findall(m["attrs"])}
        name = _valid_name(attributes.get("tool", ""))
        if m is None:
            return ("the text ends inside the call" if src.eof else "unreadable call attributes"), None
        if name is None:
            return f"a call without a valid tool name (tool={attributes.get('tool', '')[:40]!r})", None
        src.i = m.end()
        header = calls.announce(name)
        if header is not None:
            yield header
        params, reason = yield from _call_params(
            src,
            calls,
            header,
            key_open='<|open|>argument key="',
            key_close='"',
            value_close="<|close|>argument<|sep|>",
            end=_K3_CALL_END,
            strip_newline=False,
            attributes=_K3_ARGUMENT_ATTRIBUTES,
            stops=(_K3_CALL, _K3_TOOLS_CLOSE),
        )
        if params is None:
            return reason, name
        yield from calls.complete(header, name, params)
        return "", name

    return (
        yield from read_special_block(
            src,
            calls,
            call,
            openers=(_K3_CALL,),
            closers=(_K3_TOOLS_CLOSE,),
            ends=(_K3_CALL_END,),
            expected=_K3_CALL,
            opened=K3_TOOLS_OPEN,
        )
    )


_K3_ARGUMENT_ATTRIBUTES: Final = re.compile(r'\s*(?:type="(?P<type>[^"]*)"\s*)?<\|sep\|>')

#: K3's marker tokens, and the spacing a detokenizer that puts spaces between special tokens
#: writes inside the markers (``<|open|> call tool="f" <|sep|>``, ``<|close|> call <|sep|>``): a
#: run of at most 32 whitespace characters right after ``<|open|>`` or ``<|close|>`` or right
#: before ``<|sep|>`` (never a value's: a value runs from ``<|sep|>`` to ``<|close|>``).
K3_OPEN: Final = "<|open|>"
K3_CLOSE: Final = "<|close|>"
_K3_SEP: Final = "<|sep|>"
_K3_SPACING: Final = re.compile(
    r"(?<=<\|open\|>)\s{1,32}(?!\s)|(?<=<\|close\|>)\s{1,32}(?!\s)|(?<!\s)\s{1,32}(?=<\|sep\|>)"
)
#: A spaced marker at the cursor: ``<|open|> NAME <|sep|>`` or ``<|close|> NAME <|sep|>``.
_K3_SPACED: Final = re.compile(r"<\|(open|close)\|>\s{0,32}(\w{1,16})\s{0,32}<\|sep\|>")
#: A tail that waits: a part of a marker token, or a whole ``<|open|>`` / ``<|close|>`` (spacing may follow).
_K3_HOLD: Final = frozenset(
    {t[:k] for t in (K3_OPEN, K3_CLOSE, _K3_SEP) for k in range(1, len(t))} | {K3_OPEN, K3_CLOSE}
)


def k3_spaced(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Kimi K3's markers written with spaces between their tokens (cursor on ``<|open|>`` or
    ``<|close|>``): ``<|open|> tools <|sep|>`` starts the tools channel, read as
    :func:`kimi_k3` reads it with the spacing inside every marker left out (values kept as
    written); the response channel's spaced markers are dropped; anything else is content."""
    token = K3_OPEN if (yield from at(src, K3_OPEN)) else K3_CLOSE
    while True:
        k = src.s.find(_K3_SEP, src.i, src.i + 96)
        if k >= 0 or src.eof or len(src.s) - src.i >= 96:
            break
        yield NEED
    m = _K3_SPACED.match(src.s, src.i, k + len(_K3_SEP) if k >= 0 else len(src.s))
    if m is None:
        return Reject(len(token))
    kind, name = m.groups()
    if kind == "open" and name == "tools":
        return (yield from _unspaced(src, ctx))
    if (kind, name) in (("open", "response"), ("close", "response"), ("close", "message")):
        src.i = m.end()
        return Done(None, tool_block=False)
    return Reject(len(token))


def _unspaced(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """:func:`kimi_k3` on the text at the cursor with the spacing inside K3's markers left out,
    handed on as it arrives (a tail the spacing rule could still change waits); positions in its
    outcome are mapped back to the text as written."""
    a = src.pos
    child = Source("", 0, False)
    removed: list[tuple[int, int]] = []  # (child position, characters left out before it, in all)
    _hand_on_unspaced(src, child, a, removed)
    gen = kimi_k3(child, ctx)
    try:
        while True:
            item = gen.send(None)
            if item is NEED or type(item) is list:
                if child.eof:  # pragma: no cover - a reader bug
                    raise RuntimeError("tool-call reader asked for text after the end")
                yield item
                _hand_on_unspaced(src, child, a, removed)
            else:
                yield item
    except StopIteration as stop:
        outcome: Outcome = stop.value

    def parent(position: int) -> int:
        k = bisect.bisect_left(removed, (position, 0))
        return a + position + (removed[k - 1][1] if k else 0)

    end = parent(child.pos if outcome.end is None else outcome.end)
    src.seek(end)
    if isinstance(outcome, Done):
        return Done(end - a, outcome.format, tool_block=outcome.tool_block)
    if isinstance(outcome, Fail):
        return type(outcome)(outcome.format, outcome.reason, end - a)
    return Reject(end - a)


def _spacing_kept(s: str, i: int, cut: int) -> int:
    """``cut`` moved back over the whitespace before it (at most 32 characters: a longer run is
    never left out, so it can go on)."""
    k = cut
    while k > i and cut - k < 33 and s[k - 1].isspace():
        k -= 1
    return k if cut - k < 33 else cut


def _hand_on_unspaced(src: Source, child: Source, a: int, removed: list[tuple[int, int]]) -> None:
    """Hand the text after the parent's cursor on to ``child`` without the spacing inside K3's
    markers, up to a tail that could still change (a part of a marker token, a token followed by
    whitespace, trailing whitespace that could come before ``<|sep|>``), all of it at the end."""
    s, i = src.s, src.i
    cut = len(s)
    if not src.eof:
        cut = _spacing_kept(s, i, cut)
        for j in range(max(i, cut - len(K3_CLOSE)), cut):
            if s[j:cut] in _K3_HOLD:
                cut = _spacing_kept(s, i, j)
                break
    total = removed[-1][1] if removed else 0
    pieces: list[str] = []
    at_, kept = i, child.end
    for m in _K3_SPACING.finditer(s, i, cut):
        pieces.append(s[at_ : m.start()])
        kept += m.start() - at_
        total += m.end() - m.start()
        removed.append((kept, total))
        at_ = m.end()
    pieces.append(s[at_:cut])
    child.feed("".join(pieces), src.eof)
    src.i = cut


# hy_v3 --------------------------------------------------------------------------------------------



def hy_body(
    src: Source,
    ctx: OfferedTools,
    *,
    opener_length: int,
    format: str = "hy_v3",
    prefix: str = "",
    suffix: str = "",
    k2: bool = False,
) -> Read[Outcome]:
    """Tencent Hy (Hunyuan) V3 and V4: ``<tool_call>NAME<tool_sep>`` (V4: without ``<tool_sep>``)
    + GLM's ``<arg_key>``/``<arg_value>`` pairs + ``</tool_call>``, repeated, then ``</tool_calls>``
    (cursor after ``<tool_calls>`` and whitespace, on ``<tool_call>``). ``prefix`` goes inside every
    tag (K2 Horizon's ``ifm|``: ``<ifm|tool_call>``, ``</ifm|arg_key>``, ...), ``suffix`` at its
    end (Hy's tokenizers: ``<tool_call:opensource>``). ``k2``: K2 Horizon's other two forms are read
    too, a call object in the call tag (``<ifm|tool_call>{"name": ..., "arguments": ...}``) and a
    type between key and value (``<ifm|arg_type>integer</ifm|arg_type>``), which converts the value
    unless the tool's schema describes the argument."""

    def tag(name: str, closing: bool = False) -> str:
        return f"<{'/' if closing else ''}{prefix}{name}{suffix}>"

    calls_end, call, call_end = tag("tool_calls", True), tag("tool_call"), tag("tool_call", True)
    calls = BlockCalls(ctx, format, src)

    def element(_: str) -> Read[tuple[str, str | None]]:
        if k2:
            yield from skip_ws(src)
            if peek(src) == "{":
                return (yield from _json_call(src, calls, call_end)), None
        a = src.pos
        if not (yield from until(src, "<", 256)):
            return "expected the arguments after the tool name", None
        written = src.text(a, src.pos)
        name = _valid_name(written)
        yield from accept(src, tag("tool_sep"))  # V3 writes it, V4 does not
        if name is None:
            return f"a call without a valid tool name ({written[:40]!r})", None
        header = calls.announce(name)
        if header is not None:
            yield header
        params, reason = yield from _call_params(
            src,
            calls,
            header,
            key_open=tag("arg_key"),
            key_close=tag("arg_key", True),
            value_open=tag("arg_value"),
            value_close=tag("arg_value", True),
            end=call_end,
            strip_newline=False,
            stops=(call, calls_end),
            type_tag=(tag("arg_type"), tag("arg_type", True)) if k2 else None,
            typed_text=_typed_text(ctx, name),
        )
        if params is None:
            return reason, name
        yield from calls.complete(header, name, params)
        return "", name

    outcome = yield from read_block(src, calls, element, openers=(call,), closers=(calls_end,), ends=(call_end,))
    if outcome is not None:
        return outcome
    return Reject(opener_length) if peek(src) else calls.failed(f"the text ends after {tag('tool_calls')}")


def _typed_text(ctx: OfferedTools, name: str) -> Callable[[str, str], bool]:
    """Whether a value of tool ``name`` written with a type stays text: a string type, or an
    argument its schema describes (the schema then converts it, as upstream lets it win)."""
    return lambda key, written: type_name(written) == "string" or ctx.schema(name, key) is not None


def _json_call(src: Source, calls: BlockCalls, call_end: str) -> Read[str]:
    """One call object up to ``call_end`` (consumed), streamed like hermes'; returns why it failed
    (``""``: it did not, or the object was recorded as a bad call)."""
    status, reason = yield from read_json_calls(src, calls, (call_end,), skip_bad=True)
    if status != ScanStatus.COMPLETE:
        return reason
    yield from skip_ws(src)
    if not (yield from accept(src, call_end)):
        return "the text ends inside the call" if not peek(src) else f"expected {call_end!r} after the call object"
    return ""


K2_HORIZON_OPENER: Final = "<ifm|tool_calls>"


def k2_horizon(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """K2 Horizon (IFM): Hy V4's elements with ``ifm|`` in every tag, each call also as a JSON call
    object or with typed values (see ``hy_body``)."""
    src.i += len(K2_HORIZON_OPENER)
    yield from skip_ws(src)
    return (
        yield from hy_body(
            src, ctx, opener_length=len(K2_HORIZON_OPENER), format="k2_horizon", prefix="ifm|", k2=True
        )
    )


HY_SUFFIXED_OPENER: Final = "<tool_calls:"
_HY_SUFFIX: Final = re.compile(r"[^\s<>]{1,64}>")


def hy_suffixed(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Hy V3/V4 with its tokenizer's suffix in every tag (``<tool_calls:opensource>``,
    ``<tool_call:opensource>``, ``</arg_value:opensource>``, ...): the suffix of the opener is
    the suffix of the block's other tags."""
    src.i += len(HY_SUFFIXED_OPENER)
    m = yield from _match_run(src, _HY_SUFFIX, 66)
    if m is None:
        return Reject(len(HY_SUFFIXED_OPENER)) if peek(src) else BlockCalls(ctx, "hy_v3", src).failed(
            f"the text ends after {HY_SUFFIXED_OPENER}"
        )
    src.i = m.end()
    opener_length = src.pos
    yield from skip_ws(src)
    return (yield from hy_body(src, ctx, opener_length=opener_length, suffix=":" + m.group()[:-1]))


# solar_open2 --------------------------------------------------------------------------------------

SOLAR_OPENER: Final = "<|tool_call:start|>"
_SOLAR_END: Final = "<|tool_call:end|>"


def solar_open2(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Upstage Solar Open 2: ``<|tool_call:start|>NAME\\n`` + ``<|tool_arg:start|>k<|tool_arg:value|>v
    <|tool_arg:end|>`` arguments + ``<|tool_call:end|>``, one block per call; values are text."""
    src.i += len(SOLAR_OPENER)
    calls = BlockCalls(ctx, "solar_open2", src)
    a = src.pos
    if not (yield from until(src, "\n", 256)):
        reason = "the text ends inside the call" if src.eof else "expected a tool name on its own line"
        return (yield from _one_call_failed(src, calls, reason, None, SOLAR_OPENER, _SOLAR_END))
    written = src.text(a, src.pos)
    name = _valid_name(written)
    src.i += 1
    if name is None:
        if "<" in written:  # no name line: the call's end is looked for from the first tag
            src.seek(a + written.index("<"))
        return (
            yield from _one_call_failed(
                src, calls, "a call without a valid tool name", None, SOLAR_OPENER, _SOLAR_END
            )
        )
    header = calls.announce(name)
    if header is not None:
        yield header
    params, reason = yield from _call_params(
        src,
        calls,
        header,
        key_open="<|tool_arg:start|>",
        key_close="<|tool_arg:value|>",
        value_close="<|tool_arg:end|>",
        end=_SOLAR_END,
        strip_newline=False,
        stops=(SOLAR_OPENER,),
        closes_block=True,
    )
    if params is None:
        return (yield from _one_call_failed(src, calls, reason, name, SOLAR_OPENER, _SOLAR_END))
    yield from calls.complete(header, name, params)
    if calls.errors:
        return Unusable("solar_open2", calls.errors[0])
    return Done(None, "solar_open2")


# minicpm5 -----------------------------------------------------------------------------------------

MINICPM_OPENER: Final = "<function name="


def minicpm5(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """MiniCPM 4/5 (XML): ``<function name="f"><param name="k">v</param></function>``, one element
    per call, values text."""
    calls = BlockCalls(ctx, "minicpm5", src)
    src.i += len(MINICPM_OPENER)
    reason, name = yield from _invokes(
        src,
        calls,
        invoke_end="</function>",
        parameter="<param name=",
        parameter_end="</param>",
        key_close=">",
        strip_newline=True,
        stops=(MINICPM_OPENER,),
        closes_block=True,
    )
    if reason:
        return (yield from _one_call_failed(src, calls, reason, name, MINICPM_OPENER, "</function>"))
    return calls.outcome()


IQUEST_OPENER: Final = "<iquest_tool_call>"


def iquest_q1(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """IQuest Q1: GLM-4.7's call body in ``<iquest_tool_call>...</iquest_tool_call>``."""
    src.i += len(IQUEST_OPENER)
    return (
        yield from glm_body(
            src,
            ctx,
            opener_length=len(IQUEST_OPENER),
            opener=IQUEST_OPENER,
            closer="</iquest_tool_call>",
            format="iquest_q1",
        )
    )


# cwm ----------------------------------------------------------------------------------------------

CWM_OPENER: Final = "<tool:"
_CWM_END: Final = "</tool>"
_CWM_LABEL: Final = re.compile(r"\s*[^\s<>]+\s*>")
#: The argument CWM's text form fills (its tools take one command line).
CWM_KEY: Final = "command"


def cwm(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Meta CWM: ``<tool: function>`` (the label is not read) + a line break + ``NAME rest`` +
    ``</tool>``, one block per call. A rest that is a JSON object followed by ``</tool>`` is the
    arguments (a ``</tool>`` inside its strings is data); any other rest is the text of the
    ``command`` argument up to the first ``</tool>``, stripped (as upstream; an error when the
    offered tool's schema has parameters but no ``command``); no rest is no argument."""
    src.i += len(CWM_OPENER)
    m = yield from _match_run(src, _CWM_LABEL)
    calls = BlockCalls(ctx, "cwm", src)
    if m is None:
        return Reject(len(CWM_OPENER)) if peek(src) else calls.failed(f"the text ends after {CWM_OPENER}")
    src.i = m.end()
    opener_length = src.pos
    yield from skip_ws(src)
    if "\n" not in src.text(opener_length, src.pos):
        # CWM writes the name on the line after the tag; "<tool: function> then ..." is prose
        return Reject(opener_length) if peek(src) else calls.failed(f"the text ends after {CWM_OPENER}")
    name = yield from read_name(src)
    if not (yield from need(src)):
        return calls.failed("the text ends inside the call")
    if not name or not (peek(src).isspace() or (yield from at(src, _CWM_END))):
        return Reject(opener_length)  # no tool name after the tag: prose that mentions it
    header = calls.announce(name)
    if header is not None:
        yield header
    yield from skip_ws(src)
    rest = src.pos
    c = peek(src)
    done = False  # the cursor is past the call's </tool>
    if c == "{":
        # a JSON object: a </tool> inside one of its strings is data, not the call's end
        scanned = yield from scan_json(src)
        if scanned.status == ScanStatus.COMPLETE:
            end = src.pos
            yield from skip_ws(src)
            if (yield from accept(src, _CWM_END)):
                ok, value = decode_value(src.text(rest, end))
                if ok and isinstance(value, dict):
                    yield from calls.complete(header, name, value)
                    return _cwm_outcome(calls)
        # no JSON object ends the call: the rest is text up to its first </tool>, which may lie
        # in what the scan read (an unclosed string, `{"a": "x</tool>`), or after it (`{ echo a; }`)
        if _CWM_END in src.text(rest, src.pos):
            if not src.give_back(rest, _CWM_END):
                return calls.failed("the rest is no JSON object, and the budget for reading it again is spent")
            done = True
    as_text = c not in ("{", "[") and _command_allowed(ctx, name)
    pieces = _Pieces(
        src,
        CWM_KEY,
        rest,
        False,
        (lambda key, text: calls.text_piece(header, key, text)) if as_text else None,
        space=True,
    )
    if not done:
        if not (yield from pieces.around(until(src, _CWM_END))):
            return calls.failed("the text ends inside the call")
        src.i += len(_CWM_END)
    text = src.text(rest, src.pos - len(_CWM_END)).rstrip()
    arguments: dict[str, Any] = {}
    if text:
        ok, value = decode_value(text) if c in ("{", "[") else (False, None)
        if ok and isinstance(value, dict):
            arguments = value
        elif not _command_allowed(ctx, name):
            return calls.failed(f"the text after the tool name is not a JSON object and {name!r} has no {CWM_KEY!r}")
        else:
            yield from calls.argument(header, CWM_KEY, text)
            arguments = {CWM_KEY: text}
    yield from calls.complete(header, name, arguments)
    return _cwm_outcome(calls)


def _cwm_outcome(calls: BlockCalls) -> Outcome:
    return Unusable("cwm", calls.errors[0]) if calls.errors else Done(None, "cwm")


def _command_allowed(ctx: OfferedTools, name: str) -> bool:
    """Whether the text form's ``command`` argument fits tool ``name``: no schema, a schema without
    parameters listed, or one that lists ``command``."""
    tool = None if ctx.tools is None else ctx.tools.get(name)
    properties = None if tool is None else tool.parameters.get("properties")
    return not properties or ctx.schema(name, CWM_KEY) is not None
