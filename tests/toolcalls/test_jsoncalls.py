"""Reading JSON calls and JSON arguments inside a block (:mod:`modelplug.toolcalls._jsoncalls`):
the same answer however the text is split."""

from __future__ import annotations

from typing import Any

import pytest

from modelplug.toolcalls._jsoncalls import bad_value, read_json_arguments
from modelplug.toolcalls._scan import ScanStatus
from tests.strategies import every_split
from tests.toolcalls._support import run_reader


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"a": 1.5, "b": [1, {"c": "x"}]}, None),
        ({"a": {"b": [1, float("inf")]}}, "argument a.b[1] is inf, not a finite JSON number"),
        ([float("nan")], "argument [0] is nan, not a finite JSON number"),
        (float("-inf"), "argument value is -inf, not a finite JSON number"),
    ],
)
def test_bad_value_names_the_first_bad_number_by_its_path(value: Any, problem: str | None) -> None:
    assert bad_value(value) == problem


@pytest.mark.parametrize(
    ("text", "status", "arguments"),
    [
        (' {"city": "Paris", "days": [1, 2]}</x>', ScanStatus.COMPLETE, {"city": "Paris", "days": [1, 2]}),
        ('"{\\"a\\": 1}"</x>', ScanStatus.COMPLETE, {"a": 1}),  # a string holding an object
        ("{'a': True}</x>", ScanStatus.COMPLETE, {"a": True}),  # a Python literal
        ('{"a": 1', ScanStatus.TRUNCATED, None),
        ('{"a": 1,, }</x>', ScanStatus.INVALID, None),
        ("[1, 2]</x>", ScanStatus.INVALID, None),
    ],
)
def test_read_json_arguments_at_every_split(text: str, status: ScanStatus, arguments: Any) -> None:
    for pieces in every_split(text):
        (got, value, reason), _ = run_reader(lambda src: read_json_arguments(src, ("</x>",)), pieces)
        assert (got, value) == (status, arguments), pieces
        assert bool(reason) == (status != ScanStatus.COMPLETE)
