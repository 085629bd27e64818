"""Mistral's ``[TOOL_CALLS]`` formats (vLLM ``mistral``), also used by xLAM.

- before tokenizer v11: ``[TOOL_CALLS] [{"name": "f", "arguments": {...}}, ...]``, a JSON list (or
  a single object) after one marker;
- v11 and later: ``[TOOL_CALLS]f{"a": 1}`` (the control tokens rendered as text or skipped), or with
  the control tokens kept: ``[TOOL_CALLS]f[ARGS]{"a": 1}`` and
  ``[TOOL_CALLS]f[CALL_ID]abcDEF123[ARGS]{"a": 1}``, one marker per call. The ``[CALL_ID]`` is kept
  as the call's id.

The calls end with their JSON; whatever follows is content. A marker with nothing but whitespace
after it is dropped (no call).
"""

from __future__ import annotations

import re
from typing import Final

from modelplug.toolcalls._calls import Done, OfferedTools, Outcome, Reject, Unusable
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._jsoncalls import BlockCalls, read_json_arguments
from modelplug.toolcalls._scan import ScanStatus
from modelplug.toolcalls._source import Read, Source, accept, peek, read_name, read_run, skip_ws
from modelplug.toolcalls.json_tags import json_payload

__all__ = ["MARKER", "mistral"]

MARKER: Final = "[TOOL_CALLS]"
_ARGS: Final = "[ARGS]"
_CALL_ID: Final = "[CALL_ID]"
_ID_RUN: Final = re.compile(r"[A-Za-z0-9_\-]*")


def mistral(format: str = "mistral") -> Reader:
    """A reader for ``[TOOL_CALLS]`` calls, reporting them as ``format``."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(MARKER)
        yield from skip_ws(src)
        c = peek(src)
        calls = BlockCalls(ctx, format, src)
        if not c:
            return Done(None, tool_block=False)  # a marker with nothing after it: no call, dropped
        if c in "{[":
            return (yield from json_payload(src, ctx, format, closer=None, several=False))
        name = yield from read_name(src)
        if not name:
            return Reject(len(MARKER))
        call_id = None
        marked = False
        if (yield from accept(src, _CALL_ID)):
            call_id = yield from read_run(src, _ID_RUN, 64)
            marked = True
        if (yield from accept(src, _ARGS)):
            marked = True
        yield from skip_ws(src)
        if peek(src) != "{":
            if marked or not peek(src):
                return calls.failed("expected the JSON arguments of " + repr(name))
            return Reject(len(MARKER))
        header = calls.announce(name, call_id or None)
        if header is not None:
            yield header
        since = src.pos
        status, arguments, reason = yield from read_json_arguments(src, (), calls, header)
        if status != ScanStatus.COMPLETE or arguments is None:
            src.give_back(since, MARKER, keep=True)  # an unclosed string ends at the next call
            return calls.failed(reason)
        yield from calls.complete(header, name, arguments)
        if calls.errors:
            return Unusable(format, calls.errors[0])
        return Done(None, format)

    return read
