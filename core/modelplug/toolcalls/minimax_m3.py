"""MiniMax-M3: every tag behind the namespace token ``]<]minimax[>[``, parameters as elements named
by their key that nest for objects and arrays, read against the offered tool's schema.

Layout and rules: ``docs/toolcall-parser.md`` ("MiniMax-M3").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from modelplug.toolcalls._blocks import Spaced, read_special_block
from modelplug.toolcalls._calls import Header, OfferedTools, Outcome, Reject
from modelplug.toolcalls._jsoncalls import BlockCalls
from modelplug.toolcalls._schema import coerce_value, schema_types
from modelplug.toolcalls._source import NAME_RE, Read, Source, accept, at, peek, skip_ws, until

__all__ = ["CLOSER", "NS", "OPENER", "minimax_m3"]

#: The namespace token written before every tag of the format.
NS: Final = "]<]minimax[>["
#: The opener: the token, then (spacing allowed) ``<tool_call>``.
OPENER: Final = NS
CLOSER: Final = NS + "</tool_call>"
_INVOKE: Final = '<invoke name="'
_INVOKE_END: Final = "</invoke>"
_OPEN: Final = Spaced(NS, _INVOKE)
_END: Final = Spaced(NS, _INVOKE_END)
_CLOSE: Final = Spaced(NS, "</tool_call>")
#: The most elements open at once inside one argument (a bound on the stack, not on the text).
_DEPTH: Final = 10_000


def minimax_m3(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """``]<]minimax[>[<tool_call>`` + ``]<]minimax[>[<invoke name="f">`` elements of parameters
    (``]<]minimax[>[<city>Paris]<]minimax[>[</city>``) + ``]<]minimax[>[</tool_call>``. A call
    that cannot be read is recorded and the block goes on at the next invoke, after the call's
    ``</invoke>`` or at the block's closer, whichever comes first (``_blocks``)."""
    src.i += len(NS)
    yield from skip_ws(src)
    if not (yield from accept(src, "<tool_call>")):
        return Reject(len(NS))  # the token alone, or before another tag: not a call block
    calls = BlockCalls(ctx, "minimax_m3", src)
    return (
        yield from read_special_block(
            src,
            calls,
            lambda _: _invoke(src, calls),
            openers=(_OPEN,),
            closers=(_CLOSE,),
            ends=(_END,),
            expected=f"{_INVOKE!r} or {CLOSER!r}",
            opened=f"{NS}<tool_call>",
        )
    )


def _tag(src: Source) -> Read[bool]:
    """Consume the namespace token and the spacing around it (the cursor is then on ``<``)."""
    yield from skip_ws(src)
    if not (yield from accept(src, NS)):
        return False
    yield from skip_ws(src)
    return True


def _inner_tag(src: Source) -> Read[str | None]:
    """:func:`_tag` inside a call: ``""`` once it is consumed, None when the namespace token is not
    at the cursor, or the block's token that follows it (the next invoke's opener, the block's
    closer), with the cursor left before the namespace token so the block goes on there."""
    start = src.pos
    if not (yield from _tag(src)):
        return None
    for token in (_INVOKE, "</tool_call>"):
        if (yield from at(src, token)):
            src.seek(start)
            return NS + token
    return ""


def _name_until(src: Source, end: str, what: str) -> Read[tuple[str | None, str]]:
    """A name written up to ``end`` (consumed), or None and why not (``what``: the thing named)."""
    a = src.pos
    if not (yield from until(src, end, 256)):
        if src.eof and len(src.s) - src.i < 256 + len(end):
            return None, "the text ends inside the call"
        return None, f"{what} not closed by {end!r}"
    written = src.text(a, src.pos).strip()
    src.i += len(end)
    return (written, "") if NAME_RE.fullmatch(written) else (None, f"{what} without a valid name ({written[:40]!r})")


def _invoke(src: Source, calls: BlockCalls) -> Read[tuple[str, str | None]]:
    """One invoke (cursor after ``<invoke name="``): why it failed (``""``: it did not) and its name.

    Each argument goes out once the next one starts with another tag (or the invoke ends): the
    same tag again right after it adds to it (a list); again after another tag, it is an error
    (the argument went out)."""
    name, reason = yield from _name_until(src, '">', "a call")
    if name is None:
        return reason, None
    header = calls.announce(name)
    if header is not None:
        yield header
    tool = None if calls.ctx.tools is None else calls.ctx.tools.get(name)
    schema = tool.parameters if tool is not None else None
    arguments: dict[str, Any] = {}
    last: str | None = None
    while True:
        tag = yield from _inner_tag(src)
        if tag is None:
            return ("the text ends inside the call" if not peek(src) else f"expected {NS!r}"), name
        if tag:
            return f"the call is not closed: expected a parameter or {_INVOKE_END!r} before {tag!r}", name
        if (yield from accept(src, _INVOKE_END)):
            break
        if not (yield from accept(src, "<")) or (yield from at(src, "/")):
            return f"expected a parameter or {_INVOKE_END!r}", name
        key, reason = yield from _name_until(src, ">", "a parameter")
        if key is None:
            return reason, name
        if key != last and key in arguments:
            return f"parameter {key!r} given again after other parameters", name
        if last is not None and key != last:
            yield from _emit(calls, header, last, arguments[last])
        value, reason = yield from _element(src, key, _child(schema, key, arguments))
        if reason:
            return f"parameter {key!r}: {reason}", name
        _assign(arguments, key, value)
        last = key
    if last is not None:
        yield from _emit(calls, header, last, arguments[last])
    yield from calls.complete(header, name, arguments)
    return "", name


def _emit(calls: BlockCalls, header: Header | None, key: str, value: Any) -> list[object]:
    return calls.argument(header, key, value)


def _element(src: Source, tag: str, schema: Mapping[str, Any] | None) -> Read[tuple[Any, str]]:
    """The value of element ``tag`` (cursor after its opening tag) up to its closing tag
    (consumed): its text, or the object or array its child elements make. Nested leaves are
    converted by their part of the schema; a top-level leaf stays text (the call's coercion
    converts it). The elements open are kept on a stack, not in recursion."""
    # each frame: [tag, schema, container (None until a child element opens)]
    frames: list[list[Any]] = [[tag, schema, None]]
    while True:
        top = frames[-1]
        a = src.pos
        if not (yield from until(src, NS)):
            return None, "the text ends inside the value"
        text = src.text(a, src.pos)
        block = yield from _inner_tag(src)
        if block:
            return None, f"its value runs into {block!r} before {f'</{top[0]}>'!r}"
        if (yield from at(src, "</")):
            if not (yield from accept(src, f"</{top[0]}>")):
                return None, f"expected </{top[0]}>"
            if top[2] is not None and text.strip():
                return None, f"text after the elements of <{top[0]}>"
            value = top[2] if top[2] is not None else _leaf(text, top[1], nested=len(frames) > 1)
            frames.pop()
            if not frames:
                return value, ""
            _assign(frames[-1][2], top[0], value)
            continue
        if not (yield from accept(src, "<")):
            return None, "the text ends inside the value" if not peek(src) else f"expected an element or </{top[0]}>"
        if text.strip():
            return None, f"text before an element inside <{top[0]}>"
        child, reason = yield from _name_until(src, ">", "an element")
        if child is None:
            return None, reason
        if len(frames) >= _DEPTH:
            return None, "elements nested too deep"
        if top[2] is None:
            top[2] = [] if "array" in _types(top[1]) else {}
        frames.append([child, _child(top[1], child, top[2]), None])


def _types(schema: Mapping[str, Any] | None) -> set[str]:
    return schema_types(schema) if schema is not None else set()


def _leaf(text: str, schema: Mapping[str, Any] | None, *, nested: bool) -> Any:
    """An element's text: an empty element is the empty object or array its schema asks for; a
    nested one is converted by its schema."""
    types = _types(schema)
    if not text and "string" not in types:
        if types == {"object"}:
            return {}
        if types == {"array"}:
            return []
    if nested and schema is not None:
        return coerce_value(text, schema)
    return text


def _child(schema: Mapping[str, Any] | None, tag: str, container: Any) -> Mapping[str, Any] | None:
    """The schema of child ``tag`` of a value with ``schema`` (an array's items, by position for
    ``prefixItems``; an object's property, or its ``additionalProperties``)."""
    if schema is None:
        return None
    if isinstance(container, list):
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list) and len(container) < len(prefix) and isinstance(prefix[len(container)], Mapping):
            return prefix[len(container)]  # type: ignore[no-any-return]
        items = schema.get("items")
        return items if isinstance(items, Mapping) else None
    properties = schema.get("properties")
    if isinstance(properties, Mapping) and isinstance(properties.get(tag), Mapping):
        return properties[tag]  # type: ignore[no-any-return]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else None


def _assign(container: Any, tag: str, value: Any) -> None:
    """Add child ``tag``: appended to an array; in an object, a tag given again makes a list."""
    if isinstance(container, list):
        container.append(value)
    elif tag in container:
        existing = container[tag]
        if isinstance(existing, list):
            existing.append(value)
        else:
            container[tag] = [existing, value]
    else:
        container[tag] = value
