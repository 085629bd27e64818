"""The fast paths of the chunk reader (common one-choice chunks, as dicts and as client objects) read
exactly as the general reader."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from tests.conftest import as_objects
from tests.strategies import near_common_chunks

from modelplug import errors
from modelplug.testing.http.fast_server import response_bytes
from modelplug.wire import (
    _UNCOMMON,
    _common_delta,
    _common_object_delta,
    attribute_getter,
    delta_from_chunk,
    mapping_getter,
)


def _read(chunk: Any, get: Any = None) -> Any:
    try:
        return delta_from_chunk(chunk, get)
    except errors.ModelplugError as error:
        return type(error), str(error)


@settings(max_examples=600, deadline=None)  # microseconds each; a busy machine can stall one
@given(near_common_chunks())
def test_the_fast_path_gives_the_general_readers_delta_or_error(chunk: dict[str, Any]) -> None:
    # an explicit mapping_getter is the dict route without the fast path
    assert _read(chunk) == _read(chunk, mapping_getter)


def _general_attribute_getter(obj: Any, name: str) -> Any:
    """attribute_getter under another identity: the object route without its fast path."""
    return attribute_getter(obj, name)


@settings(max_examples=600, deadline=None)  # microseconds each; a busy machine can stall one
@given(near_common_chunks())
def test_the_object_fast_path_gives_the_general_readers_delta_or_error(chunk: dict[str, Any]) -> None:
    tree = as_objects(chunk)
    assert _read(tree, attribute_getter) == _read(tree, _general_attribute_getter)


def _events(selector: str) -> list[dict[str, Any]]:
    """The chunk dicts the bench's loopback server sends for ``selector``."""
    body = response_bytes(selector).decode()
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: {")]


@pytest.mark.parametrize("selector", ["text/50", "tool/50"])
def test_the_bench_streams_take_the_fast_path(selector: str) -> None:
    chunks = _events(selector)
    assert chunks
    for chunk in chunks:
        if not chunk["choices"]:  # the last chunk, usage only: the general reader's
            continue
        fast = _common_delta(chunk)
        assert fast is not _UNCOMMON, chunk
        assert fast == delta_from_chunk(chunk, mapping_getter)
        if chunk["choices"][0]["delta"].keys() & {"content", "tool_calls"}:  # the object path's shapes
            fast_object = _common_object_delta(as_objects(chunk))
            assert fast_object is not _UNCOMMON, chunk
            assert fast_object == fast


@pytest.mark.parametrize(
    "delta",
    [
        {"content": "hi"},
        {"role": "assistant", "content": "hi"},
        {"reasoning_content": "hm"},
        {"reasoning": "hm"},
        {"refusal": "no"},
        {"content": None, "tool_calls": [{"index": 0, "function": {"arguments": "{"}}]},
        {"role": "assistant", "content": None},
        {},
    ],
)
def test_common_deltas_take_the_fast_path(delta: dict[str, Any]) -> None:
    chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1}}
    fast = _common_delta(chunk)
    assert fast is not _UNCOMMON
    assert fast == delta_from_chunk(chunk, mapping_getter)
