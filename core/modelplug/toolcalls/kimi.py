"""Kimi K2's special-token call sections (Moonshot Kimi-K2; vLLM ``kimi_k2``)::

    <|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0
    <|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>

The call id (``functions.get_weather:0``) is kept as the call's id; the name is the part between
the optional ``functions.`` and ``:<index>``. A call whose id does not have that shape is skipped.
Some checkpoints write ``tool_call_section`` (singular). Markers inside JSON strings are data.
"""

from __future__ import annotations

import re
from typing import Final

from modelplug.toolcalls._calls import Ctx, Done, Error, Outcome
from modelplug.toolcalls._jsoncalls import BlockCalls, read_json_arguments
from modelplug.toolcalls._scan import OK
from modelplug.toolcalls._source import Read, Source, accept, peek, skip_ws, until

__all__ = ["SECTION_BEGIN", "kimi_k2"]

SECTION_BEGIN: Final = ("<|tool_calls_section_begin|>", "<|tool_call_section_begin|>")
_SECTION_END: Final = ("<|tool_calls_section_end|>", "<|tool_call_section_end|>")
_CALL_BEGIN: Final = "<|tool_call_begin|>"
_ARGUMENTS: Final = "<|tool_call_argument_begin|>"
_CALL_END: Final = "<|tool_call_end|>"
_ID: Final = re.compile(r"(?:functions\.)?([A-Za-z_][\w.\-/]*):\d+")


def kimi_k2(src: Source, ctx: Ctx) -> Read[Outcome]:
    """Read a Kimi K2 call section (cursor on its opening token)."""
    src.i += len(SECTION_BEGIN[0] if src.s.startswith(SECTION_BEGIN[0], src.i) else SECTION_BEGIN[1])
    calls = BlockCalls(ctx, "kimi_k2", src)
    count = 0
    end: int | None = None
    while True:
        yield from skip_ws(src)
        if (yield from accept(src, _SECTION_END[0])) or (yield from accept(src, _SECTION_END[1])):
            end = None
            break
        if not (yield from accept(src, _CALL_BEGIN)):
            if count == 0:
                return (
                    yield from calls.failed_through(
                        _SECTION_END[0],
                        f"expected {_CALL_BEGIN}" if peek(src) else "the text ends after the section start",
                    )
                )
            break
        a = src.pos
        if not (yield from until(src, _ARGUMENTS, 256)):
            return (
                yield from calls.failed_through(
                    _SECTION_END[0],
                    "expected <|tool_call_argument_begin|>" if not src.eof else "the text ends inside the call",
                )
            )
        call_id = src.text(a, src.pos).strip()
        src.i += len(_ARGUMENTS)
        m = _ID.fullmatch(call_id)
        header = calls.announce(m.group(1), call_id) if m is not None else None
        if header is not None:
            yield header
        status, arguments, reason = yield from read_json_arguments(src, (_CALL_END,))
        if status != OK or arguments is None:
            return (yield from calls.failed_through(_SECTION_END[0], reason))
        yield from skip_ws(src)
        yield from accept(src, _CALL_END)
        if m is not None:  # a call with a malformed id is skipped
            yield from calls.complete(header, m.group(1), arguments)
        count += 1
        end = src.pos
    if calls.errors:
        return Error("kimi_k2", calls.errors[0], end)
    return Done(end, "kimi_k2")
