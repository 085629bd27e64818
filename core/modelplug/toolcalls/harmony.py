"""OpenAI's harmony format, written by gpt-oss (vLLM ``openai``; called ``harmony`` here).

A reply is a sequence of messages, each with a header and a body (shown here on several lines)::

    <|channel|>analysis<|message|>The user wants the weather.<|end|>
    <|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>
    {"city": "Paris"}<|call|>
    <|start|>assistant<|channel|>final<|message|>It is sunny.<|return|>

A message with a recipient ``to=functions.NAME`` is a call whose body is the JSON arguments; without
one, ``analysis`` is reasoning and the other channels content. Rules: ``docs/concepts/tool-calls.md``;
the channel reader: ``docs/toolcall-parser.md`` ("Channel formats").
"""

from __future__ import annotations

import re
from typing import Final

from modelplug.toolcalls._calls import BadCall, Done, OfferedTools, Outcome, Unusable, as_arguments, decode_value
from modelplug.toolcalls._jsoncalls import BlockCalls, read_json_arguments
from modelplug.toolcalls._source import Read, Source, peek, skip_ws, until_re
from modelplug.toolcalls.channels import CALL, CONTENT, REASONING, Channels, Route, message_reader

__all__ = ["HARMONY", "OPENERS", "harmony", "harmony_route", "json_arguments"]

OPENERS: Final = ("<|start|>", "<|channel|>")
MESSAGE: Final = "<|message|>"
CLOSERS: Final = ("<|end|>", "<|call|>", "<|return|>")
_RECIPIENT: Final = re.compile(r"\bto=(\S*)")


def recipient(header: str) -> str | None:
    """The tool a header's ``to=`` names (``functions.`` dropped), or None."""
    m = _RECIPIENT.search(header)
    if m is None:
        return None
    return m.group(1).split("<|", 1)[0].removeprefix("functions.")


def harmony_route(header: str, end: str) -> Route:
    """A harmony header's route: a recipient is a call; else ``analysis`` is reasoning and every
    other channel content."""
    name = recipient(header)
    if name is not None:
        return Route(CALL, name)
    _, _, channel_part = header.partition("<|channel|>")
    channel = channel_part.split("<|", 1)[0].split()
    return Route(REASONING if channel and channel[0] == "analysis" else CONTENT)


def json_arguments(src: Source, ctx: OfferedTools, ch: Channels, route: Route) -> Read[Outcome]:
    """A call's body holding its JSON arguments (empty: ``{}``), the tool named by the header.

    The arguments stream as they are written; the body still ends at the first body-end token, even
    one the JSON scan read past inside a string."""
    calls = BlockCalls(ctx, ch.format, src)
    name = route.name or ""
    announced = calls.announce(name)
    if announced is not None:
        yield announced
    a = src.pos
    if announced is not None:
        yield from skip_ws(src)
        if peek(src) == "{":
            yield from read_json_arguments(src, ch.tokens, calls, announced)
    crossed = ch.body_end.search(src.text(a, src.pos))
    if crossed is not None:
        token = crossed.group()
        body = src.text(a, a + crossed.start()).strip()
        end: int | None = a + crossed.start() + (len(token) if token in ch.closers else 0)
        m: re.Match[str] | None = crossed
    else:
        m = yield from until_re(src, ch.body_end, ch.longest)
        body = src.text(a, src.pos).strip()
        if m is not None and m.group() in ch.closers:
            src.i += len(m.group())
        end = None
    ok, value = decode_value(body) if body else (True, {})
    try:
        arguments = as_arguments(value) if ok else None
    except BadCall as error:
        return calls.failed(str(error), end)
    if arguments is None:
        reason = "the text ends inside the arguments" if m is None else "the arguments are not valid JSON"
        return calls.failed(reason, end)
    yield from calls.complete(announced, name, arguments)
    if calls.errors:
        return Unusable(ch.format, calls.errors[0], end)
    return Done(end, ch.format)


#: Harmony's messages.
HARMONY: Final = Channels(
    "harmony",
    header_ends=(MESSAGE,),
    closers=CLOSERS,
    boundaries=OPENERS,
    route=lambda header, end: harmony_route(header, end),
    call_body=json_arguments,
)

#: The reader of one harmony message (cursor on ``<|start|>`` or ``<|channel|>``).
harmony: Final = message_reader(HARMONY)
