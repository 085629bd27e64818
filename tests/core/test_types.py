"""The per-token value classes: their faster ``__init__`` builds what attrs' own would."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelplug.types import Capabilities, ChatMessageStreamDelta, ToolCallDelta, Usage

_values = st.none() | st.text(max_size=4) | st.integers(-2, 5)
_fragments = st.builds(ToolCallDelta, index=_values, id=_values, name=_values, arguments=_values)


def _attrs_built(cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The fields attrs' generated ``__init__`` stores for ``kwargs``: defaults, converters applied."""
    out = {}
    for field in attrs.fields(cls):
        value = kwargs.get(field.name, field.default)
        out[field.name] = field.converter(value) if field.converter is not None else value
    return out


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "content": _values,
            "reasoning_content": _values,
            "tool_calls": st.lists(_fragments, max_size=2) | st.lists(_fragments, max_size=2).map(tuple) | st.none(),
            "usage": st.none() | st.builds(Usage, st.integers(0, 9), st.integers(0, 9)),
            "finish_reason": _values,
            "refusal": _values,
            "content_parts": st.lists(st.just({"type": "image_url"}), max_size=2) | st.none(),
        },
    )
)
def test_a_delta_holds_what_attrs_init_would_store(kwargs: dict[str, Any]) -> None:
    delta = ChatMessageStreamDelta(**kwargs)
    assert attrs.asdict(delta, recurse=False) == _attrs_built(ChatMessageStreamDelta, kwargs)
    assert type(delta.tool_calls) is tuple and type(delta.content_parts) is tuple
    assert attrs.evolve(delta) == delta
    assert pickle.loads(pickle.dumps(delta)) == delta == copy.copy(delta)


@given(_values, _values, _values, _values)
def test_a_fragment_holds_its_positional_and_keyword_fields(index: Any, id: Any, name: Any, arguments: Any) -> None:
    by_keyword = ToolCallDelta(index=index, id=id, name=name, arguments=arguments)
    assert ToolCallDelta(index, id, name, arguments) == by_keyword
    assert attrs.astuple(ToolCallDelta(index, id, name, arguments)) == (index, id, name, arguments)


def test_the_classes_stay_frozen_and_reject_unknown_fields() -> None:
    delta = ChatMessageStreamDelta(content="x")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        delta.content = "y"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ChatMessageStreamDelta(text="x")  # type: ignore[call-arg]
    assert ChatMessageStreamDelta() == ChatMessageStreamDelta(None, None, (), None, None, None, ())


@pytest.mark.parametrize(
    "fields",
    [{"streaming": "yes"}, {"vision": 1}, {"reasoning": None}, {"tool_call_format": 3}, {"tool_calling": "maybe"}],
)
def test_capabilities_refuse_values_of_the_wrong_type(fields: dict[str, Any]) -> None:
    name = next(iter(fields))
    with pytest.raises((TypeError, ValueError), match=name):
        Capabilities(**fields)
    with pytest.raises((TypeError, ValueError), match=name):
        attrs.evolve(Capabilities(), **fields)
