"""huggingface_hub stream chunks (``ChatCompletionStreamOutput``) to modelplug deltas.

huggingface_hub parses each SSE event into dataclasses that are also dicts. The *dict* view of a
chunk is built from the declared dataclass fields only, so it loses the fields huggingface_hub does
not declare, among them ``delta.reasoning_content`` (vLLM, DeepSeek); the *attribute* view keeps
them (undeclared fields are set on the object, which is also a dict of its own keys). So the mapping
reads attributes (``chunk.choices[i].delta``), never ``chunk["choices"]``, and hands them to
:func:`modelplug.wire.delta_from_chunk` (the rules of :func:`modelplug.wire.delta_from_chunk`),
which is also faster than ``delta_from_chunk`` on a dict copy.
"""

from __future__ import annotations

from typing import Any

from modelplug.types import ChatMessageStreamDelta
from modelplug.wire import delta_from_chunk as delta_from_fields

__all__ = ["delta_from_chunk", "get_field"]


def get_field(obj: Any, name: str) -> Any:
    """Field ``name`` of one of huggingface_hub's objects (a dict as a fallback; ``None`` when absent)."""
    try:
        return getattr(obj, name)
    except AttributeError:  # not one of huggingface_hub's objects
        return obj.get(name) if isinstance(obj, dict) else None


def delta_from_chunk(chunk: Any) -> ChatMessageStreamDelta | None:
    """The delta of one ``ChatCompletionStreamOutput``, or ``None`` when it carries nothing."""
    return delta_from_fields(chunk, get_field)
