"""Kimi K2's special-token call sections (Moonshot Kimi-K2; vLLM ``kimi_k2``)::

    <|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0
    <|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>

The call id (``functions.get_weather:0``) is kept as the call's id; the name is the part between
the optional ``functions.`` and ``:<index>``. A call whose id has another shape is read by its tool
part (or the one offered tool it names), else it is an error; an unreadable call never sinks the
others (``_blocks``). Some checkpoints write ``tool_call_section`` (singular). Markers inside JSON strings are data.
"""

from __future__ import annotations

import re
from typing import Final

from modelplug.toolcalls._blocks import read_special_block
from modelplug.toolcalls._calls import OfferedTools, Outcome
from modelplug.toolcalls._jsoncalls import BlockCalls, read_json_arguments
from modelplug.toolcalls._scan import ScanStatus
from modelplug.toolcalls._source import Read, Source, accept, skip_ws, until

__all__ = ["SECTION_BEGIN", "kimi_k2"]

SECTION_BEGIN: Final = ("<|tool_calls_section_begin|>", "<|tool_call_section_begin|>")
_SECTION_END: Final = ("<|tool_calls_section_end|>", "<|tool_call_section_end|>")
_CALL_BEGIN: Final = "<|tool_call_begin|>"
_ARGUMENTS: Final = "<|tool_call_argument_begin|>"
_CALL_END: Final = "<|tool_call_end|>"
#: A call id's structure: an optional ``functions.`` namespace, the tool part, then an index
#: (``:0``, ``:abc``, ``:0:1`` or ``.0``); group 1 is the namespace, group 2 the tool part, group 3 the index.
_ID: Final = re.compile(r"(functions\.)?(.*?)(:.*|\.\d+)?", re.DOTALL)
#: A tool part that is a name (as tool names are written: letters, digits, ``_ - . /``).
_TOOL_NAME: Final = re.compile(r"[A-Za-z_][\w.\-/]*")


def _name_of(call_id: str, ctx: OfferedTools) -> str:
    """The tool name in a Kimi call id, read by the id's structure: ``functions.NAME:INDEX`` as
    the model writes it, or with only one of the namespace and the index (``NAME:0``,
    ``functions.NAME``, ``functions.NAME.0``), whatever the index looks like (``:abc``, ``:0:1``);
    the name is the tool part between them. An id with neither (``get_weather``, ``call_abc123``)
    names the offered tool it equals. ``""`` when no name can be read: the tool part is not a name
    (``functions.get weather:0``), or a bare id is not an offered tool (the call is then an error
    naming the id). Never a tool the id merely contains."""
    m = _ID.fullmatch(call_id)
    assert m is not None  # every string has this shape
    namespace, part, index = m.group(1), m.group(2), m.group(3)
    if namespace is None and index is None:  # no structure: only an offered tool's exact name
        return part if ctx.tools is not None and part in ctx.tools else ""
    return part if _TOOL_NAME.fullmatch(part) else ""


def kimi_k2(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Read a Kimi K2 call section (cursor on its opening token)."""
    src.i += len(SECTION_BEGIN[0] if src.s.startswith(SECTION_BEGIN[0], src.i) else SECTION_BEGIN[1])
    calls = BlockCalls(ctx, "kimi_k2", src)

    def call(_: str) -> Read[tuple[str, str | None]]:
        a = src.pos
        if not (yield from until(src, _ARGUMENTS, 256)):
            return ("the text ends inside the call" if src.eof else f"expected {_ARGUMENTS}"), None
        call_id = src.text(a, src.pos).strip()
        src.i += len(_ARGUMENTS)
        name = _name_of(call_id, ctx)
        header = calls.announce(name, call_id) if name else None
        if header is not None:
            yield header
        since = src.pos
        status, arguments, reason = yield from read_json_arguments(src, (_CALL_END,), calls, header)
        if status != ScanStatus.COMPLETE or arguments is None:
            src.give_back(since, _CALL_END)  # an unclosed string ends at the call's end
            return reason, name or None
        yield from skip_ws(src)
        yield from accept(src, _CALL_END)
        if not name:
            return f"no tool name can be read from the call id {call_id[:60]!r}", None
        yield from calls.complete(header, name, arguments)
        return "", name

    return (
        yield from read_special_block(
            src, calls, call,
            openers=(_CALL_BEGIN,), closers=_SECTION_END, ends=(_CALL_END,),
            expected=_CALL_BEGIN, opened="the section start",
        )
    )
