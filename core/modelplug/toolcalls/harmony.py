"""OpenAI's harmony format, written by gpt-oss (vLLM ``openai``; called ``harmony`` here).

A reply is a sequence of messages, each with a header and a body (shown here on several lines)::

    <|channel|>analysis<|message|>The user wants the weather.<|end|>
    <|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>
    {"city": "Paris"}<|call|>
    <|start|>assistant<|channel|>final<|message|>It is sunny.<|return|>

A message with a recipient ``to=functions.NAME`` (in the role or the channel header, on any
channel) is a call whose body is the JSON arguments (empty means ``{}``). Without a recipient, the
``analysis`` channel is reasoning (``reasoning_content``) and the ``final`` and ``commentary``
channels are content; both stream as they arrive. A body ends at ``<|end|>``, ``<|call|>``,
``<|return|>``, or at the next message.
"""

from __future__ import annotations

import re
from typing import Final

from modelplug.toolcalls._calls import (
    BadCall,
    Done,
    OfferedTools,
    Outcome,
    Reasoning,
    Reject,
    Text,
    Unusable,
    as_arguments,
    decode_value,
)
from modelplug.toolcalls._jsoncalls import BlockCalls, read_json_arguments
from modelplug.toolcalls._source import NEED, Read, Source, peek, skip_ws, until, until_re

__all__ = ["OPENERS", "harmony"]

OPENERS: Final = ("<|start|>", "<|channel|>")
_MESSAGE: Final = "<|message|>"
_CLOSERS: Final = ("<|end|>", "<|call|>", "<|return|>")
_TOKENS: Final = (*_CLOSERS, "<|start|>", "<|channel|>")
_BODY_END: Final = re.compile("|".join(map(re.escape, _TOKENS)))
_LONGEST: Final = max(map(len, _TOKENS))
_RECIPIENT: Final = re.compile(r"\bto=(\S+)")


def _hold(s: str, i: int) -> int:
    """Where a possible body-end token starts at the end of ``s`` (or ``len(s)``)."""
    k = s.rfind("<", max(i, len(s) - _LONGEST + 1))
    if k >= 0 and any(token.startswith(s[k:]) for token in _TOKENS):
        return k
    return len(s)


def harmony(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """Read one harmony message (cursor on ``<|start|>`` or ``<|channel|>``)."""
    calls = BlockCalls(ctx, "harmony", src)
    if not (yield from until(src, _MESSAGE, 512)):
        if src.eof:
            return calls.failed("the text ends inside a message header", src.end)
        return Reject(1)
    header = src.text(0, src.pos)
    src.i += len(_MESSAGE)
    _, _, channel_part = header.partition("<|channel|>")
    channel = channel_part.split("<|", 1)[0].split()
    recipient = _RECIPIENT.search(header)
    if recipient is not None:
        target = recipient.group(1).split("<|", 1)[0]
        name = target.removeprefix("functions.")
        announced = calls.announce(name)
        if announced is not None:
            yield announced
        a = src.pos
        end: int | None = None
        if announced is not None:
            # the arguments stream as they are written; the body still ends at the first body-end
            # token, even one the JSON scan read past inside a string
            yield from skip_ws(src)
            if peek(src) == "{":
                yield from read_json_arguments(src, _TOKENS, calls, announced)
        crossed = _BODY_END.search(src.text(a, src.pos))
        if crossed is not None:
            token = crossed.group()
            body = src.text(a, a + crossed.start()).strip()
            end = a + crossed.start() + (len(token) if token in _CLOSERS else 0)
            m: re.Match[str] | None = crossed
        else:
            m = yield from until_re(src, _BODY_END, _LONGEST)
            body = src.text(a, src.pos).strip()
            if m is not None and m.group() in _CLOSERS:
                src.i += len(m.group())
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
            return Unusable("harmony", calls.errors[0], end)
        return Done(end, "harmony")
    kind = Reasoning if channel and channel[0] == "analysis" else Text
    while True:
        m = _BODY_END.search(src.s, src.i)
        if m is not None:
            if m.start() > src.i:
                yield kind(src.s[src.i : m.start()])
            src.i = m.start()
            if m.group() in _CLOSERS:
                src.i += len(m.group())
            return Done(None, "harmony", tool_block=False)
        cut = len(src.s) if src.eof else _hold(src.s, src.i)
        if cut > src.i:
            yield kind(src.s[src.i : cut])
            src.i = cut
        if src.eof:
            return Done(None, "harmony", tool_block=False)
        yield NEED
