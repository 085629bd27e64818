"""LiteLLM stream chunks (``ModelResponseStream``) to modelplug deltas.

The mapping reads the pydantic objects' field dictionaries directly (``__dict__``, then
``__pydantic_extra__``, where LiteLLM keeps most streaming fields) instead of going through
``chunk.model_dump()`` and :func:`modelplug.wire.delta_from_chunk` or plain attribute access, and
hands them to :func:`modelplug.wire.delta_from_chunk`:
dumping a chunk is slow, and attribute access goes through pydantic's ``__getattr__``, which
raises and catches an ``AttributeError`` for every field LiteLLM left out (``usage``,
``reasoning_content``...), far dearer than reading the dictionaries (``bench/bench_http_plugins.py``
measures it; figures in ``docs/benchmarks.md``). The rules are
those of ``delta_from_chunk``; TGI's ``tool_calls`` as one object instead of a list, which LiteLLM
passes through unvalidated, is read too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelplug.types import ChatMessageStreamDelta, Usage
from modelplug.wire import delta_from_chunk as delta_from_fields
from modelplug.wire import usage_from_fields

__all__ = ["delta_from_chunk", "get_field", "usage_from_object"]

_MISSING: Any = object()


def get_field(obj: Any, name: str) -> Any:
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


def delta_from_chunk(chunk: Any) -> ChatMessageStreamDelta | None:
    """The delta of one LiteLLM chunk, or ``None`` when it carries nothing."""
    return delta_from_fields(chunk, get_field)


def usage_from_object(usage: Any) -> Usage | None:
    """A :class:`~modelplug.types.Usage` from LiteLLM's usage object or a usage dict (``None`` for none)."""
    return usage_from_fields(usage, get_field)
