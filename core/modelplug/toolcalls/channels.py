"""Channel formats: a reply is a sequence of messages, each a header that says where its body goes
(reasoning, content, or a tool) and a body that runs to an end token or to the next message.

One reader (:func:`message_reader`) serves every channel format; a :class:`Channels` value gives a
format's tokens, how its headers route a body, and how a call's body is read. Harmony (gpt-oss),
MuseGlimmer and Inkling are built on it: ``docs/toolcall-parser.md`` ("Channel formats").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, final

from modelplug.toolcalls._calls import Done, Fail, OfferedTools, Outcome, Reasoning, Reject, Text
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._jsoncalls import BlockCalls
from modelplug.toolcalls._source import NEED, Read, Source, alternation

__all__ = [
    "CALL",
    "CONTENT",
    "REASONING",
    "CallBody",
    "Channels",
    "Route",
    "bounded",
    "message_body",
    "message_reader",
    "read_body",
    "skip_body",
    "stream_body",
]

#: A recipient that can name a tool (``get_weather``, ``browser.search``, ``mcp:fs/read``): no
#: markup, quotes, brackets or spaces, not empty.
_TOOL_NAME: Final = re.compile(r"[\w.:/-]+")

#: Where a message's body goes.
CONTENT: Final = "content"
REASONING: Final = "reasoning"
CALL: Final = "call"


@final
class Route:
    """Where a header sends its message's body: ``kind`` is :data:`CONTENT`, :data:`REASONING` or
    :data:`CALL`; ``name`` is the recipient of a call (None when only the body names the tool)."""

    __slots__ = ("kind", "name")

    def __init__(self, kind: str, name: str | None = None) -> None:
        self.kind = kind
        self.name = name


#: Reads the body of a message routed to a tool (cursor after its header) to the body's end.
CallBody = Callable[[Source, OfferedTools, "Channels", Route], Read[Outcome]]


@final
class Channels:
    """How one channel format frames its messages.

    ``header_ends``: the tokens that end a header (harmony's ``<|message|>``; Inkling's content-kind
    tokens, which also say what the body is); ``route(header, end)`` reads a header (the text from
    the opener up to the token ``end``) and gives its :class:`Route`, or None when it is no header
    (the opener is then content). A body ends at one of ``closers`` (consumed) or ``boundaries``
    (the start of the next message, not consumed). ``call_body`` reads the body of a call.
    ``header_limit``: the most characters a header may have before its end token.
    """

    __slots__ = (
        "body_end",
        "call_body",
        "closers",
        "format",
        "header_end",
        "header_limit",
        "header_longest",
        "header_stop",
        "longest",
        "prefixes",
        "route",
        "tokens",
    )

    def __init__(
        self,
        format: str,
        *,
        header_ends: tuple[str, ...],
        closers: tuple[str, ...],
        boundaries: tuple[str, ...],
        route: Callable[[str, str], Route | None],
        call_body: CallBody,
        header_limit: int = 512,
    ) -> None:
        self.format = format
        self.header_end = alternation(header_ends)
        #: A header ends at one of its end tokens, or is cut short by a body closer (no body)
        self.header_stop = alternation((*header_ends, *closers))
        self.closers = closers
        self.tokens = (*closers, *boundaries)
        self.body_end = alternation(self.tokens)
        self.longest = max(map(len, self.tokens))
        self.prefixes = frozenset(token[:k] for token in self.tokens for k in range(1, len(token)))
        self.route = route
        self.call_body = call_body
        self.header_longest = max(map(len, (*header_ends, *closers)))
        self.header_limit = header_limit + self.header_longest

    def hold(self, s: str, i: int) -> int:
        """Where a tail of ``s[i:]`` that could still become a body-end token starts (or ``len(s)``);
        constant time (only the last ``longest - 1`` characters are looked at)."""
        for k in range(max(i, len(s) - self.longest + 1), len(s)):
            if s[k:] in self.prefixes:
                return k
        return len(s)


def _header(src: Source, ch: Channels) -> Read[re.Match[str] | None]:
    """The token ending the header that starts at the cursor, within ``ch.header_limit``
    characters (cursor unchanged): one of the header's end tokens, or a body closer when the
    message has no body; None when the text ends first or the limit is passed."""
    start = since = src.pos
    while True:
        lo = start - src.base
        # only text that arrived since the last look (and a tail a token could straddle) is new
        m = ch.header_stop.search(src.s, max(lo, since - src.base), lo + ch.header_limit)
        if m is not None:
            return m
        if src.eof or len(src.s) >= lo + ch.header_limit:
            return None
        since = src.base + max(lo, len(src.s) - ch.header_longest + 1)
        yield NEED


def message_reader(ch: Channels, *, calls: bool = True) -> Reader:
    """The reader of one message of the channel format ``ch`` (cursor on the opener of its header).

    A header that does not end within the limit, or that ``ch.route`` refuses, gives its first
    character back as content; a text that ends inside a header is a broken call. The body is read
    by :func:`read_body`. ``calls=False`` (reasoning only, ``parse(..., calls=False)``): a message
    to a tool is content as written, header and end token included, and nothing is an error.
    The reader is marked ``channel`` (the engine's ``channels`` says one ran).
    """

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        m = yield from _header(src, ch)
        if m is None:
            if calls and src.eof and src.end < ch.header_limit:
                return BlockCalls(ctx, ch.format, src).failed("the text ends inside a message header", src.end)
            return Reject(1)
        header = src.text(0, src.base + m.start())
        if m.group() in ch.closers:
            # a header closed before its end token: a call without a body is broken (named, up to
            # the closer, so the next message is read); any other such header is only text
            route = ch.route(header, m.group())
            if route is None or route.kind != CALL or not calls:
                return Reject(1)
            reason = f"the message to {route.name!r} ends ({m.group()}) before its body starts"
            return BlockCalls(ctx, ch.format, src).failed(reason, src.base + m.end())
        route = ch.route(header, m.group())
        if route is None:
            return Reject(1)
        src.i = m.end()
        return (yield from message_body(src, ctx, ch, route, calls=calls))

    read.channel = True  # type: ignore[attr-defined]  # see Engine.channels
    return read


def message_body(src: Source, ctx: OfferedTools, ch: Channels, route: Route, *, calls: bool) -> Read[Outcome]:
    """:func:`read_body`, or with ``calls=False`` for a message to a tool: the message as written
    (from the header's opener through the body's end) is content."""
    if calls or route.kind != CALL:
        return (yield from read_body(src, ctx, ch, route))
    yield from skip_body(src, ch)
    return Reject(None)


def read_body(src: Source, ctx: OfferedTools, ch: Channels, route: Route) -> Read[Outcome]:
    """The body of a message routed by ``route`` (cursor after its header). Reasoning and content
    stream as they arrive (only a tail that could still become an end token waits); a call's body
    is read by ``ch.call_body``."""
    if route.kind == CALL:
        if route.name is not None and _TOOL_NAME.fullmatch(route.name) is None:
            yield from skip_body(src, ch)
            return BlockCalls(ctx, ch.format, src).failed(f"the recipient {route.name!r} names no tool", src.pos)
        return (yield from ch.call_body(src, ctx, ch, route))
    yield from stream_body(src, ch, Reasoning if route.kind == REASONING else Text)
    return Done(None, ch.format, tool_block=False)


def stream_body(src: Source, ch: Channels, kind: type[Text] | type[Reasoning]) -> Read[None]:
    """Hand out the body at the cursor as ``kind`` events as it arrives, up to its end (a closer is
    consumed, a boundary is not)."""
    while True:
        m = ch.body_end.search(src.s, src.i)
        if m is not None:
            if m.start() > src.i:
                yield kind(src.s[src.i : m.start()])
            src.i = m.end() if m.group() in ch.closers else m.start()
            return
        cut = len(src.s) if src.eof else ch.hold(src.s, src.i)
        if cut > src.i:
            yield kind(src.s[src.i : cut])
            src.i = cut
        if src.eof:
            return
        yield NEED


def skip_body(src: Source, ch: Channels) -> Read[None]:
    """Move to the end of the body (after a closer, at a boundary, or at the end of the text)
    without handing anything out: the text of a broken call, which the engine keeps as content."""
    while True:
        m = ch.body_end.search(src.s, src.i)
        if m is not None:
            src.i = m.end() if m.group() in ch.closers else m.start()
            return
        if src.eof:
            src.i = len(src.s)
            return
        src.i = ch.hold(src.s, src.i)
        yield NEED


def bounded(src: Source, ctx: OfferedTools, ch: Channels, reader: Reader) -> Read[Outcome]:
    """Run ``reader`` on the body at the cursor as if the text ended at the body's end token, so a
    payload cut short by its message's end (a value never closed) cannot run into the messages
    after it. The reader's events pass through as it reads; its outcome comes back with its end
    as a block position (where its cursor stopped, when it gave none), and the parent's cursor at
    the body's end token (not consumed) or as far as the text was handed on."""
    a = src.pos
    child = Source("", 0, False)
    _hand_on(src, ch, child)
    gen = reader(child, ctx)
    try:
        while True:
            item = gen.send(None)
            if item is NEED or type(item) is list:
                if child.eof:  # pragma: no cover - a reader bug
                    raise RuntimeError("tool-call reader asked for text after the end")
                yield item
                _hand_on(src, ch, child)
            else:
                yield item
    except StopIteration as stop:
        outcome: Outcome = stop.value
    end = a + (child.pos if outcome.end is None else outcome.end)
    if isinstance(outcome, Done):
        return Done(end, outcome.format, tool_block=outcome.tool_block)
    if isinstance(outcome, Fail):
        return type(outcome)(outcome.format, outcome.reason, end)
    return Reject(end)


def _hand_on(src: Source, ch: Channels, child: Source) -> None:
    """Hand the body text after the parent's cursor on to ``child``: up to the body's end token
    (then the child's text ends), or up to a tail that could still become one."""
    m = ch.body_end.search(src.s, src.i)
    if m is not None:
        cut, eof = m.start(), True
    else:
        cut, eof = (len(src.s), True) if src.eof else (ch.hold(src.s, src.i), False)
    child.feed(src.s[src.i : cut], eof)
    src.i = cut
