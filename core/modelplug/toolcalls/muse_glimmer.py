"""MuseGlimmer's channel-scoped messages with ATEM invokes (vLLM ``muse_glimmer``)::

    <|start|>assistant to=self<|message|>The user wants the weather.<|eom|>
    <|start|>assistant to=get_weather<|message|><atem:function_calls>
    <atem:invoke name="get_weather"><atem:parameter name="city">Paris</atem:parameter></atem:invoke>
    </atem:function_calls><|eom|>
    <|start|>assistant to=user<|message|>It is sunny.<|eot|>

A message to ``self`` is reasoning, one to ``user`` (or with no recipient) content, one to any other
recipient a tool message whose ATEM invokes are the calls (a JSON object instead is the arguments
of a call to the recipient, as in harmony). The first message of a turn has no ``<|start|>assistant``
(the prompt ends with it): ``to=self<|message|>``. Read by the channel reader
(:mod:`~modelplug.toolcalls.channels`).
"""

from __future__ import annotations

import re
from typing import Final

from modelplug.toolcalls._calls import Call, Fail, Header, OfferedTools, Outcome, Reject
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._source import Read, Source, at, read_run, skip_ws
from modelplug.toolcalls.channels import (
    CALL,
    CONTENT,
    REASONING,
    Channels,
    Route,
    bounded,
    message_body,
    message_reader,
    skip_body,
)
from modelplug.toolcalls.harmony import CLOSERS as HARMONY_CLOSERS
from modelplug.toolcalls.harmony import MESSAGE, harmony_route, json_arguments
from modelplug.toolcalls.harmony import OPENERS as HARMONY_OPENERS
from modelplug.toolcalls.xml_tags import ATEM_OPENER, atem

__all__ = [
    "ATEM_OPENER",
    "CLOSERS",
    "HARMONY_OR_MUSE",
    "MUSE_GLIMMER",
    "OPENERS",
    "RECIPIENT",
    "atem",
    "bare_recipient",
    "collapsed",
    "harmony_or_muse",
    "muse_glimmer",
    "muse_route",
    "recipient_reader",
    "tool_message",
]

START: Final = "<|start|>"
CLOSERS: Final = ("<|eom|>", "<|eot|>")
#: The openers of a message: a full header, a bare ``<|message|>``.
OPENERS: Final = (START, MESSAGE)
#: The start of a turn's first header, whose ``<|start|>assistant`` was in the prompt.
RECIPIENT: Final = "to="
_HEADER: Final = re.compile(r"(?:<\|start\|>\s*assistant)?[^\S\n]*(?:to=(?P<to>[A-Za-z0-9_.\-]+))?[^\S\n]*")
_NAME_RUN: Final = re.compile(r"[A-Za-z0-9_.\-]*")
_SPACES: Final = re.compile(r"[^\S\n]*")


def muse_route(header: str, end: str) -> Route | None:
    """A MuseGlimmer header's route: ``to=self`` is reasoning, ``to=user`` or no recipient content,
    any other recipient a call; None for text that is not such a header."""
    m = _HEADER.fullmatch(header)
    if m is None:
        return None
    to = m.group("to")
    if to == "self":
        return Route(REASONING)
    if to is None or to == "user":
        return Route(CONTENT)
    return Route(CALL, to)


def tool_message(src: Source, ctx: OfferedTools, ch: Channels, route: Route) -> Read[Outcome]:
    """The body of a message to a tool: an ATEM block, whose invokes are the calls (one that cannot
    be read never sinks the others), read as if the text ended at the message's end; else
    harmony's JSON arguments of a call to the recipient. What follows the block in the body is
    read as usual (whitespace, the end token, dropped; anything else, content)."""
    yield from skip_ws(src)
    if not (yield from at(src, ATEM_OPENER)):
        return (yield from json_arguments(src, ctx, ch, route))
    outcome = yield from bounded(src, ctx, ch, collapsed)
    if isinstance(outcome, Reject):  # an ATEM block with no invoke in it: the message is broken
        yield from skip_body(src, ch)
        return Fail("muse_glimmer", f"the message to {route.name!r} holds no <atem:invoke>")
    return outcome


def collapsed(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """An ATEM block (cursor on ``<atem:function_calls>``) whose invoke named ``f.f`` is a call to
    ``f`` when ``f`` was offered and ``f.f`` was not: the chat template writes a bare tool name as
    the recipient ``f.*``, so the model doubles it."""
    if not ctx.tools:
        return (yield from atem(src, ctx))
    doubled = {f"{name}.{name}": name for name in ctx.tools if f"{name}.{name}" not in ctx.tools}
    inner = atem(src, OfferedTools({**ctx.tools, **{d: ctx.tools[name] for d, name in doubled.items()}}))
    try:
        while True:
            item = inner.send(None)
            for event in item if type(item) is list else (item,):
                if isinstance(event, Header | Call) and event.name in doubled:
                    event.name = doubled[event.name]
            yield item
    except StopIteration as stop:
        outcome: Outcome = stop.value
        return outcome


#: MuseGlimmer's messages.
MUSE_GLIMMER: Final = Channels(
    "muse_glimmer",
    header_ends=(MESSAGE,),
    closers=CLOSERS,
    boundaries=OPENERS,
    route=muse_route,
    call_body=tool_message,
)

#: The reader of one MuseGlimmer message (cursor on ``<|start|>`` or ``<|message|>``).
muse_glimmer: Final = message_reader(MUSE_GLIMMER)


def recipient_reader(*, calls: bool = True) -> Reader:
    """The reader of a turn's first header, ``to=NAME<|message|>`` (cursor on ``to=``); anything
    else is content. ``calls`` as for :func:`~modelplug.toolcalls.channels.message_reader`."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(RECIPIENT)
        name = yield from read_run(src, _NAME_RUN)
        if not name:
            return Reject(len(RECIPIENT))
        yield from read_run(src, _SPACES)
        if not (yield from at(src, MESSAGE)):
            return Reject(len(RECIPIENT))
        route = muse_route(src.text(0, src.pos), MESSAGE)
        assert route is not None  # the header was just matched
        src.i += len(MESSAGE)
        return (yield from message_body(src, ctx, MUSE_GLIMMER, route, calls=calls))

    read.channel = True  # type: ignore[attr-defined]  # see Engine.channels
    return read


#: The reader of a turn's first header (cursor on ``to=``).
bare_recipient: Final = recipient_reader()


def _either_route(header: str, end: str) -> Route | None:
    """Harmony's route for a header with a channel, MuseGlimmer's for one without."""
    if "<|channel|>" in header:
        return harmony_route(header, end)
    route = muse_route(header, end)
    if route is not None and route.name is not None:
        route.name = route.name.removeprefix("functions.")
    return route


#: Format detection: harmony's and MuseGlimmer's messages share ``<|start|>`` and ``<|message|>``,
#: so one reader takes both (a header with a channel routes as harmony's, else as MuseGlimmer's;
#: a tool message's body is an ATEM block or JSON arguments in either).
HARMONY_OR_MUSE: Final = Channels(
    "harmony",
    header_ends=(MESSAGE,),
    closers=(*HARMONY_CLOSERS, *CLOSERS),
    boundaries=(*HARMONY_OPENERS, MESSAGE),
    route=_either_route,
    call_body=tool_message,
)

#: The detection reader of ``<|start|>``, ``<|channel|>`` and ``<|message|>``.
harmony_or_muse: Final = message_reader(HARMONY_OR_MUSE)
