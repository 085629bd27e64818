"""DeepSeek's special-token call lists.

- **deepseek_v3** (DeepSeek-V3 / R1-0528; vLLM ``deepseek_v3``)::

      <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather
      ```json
      {"city": "Paris"}
      ```<｜tool▁call▁end｜><｜tool▁calls▁end｜>

- **deepseek_v31** (DeepSeek-V3.1; vLLM ``deepseek_v31``): the name before the separator and bare
  JSON after it: ``<｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}<｜tool▁call▁end｜>``.

The tokens use the full-width bar ``｜`` and ``▁``. Text after the list is content; an unreadable
call never sinks the others (``_blocks``).
"""

from __future__ import annotations

import re
from typing import Final

from modelplug.toolcalls._blocks import read_special_block
from modelplug.toolcalls._calls import OfferedTools, Outcome
from modelplug.toolcalls._jsoncalls import BlockCalls, read_json_arguments
from modelplug.toolcalls._scan import ScanStatus
from modelplug.toolcalls._source import NAME_RE, Read, Source, accept, need, peek, read_run, skip_ws, until

__all__ = ["CALLS_BEGIN", "deepseek"]

CALLS_BEGIN: Final = "<｜tool▁calls▁begin｜>"
_CALLS_END: Final = "<｜tool▁calls▁end｜>"
_CALL_BEGIN: Final = "<｜tool▁call▁begin｜>"
_CALL_END: Final = "<｜tool▁call▁end｜>"
_SEP: Final = "<｜tool▁sep｜>"
#: V3's name: the text after the separator up to its line's end, the fence or the arguments.
_NAME_LINE: Final = re.compile(r"[^\n`{]*")


def deepseek(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Read a DeepSeek V3 or V3.1 call list (cursor on ``<｜tool▁calls▁begin｜>``)."""
    src.i += len(CALLS_BEGIN)
    calls = BlockCalls(ctx, "deepseek_v3", src)

    def call(_: str) -> Read[tuple[str, str | None]]:
        a = src.pos
        if not (yield from until(src, _SEP, 256)):
            return ("the text ends inside the call" if src.eof else f"expected {_SEP}"), None
        first = src.text(a, src.pos).strip()
        src.i += len(_SEP)
        yield from need(src)
        fenced = False
        if first == "function" and peek(src) != "{":
            calls.format = "deepseek_v3"
            name = ((yield from read_run(src, _NAME_LINE, 256)) or "\ufffd").strip()  # too long: no name
            yield from skip_ws(src)
            if (yield from accept(src, "```")):
                fenced = True
                yield from accept(src, "json")
        else:
            calls.format = "deepseek_v31"
            name = first
        named = NAME_RE.fullmatch(name) is not None
        header = calls.announce(name) if named else None
        if header is not None:
            yield header
        # the arguments are read also after a name that is none: the call ends after its JSON
        # (a closer inside one of its strings is data), not at the first closer in the text
        since = src.pos
        status, arguments, reason = yield from read_json_arguments(src, (_CALL_END,), calls, header)
        if status != ScanStatus.COMPLETE or arguments is None:
            src.give_back(since, _CALL_END)  # an unclosed string ends at the call's end
        if not named:
            return f"expected a tool name, got {name[:40]!r}", None
        if status != ScanStatus.COMPLETE or arguments is None:
            return reason, name
        if fenced:
            yield from skip_ws(src)
            yield from accept(src, "```")
        yield from skip_ws(src)
        yield from accept(src, _CALL_END)
        yield from calls.complete(header, name, arguments)
        return "", name

    return (
        yield from read_special_block(
            src, calls, call,
            openers=(_CALL_BEGIN,), closers=(_CALLS_END,), ends=(_CALL_END,),
            expected=_CALL_BEGIN, opened=CALLS_BEGIN,
        )
    )
