"""XML-like formats where every argument is a tagged text value: qwen3_coder, seed_oss, glm45,
glm47, minimax_m2, deepseek_v32 and step3.

Values are text, coerced to the schema's types when tools are given; a value's closing tag ends it
only where the next parameter or the call's end follows. Each format's layout and the
malformations read: ``docs/toolcall-parser.md`` ("Tagged argument values").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final, TypeVar, final

from modelplug.toolcalls._calls import Done, Error, OfferedTools, Outcome, Reject, decode_value
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._jsoncalls import BlockCalls
from modelplug.toolcalls._source import (
    NAME_RE,
    NEED,
    Read,
    Source,
    accept,
    at,
    peek,
    read_name,
    skip_ws,
    until,
    until_re,
)

__all__ = [
    "DSML_OPENER",
    "bare_function",
    "deepseek_v32",
    "glm_body",
    "minimax_m2",
    "qwen_body",
    "qwen_function",
    "seed_oss",
    "step3",
]

_FUNCTION: Final = "<function="
_FUNCTION_END: Final = "</function>"
_QWEN_VALUE_ENDS: Final = ("</parameter>", "<parameter=", "</function>")
_QWEN_VALUE_END: Final = re.compile("|".join(_QWEN_VALUE_ENDS))
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
) -> Read[tuple[dict[str, Any] | None, str]]:
    """Read ``key_open K key_close [value_open] V value_close`` pairs up to ``end`` (consumed).

    ``on_value(key, value)``: events to yield as soon as a parameter is complete (its streamed part);
    ``on_piece(key, text)``: events for the next piece of a value while it is written (text that is
    certain to be part of it: not the layout newlines that are stripped).
    ``attributes``: a pattern that must follow ``key_close`` (DSML's `` string="false">``); a
    ``string`` group other than ``true`` makes the value JSON, decoded when it ends.
    """
    params: dict[str, Any] = {}
    while True:
        yield from skip_ws(src)
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
        is_text = True
        if attributes is not None:
            m = yield from _match_run(src, attributes)
            if m is None:
                return None, f"parameter {key!r}: unreadable attributes"
            src.i = m.end()
            is_text = m.group("string") in (None, "true")
        if value_open is not None:
            yield from skip_ws(src)
            # GLM-4.7 sometimes leaves the value opener out (``</arg_key>v</arg_value>``): the
            # closing tag still delimits the value, so it is read as if the opener were there
            if not (yield from accept(src, value_open)) and not peek(src):
                return None, "the text ends inside the call"
        a = src.pos
        pieces = _Pieces(src, key, a, strip_newline, on_piece if is_text else None)
        while True:
            if qwen:
                m = yield from pieces.around(until_re(src, _QWEN_VALUE_END, 12, _QWEN_VALUE_ENDS))
                found = m is not None
                closed = m is not None and m.group() == value_close
            else:
                found = closed = yield from pieces.around(until(src, value_close))
            if not found:
                return None, "the text ends inside a parameter value"
            b = src.pos
            if not closed:
                break  # qwen3_coder: the next parameter or the function's end, without </parameter>
            # a closing tag ends the value only where the next structural token follows (or the
            # end of the text); elsewhere it is part of the value ("</parameter>" written to a file)
            src.i += len(value_close)
            yield from skip_ws(src)
            if not peek(src) or (yield from at(src, key_open)) or (yield from at(src, end)):
                break
        value = src.text(a, b)
        params[key] = _strip_newline(value) if strip_newline else value
        if not is_text:
            ok, decoded = decode_value(params[key].strip())
            if not ok:
                return None, f'parameter {key!r} (string="false") is not valid JSON'
            params[key] = decoded
        if on_value is not None:
            yield from on_value(key, params[key])


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

    __slots__ = ("done", "key", "lead", "on_piece", "src", "strip")

    def __init__(
        self, src: Source, key: str, start: int, strip: bool, on_piece: Callable[[str, str], list[object]] | None
    ) -> None:
        self.src = src
        self.key = key
        self.done = start  # block position of the first value character not handed out
        self.strip = strip
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


# qwen3_coder / seed_oss ---------------------------------------------------------------------------

_SKIPPED: Final = "skipped"


def qwen_function(src: Source, calls: BlockCalls) -> Read[tuple[str, str | None]]:
    """Read ``<function=NAME>`` parameters ``</function>`` (cursor on the tag).

    Returns ``""`` when done, :data:`_SKIPPED` for a malformed tag that was skipped, else why it
    failed; and the tool name when it was read.
    """
    src.i += len(_FUNCTION)
    a = src.pos
    m = yield from until_re(src, _QWEN_NAME_END, 1)
    name = _valid_name(src.text(a, src.pos)) if m is not None and m.group() == ">" else None
    if name is None:  # e.g. "<function=name\n": an attempted call that cannot be used; skip to its end
        written = src.text(a, src.pos).strip()
        if (yield from until(src, _FUNCTION_END)):
            src.i += len(_FUNCTION_END)
            calls.bad(f"malformed tag <function={written[:40]}: the name must be a tool name closed by '>'")
            return _SKIPPED, None
        return "the text ends inside a malformed <function=...> tag", None
    src.i += 1
    header = calls.announce(name)
    if header is not None:
        yield header
    params, reason = yield from _params(
        src,
        key_open="<parameter=",
        key_close=">",
        value_close="</parameter>",
        end=_FUNCTION_END,
        qwen=True,
        on_value=lambda key, value: calls.argument(header, key, value),
        on_piece=lambda key, text: calls.text_piece(header, key, text),
    )
    if params is None:
        return reason, name
    yield from calls.complete(header, name, params)
    return "", name


def qwen_body(src: Source, ctx: OfferedTools, format: str, *, closer: str | None, opener_length: int) -> Read[Outcome]:
    """``<function=...>`` blocks up to ``closer`` (cursor after the opener and whitespace)."""
    calls = BlockCalls(ctx, format, src)
    read_any = False
    end: int | None = None
    while True:
        yield from skip_ws(src)
        if closer is not None and read_any and (yield from accept(src, closer)):
            end = None
            break
        if not (yield from at(src, _FUNCTION)):
            if not read_any:
                if peek(src):
                    return Reject(opener_length)
                return calls.failed("the text ends before a <function=...> tag")
            break  # the block ends at the last function (closing tag missing)
        outcome, name = yield from qwen_function(src, calls)
        # a function that cannot be read never sinks the ones after it: on to the next
        if outcome not in ("", _SKIPPED) and not (
            yield from calls.skip_failed(outcome, name, _FUNCTION_END, ended=outcome.startswith("the text ends"))
        ):
            return calls.failed(calls.errors[-1])
        read_any = True
        end = src.pos
        if closer is None:
            break
    if calls.errors:
        return Error(format, calls.errors[0], end)
    return Done(end, format)


def seed_oss(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Seed-OSS: ``<seed:tool_call>`` + qwen3_coder functions + ``</seed:tool_call>``."""
    opener = "<seed:tool_call>"
    src.i += len(opener)
    return (yield from qwen_body(src, ctx, "seed_oss", closer="</seed:tool_call>", opener_length=len(opener)))


def bare_function(format: str) -> Reader:
    """qwen3_coder's ``<function=...>`` written without the ``<tool_call>`` wrapper."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        calls = BlockCalls(ctx, format, src)
        outcome, _ = yield from qwen_function(src, calls)
        if outcome == _SKIPPED:
            return calls.failed(calls.errors[0])
        if outcome:
            if not calls.emitted and not src.eof and not outcome.startswith("the text ends"):
                return Reject(len(_FUNCTION))
            return calls.failed(outcome)
        if calls.errors:
            return Error(format, calls.errors[0])
        return Done(None, format)

    return read


# glm45 / glm47 ------------------------------------------------------------------------------------


def glm_body(src: Source, ctx: OfferedTools, *, opener_length: int) -> Read[Outcome]:
    """GLM: ``NAME`` then ``<arg_key>``/``<arg_value>`` pairs then ``</tool_call>`` (cursor on NAME,
    which GLM writes right after the tag: a space there is prose, as in "the <tool_call> tag")."""
    if " " in src.text(opener_length, src.pos):
        return Reject(opener_length)
    name = yield from read_name(src)
    if not name:
        return Reject(opener_length)
    name_end = src.pos
    yield from skip_ws(src)
    format = "glm45" if "\n" in src.text(name_end, src.pos) else "glm47"
    calls = BlockCalls(ctx, format, src)
    if not ((yield from at(src, "<arg_key>")) or (yield from at(src, "</tool_call>"))):
        return Reject(opener_length) if peek(src) else calls.failed("the text ends inside the call")
    header = calls.announce(name)
    if header is not None:
        yield header
    params, reason = yield from _params(
        src,
        key_open="<arg_key>",
        key_close="</arg_key>",
        value_open="<arg_value>",
        value_close="</arg_value>",
        end="</tool_call>",
        strip_newline=False,
        on_value=lambda key, value: calls.argument(header, key, value),
        on_piece=lambda key, text: calls.text_piece(header, key, text),
    )
    if params is None:
        return calls.failed(reason)
    yield from calls.complete(header, name, params)
    if calls.errors:
        return Error(format, calls.errors[0])
    return Done(None, format)


# minimax_m2 ---------------------------------------------------------------------------------------


def _invokes(
    src: Source,
    calls: BlockCalls,
    *,
    invoke: str,
    invoke_end: str,
    parameter: str,
    parameter_end: str,
    key_close: str,
    strip_newline: bool,
    attributes: re.Pattern[str] | None = None,
    parameter_key_close: str | None = None,
) -> Read[tuple[str, str | None]]:
    """One ``<invoke name="f">`` parameters ``</invoke>`` (cursor on the tag); returns why it failed
    (``""``: it did not) and the tool name when it was read."""
    if not (yield from accept(src, invoke)):
        return ("the text ends inside the call" if not peek(src) else f"expected {invoke!r}"), None
    a = src.pos
    if not (yield from until(src, key_close, 256)):
        return ("the text ends inside the call" if src.eof else "tool name not closed"), None
    written = src.text(a, src.pos)
    name = _valid_name(written)
    src.i += len(key_close)
    if name is None:
        return f"bad tool name {written[:40]!r}", None
    header = calls.announce(name)
    if header is not None:
        yield header
    params, reason = yield from _params(
        src,
        key_open=parameter,
        key_close=parameter_key_close or key_close,
        value_close=parameter_end,
        end=invoke_end,
        strip_newline=strip_newline,
        on_value=lambda key, value: calls.argument(header, key, value),
        on_piece=lambda key, text: calls.text_piece(header, key, text),
        attributes=attributes,
    )
    if params is None:
        return reason, name
    yield from calls.complete(header, name, params)
    return "", name


def _invoke_block(
    format: str, opener: str, closer: str, prefix: str, *, attributes: re.Pattern[str] | None = None
) -> Reader:
    """``opener`` + ``<{prefix}invoke name="f">`` elements + ``closer`` (MiniMax-M2, DSML)."""
    invoke = f"<{prefix}invoke"

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(opener)
        calls = BlockCalls(ctx, format, src)
        count = 0
        while True:
            yield from skip_ws(src)
            if count and (yield from accept(src, closer)):
                break
            if not (yield from at(src, invoke)):
                if count == 0 and peek(src):
                    return Reject(len(opener))
                if count == 0:
                    return calls.failed(f"the text ends after {opener}")
                break
            reason, name = yield from _invokes(
                src,
                calls,
                invoke=f"<{prefix}invoke name=",
                invoke_end=f"</{prefix}invoke>",
                parameter=f"<{prefix}parameter name=" + ('"' if attributes is not None else ""),
                parameter_end=f"</{prefix}parameter>",
                key_close=">",
                strip_newline=attributes is None,
                attributes=attributes,
                parameter_key_close='"' if attributes is not None else None,
            )
            # a call that cannot be read never sinks the ones after it: on to the next invoke
            ended = reason.startswith("the text ends")
            if reason and not (yield from calls.skip_failed(reason, name, f"</{prefix}invoke>", ended=ended)):
                return calls.failed(calls.errors[-1])
            count += 1
        if calls.errors:
            return Error(format, calls.errors[0])
        return Done(None, format)

    return read


#: MiniMax-M2: ``<minimax:tool_call>`` + ``<invoke>`` elements + ``</minimax:tool_call>``.
minimax_m2: Final = _invoke_block("minimax_m2", "<minimax:tool_call>", "</minimax:tool_call>", "")

DSML_OPENER: Final = "<｜DSML｜function_calls>"
#: DeepSeek-V3.2's DSML: ``<｜DSML｜function_calls>`` + ``<｜DSML｜invoke name="f">`` elements whose
#: ``<｜DSML｜parameter name="k" string="true">`` values are text (``string="false"``: JSON).
deepseek_v32: Final = _invoke_block(
    "deepseek_v32",
    DSML_OPENER,
    "</｜DSML｜function_calls>",
    "｜DSML｜",
    attributes=re.compile(r'\s*(?:string="(?P<string>[a-z]*)"\s*)?>'),
)


# step3 --------------------------------------------------------------------------------------------

_STEP_CALLS_BEGIN: Final = "<｜tool_calls_begin｜>"
_STEP_CALLS_END: Final = "<｜tool_calls_end｜>"
_STEP_CALL_BEGIN: Final = "<｜tool_call_begin｜>"
_STEP_CALL_END: Final = "<｜tool_call_end｜>"
_STEP_SEP: Final = "<｜tool_sep｜>"
_STEP_INVOKE: Final = '<steptml:invoke name="'


def step3(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Step-3: special-token call list around ``<steptml:invoke>`` elements."""
    src.i += len(_STEP_CALLS_BEGIN)
    calls = BlockCalls(ctx, "step3", src)
    count = 0
    end: int | None = None
    while True:
        yield from skip_ws(src)
        if (yield from accept(src, _STEP_CALLS_END)):
            end = None
            break
        # the short form leaves out <｜tool_call_begin｜>function<｜tool_sep｜> (or the type and
        # separator only): the invoke element alone is unambiguous
        short = yield from at(src, _STEP_INVOKE)
        if not short and not (yield from accept(src, _STEP_CALL_BEGIN)):
            if count == 0:
                reason = f"expected {_STEP_CALL_BEGIN}" if peek(src) else f"the text ends after {_STEP_CALLS_BEGIN}"
                return (yield from calls.failed_through(_STEP_CALLS_END, reason))
            break
        if not short:
            yield from skip_ws(src)
            short = yield from at(src, _STEP_INVOKE)
        if not short and not (yield from until(src, _STEP_SEP, 64)):
            return (yield from calls.failed_through(_STEP_CALLS_END, "expected <｜tool_sep｜>"))
        if not short:
            src.i += len(_STEP_SEP)
        if not (yield from until(src, _STEP_INVOKE, 256)):
            return (yield from calls.failed_through(_STEP_CALLS_END, "expected <steptml:invoke>"))
        reason, name = yield from _invokes(
            src,
            calls,
            invoke=_STEP_INVOKE,
            invoke_end="</steptml:invoke>",
            parameter='<steptml:parameter name="',
            parameter_end="</steptml:parameter>",
            key_close='">',
            strip_newline=False,
        )
        if reason and not (
            yield from calls.skip_failed(reason, name, "</steptml:invoke>", ended=reason.startswith("the text ends"))
        ):
            return (yield from calls.failed_through(_STEP_CALLS_END, calls.errors[-1]))
        yield from skip_ws(src)
        yield from accept(src, _STEP_CALL_END)
        count += 1
        end = src.pos
    if calls.errors:
        return Error("step3", calls.errors[0], end)
    return Done(end, "step3")
