"""huggingface_hub stream chunks (``ChatCompletionStreamOutput``) to modelplug deltas.

huggingface_hub parses each SSE event into dataclasses that are also dicts. The *dict* view of a
chunk is built from the declared dataclass fields only, so it loses the fields huggingface_hub does
not declare, among them ``delta.reasoning_content`` (vLLM, DeepSeek); the *attribute* view keeps
them (undeclared fields are set on the object, which is also a dict of its own keys). So the mapping
reads attributes (``chunk.choices[i].delta``) and never ``chunk["choices"]``, which is also faster
than :func:`modelplug.wire.delta_from_chunk` on a dict copy.

Rules, as in ``delta_from_chunk``: choice 0 only (a missing index counts as 0), empty strings are no
content, ``reasoning`` or ``reasoning_content`` is reasoning, ``tool_calls`` may be one object
instead of a list (TGI), an empty ``id`` is no id, ``delta: null`` (Azure's annotation choices) is
an empty delta.
"""

from __future__ import annotations

from typing import Any

from modelplug.types import ChatMessageStreamDelta, ToolCallDelta, Usage

__all__ = ["delta_from_chunk", "usage_from_object"]


def _get(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name)
    except AttributeError:  # not one of huggingface_hub's objects
        return obj.get(name) if isinstance(obj, dict) else None


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
    """A :class:`Usage` from huggingface_hub's usage object (``None`` for none)."""
    if not usage:
        return None
    prompt = getattr(usage, "prompt_tokens", None) or 0
    completion = getattr(usage, "completion_tokens", None) or 0
    total = getattr(usage, "total_tokens", None)
    if total is None:
        return Usage(int(prompt), int(completion))
    return Usage(int(prompt), int(completion), int(total))


def delta_from_chunk(chunk: Any) -> ChatMessageStreamDelta | None:
    """The delta of one ``ChatCompletionStreamOutput``, or ``None`` when it carries nothing (a
    role-only chunk, Azure's prompt-filter and annotation chunks)."""
    usage = chunk.usage
    choice = None
    for candidate in chunk.choices or ():
        if getattr(candidate, "index", 0) in (0, None):
            choice = candidate
            break
    if choice is None:
        return ChatMessageStreamDelta(usage=usage_from_object(usage)) if usage else None
    delta = choice.delta
    finish = choice.finish_reason or None
    if delta is None:
        content = reasoning = calls = None
    else:
        content = delta.content
        reasoning = delta.reasoning or delta.get("reasoning_content")
        calls = delta.tool_calls
    if not content and not reasoning and not calls and finish is None and not usage:
        return None
    if calls and not isinstance(calls, list):
        calls = (calls,)
    return ChatMessageStreamDelta(
        content=content if isinstance(content, str) and content else None,
        reasoning_content=reasoning if isinstance(reasoning, str) else None,
        tool_calls=tuple(_tool_call(c) for c in calls) if calls else (),
        usage=usage_from_object(usage),
        finish_reason=finish if isinstance(finish, str) else str(finish) if finish is not None else None,
    )
