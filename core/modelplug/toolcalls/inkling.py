"""Inkling's typed message blocks (vLLM and SGLang ``inkling``)::

    <|message_model|><|content_thinking|>The user wants the weather.<|end_message|>
    <|message_model|>get_weather<|content_invoke_tool_json|>
    {"name": "get_weather", "args": {"city": "Paris"}}<|end_message|>
    <|message_model|><|content_text|>It is sunny.<|end_message|>

A block's content token says what its body is: ``<|content_thinking|>`` reasoning,
``<|content_text|>`` (and the raw ``<|content_invoke_tool_text|>`` and ``<|content_tool_error|>``
blocks) content, ``<|content_invoke_tool_json|>`` a call object whose arguments are under
``args``. The name between ``<|message_model|>`` and the content token is optional; where written
it must be the call's name. Blocks end at ``<|end_message|>`` or ``<|content_model_end_sampling|>``,
or at the next block. Read by the channel reader (:mod:`~modelplug.toolcalls.channels`).
"""

from __future__ import annotations

import json
from typing import Any, Final

from modelplug.toolcalls._calls import Done, Header, OfferedTools, Outcome, Unusable
from modelplug.toolcalls._jsoncalls import BlockCalls, read_json_arguments
from modelplug.toolcalls._scan import ScanStatus, scan_json
from modelplug.toolcalls._source import NAME_RE, Read, Source, accept, peek, skip_ws
from modelplug.toolcalls.channels import (
    CALL,
    CONTENT,
    REASONING,
    Channels,
    Route,
    bounded,
    message_reader,
)

__all__ = ["CLOSERS", "INKLING", "MESSAGE_MODEL", "OPENERS", "inkling", "invoke_json"]

MESSAGE_MODEL: Final = "<|message_model|>"
THINKING: Final = "<|content_thinking|>"
TEXT: Final = "<|content_text|>"
INVOKE_JSON: Final = "<|content_invoke_tool_json|>"
#: Content tokens whose body is shown as text.
_TEXT_KINDS: Final = (TEXT, "<|content_invoke_tool_text|>", "<|content_tool_error|>")
_KINDS: Final = (THINKING, INVOKE_JSON, *_TEXT_KINDS)
CLOSERS: Final = ("<|end_message|>", "<|content_model_end_sampling|>")
#: What starts a block: the model's message token, or a content token on its own.
OPENERS: Final = (MESSAGE_MODEL, *_KINDS)
#: The keys of the call object that hold the arguments (``args`` is Inkling's own).
_ARGUMENT_KEYS: Final = ("args", "arguments", "parameters")


def _route(header: str, end: str) -> Route | None:
    """A block's route, from its content token ``end``; None when the text before the token is no
    header (a name, or nothing, after ``<|message_model|>``)."""
    name = header.removeprefix(MESSAGE_MODEL).strip()
    if name and NAME_RE.fullmatch(name) is None:
        return None
    if end == THINKING:
        return Route(REASONING)
    if end == INVOKE_JSON:
        return Route(CALL, name or None)
    return Route(CONTENT)


def _value(src: Source) -> Read[tuple[bool, Any]]:
    """One JSON value at the cursor, consumed and decoded: ``(ok, value)``."""
    a = src.pos
    result = yield from scan_json(src)
    if result.status != ScanStatus.COMPLETE:
        return False, None
    try:
        return True, json.loads(src.text(a, src.pos), strict=False)
    except (ValueError, RecursionError):
        return False, None


def invoke_json(src: Source, ctx: OfferedTools, ch: Channels, route: Route) -> Read[Outcome]:
    """The body of a ``<|content_invoke_tool_json|>`` block: ``{"name": ..., "args": {...}}``,
    read as if the text ended at the block's end (what follows the object in the block is read as
    usual: whitespace and the end token dropped, anything else content).

    The call is announced as soon as its name is read, and when ``args`` follows the name its
    members stream as they are written; ``arguments`` or ``parameters`` are read for ``args`` too.
    """

    def read(body: Source, offered: OfferedTools) -> Read[Outcome]:
        return (yield from _invoke(body, offered, ch, route))

    return (yield from bounded(src, ctx, ch, read))


def _invoke(src: Source, ctx: OfferedTools, ch: Channels, route: Route) -> Read[Outcome]:
    """The call object of a block whose text ends at the block's end (see :func:`invoke_json`)."""
    calls = BlockCalls(ctx, ch.format, src)
    name, header, arguments, reason = yield from _call_object(src, calls, route, ch.tokens)
    if reason:
        if name is not None and calls.emitted:
            calls.bad(reason, name)
            return Unusable(ch.format, calls.errors[0])
        return calls.failed(reason)
    if name is None:
        calls.bad("a call needs a string 'name'")
    elif route.name is not None and route.name != name:
        calls.bad(f"the block's header names {route.name!r}, its call object {name!r}", name)
    elif header is not None:
        yield from calls.complete(header, name, arguments or {})
    else:
        yield from calls.whole(name, arguments or {})
    if calls.errors:
        return Unusable(ch.format, calls.errors[0])
    return Done(None, ch.format)


def _call_object(
    src: Source, calls: BlockCalls, route: Route, stops: tuple[str, ...]
) -> Read[tuple[str | None, Header | None, dict[str, Any] | None, str]]:
    """Read the call object at the cursor: its name, the header announced for it (None until its
    name is read, or for a tool not offered), its arguments, and why it cannot be read (``""``).
    ``stops``: the tokens a loosely read (Python-literal) ``args`` value must not run past."""
    name: str | None = None
    header: Header | None = None
    arguments: dict[str, Any] | None = None
    yield from skip_ws(src)
    if not (yield from accept(src, "{")):
        return None, None, None, "the text ends inside the block" if not peek(src) else "expected a call object"
    while True:
        yield from skip_ws(src)
        if (yield from accept(src, "}")):
            return name, header, arguments, ""
        ok, key = yield from _value(src)
        yield from skip_ws(src)
        if not ok or not isinstance(key, str) or not (yield from accept(src, ":")):
            return name, header, arguments, "the call object is not valid JSON"
        yield from skip_ws(src)
        if key == "name" and name is None:
            ok, value = yield from _value(src)
            if not ok or not isinstance(value, str) or not value.strip():
                return name, header, arguments, "a call needs a string 'name'"
            name = value.strip()
            if route.name is None or route.name == name:
                header = calls.announce(name)
                if header is not None:
                    yield header
        elif key in _ARGUMENT_KEYS and arguments is None:
            status, arguments, reason = yield from read_json_arguments(
                src, stops, calls if header is not None else None, header
            )
            if status != ScanStatus.COMPLETE:
                return name, header, None, reason
        else:
            ok, _ = yield from _value(src)
            if not ok:
                return name, header, arguments, f"the value of {key!r} is not valid JSON"
        yield from skip_ws(src)
        if not (yield from accept(src, ",")) and not (yield from at_close(src)):
            return name, header, arguments, "the call object is not valid JSON"


def at_close(src: Source) -> Read[bool]:
    """Whether ``}`` is at the cursor (not consumed)."""
    yield from skip_ws(src)
    return peek(src) == "}"


#: Inkling's blocks.
INKLING: Final = Channels(
    "inkling",
    header_ends=_KINDS,
    closers=CLOSERS,
    boundaries=OPENERS,
    route=_route,
    call_body=invoke_json,
)

#: The reader of one Inkling block (cursor on ``<|message_model|>`` or a content token).
inkling: Final = message_reader(INKLING)
inkling.span = (MESSAGE_MODEL, CLOSERS[0], "")  # type: ignore[attr-defined]  # the prompt may open a message
