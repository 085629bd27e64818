"""LiteLLM stream chunks (``ModelResponseStream``) to modelplug deltas.

The mapping reads the pydantic objects' field dictionaries directly (``__dict__``, then
``__pydantic_extra__``, where LiteLLM keeps most streaming fields) instead of going through
``chunk.model_dump()`` and :func:`modelplug.wire.delta_from_chunk` or plain attribute access:
dumping a chunk costs tens of microseconds, and attribute access goes through pydantic's
``__getattr__``, which raises and catches an ``AttributeError`` for every field LiteLLM left out
(``usage``, ``reasoning_content``...): about 30 µs a chunk, against 2-3 µs this way
(``bench/bench_http_plugins.py`` measures it). The rules are those of ``delta_from_chunk``: choice 0
only (a missing index counts as 0), empty strings are no content, ``reasoning_content`` or
``reasoning`` is reasoning, ``tool_calls`` may be one object instead of a list (TGI, which LiteLLM
passes through unvalidated), an empty ``id`` is no id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelplug.types import ChatMessageStreamDelta, ToolCallDelta, Usage

__all__ = ["delta_from_chunk", "usage_from_object"]


_MISSING: Any = object()


def _get(obj: Any, name: str) -> Any:
    """Field ``name`` of a LiteLLM pydantic object, a dict, or any object (``None`` when absent)."""
    fields = getattr(obj, "__dict__", None)
    if fields is not None:
        value = fields.get(name, _MISSING)
        if value is not _MISSING:
            return value
        extra = getattr(obj, "__pydantic_extra__", _MISSING)
        if extra is _MISSING:  # not a pydantic model
            return getattr(obj, name, None)
        return extra.get(name) if extra else None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _tool_call(item: Any) -> ToolCallDelta:
    function = _get(item, "function")
    index = _get(item, "index")
    arguments = _get(function, "arguments")
    return ToolCallDelta(
        index=index if isinstance(index, int) else None,
        id=_get(item, "id") or None,
        name=_get(function, "name") or None,
        arguments=arguments if isinstance(arguments, str) else None,
    )


def usage_from_object(usage: Any) -> Usage | None:
    """A :class:`Usage` from LiteLLM's usage object or a usage dict (``None`` for none)."""
    if not usage:
        return None
    prompt = _get(usage, "prompt_tokens") or 0
    completion = _get(usage, "completion_tokens") or 0
    total = _get(usage, "total_tokens")
    if total is None:
        return Usage(int(prompt), int(completion))
    return Usage(int(prompt), int(completion), int(total))


def delta_from_chunk(chunk: Any) -> ChatMessageStreamDelta | None:
    """The delta of one LiteLLM chunk, or ``None`` when it carries nothing (a role-only chunk, an
    empty delta, Azure's ``choices: []`` prompt-filter chunk)."""
    usage = _get(chunk, "usage")
    choice = None
    for candidate in _get(chunk, "choices") or ():
        if _get(candidate, "index") in (0, None):
            choice = candidate
            break
    if choice is None:
        return ChatMessageStreamDelta(usage=usage_from_object(usage)) if usage else None
    delta = _get(choice, "delta")
    finish = _get(choice, "finish_reason") or None
    if delta is None:
        content = reasoning = calls = None
    else:
        content = _get(delta, "content")
        reasoning = _get(delta, "reasoning_content") or _get(delta, "reasoning")
        calls = _get(delta, "tool_calls")
    if not content and not reasoning and not calls and finish is None and not usage:
        return None
    if calls and not isinstance(calls, (list, tuple)):
        calls = (calls,)
    return ChatMessageStreamDelta(
        content=content if isinstance(content, str) and content else None,
        reasoning_content=reasoning if isinstance(reasoning, str) else None,
        tool_calls=tuple(_tool_call(c) for c in calls) if calls else (),
        usage=usage_from_object(usage),
        finish_reason=finish if isinstance(finish, str) else str(finish) if finish is not None else None,
    )
