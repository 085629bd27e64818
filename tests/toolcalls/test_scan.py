"""The scanners (:mod:`modelplug.toolcalls._scan`): the same answer however the text is split."""

from __future__ import annotations

import pytest

from modelplug.toolcalls._scan import ScanResult, ScanStatus, scan_json, scan_loose, split_elements, split_from
from tests.strategies import every_split
from tests.toolcalls._support import run_reader


@pytest.mark.parametrize(
    ("text", "status", "end"),
    [
        ('{"a": [1, -2.5e3, true, null, "x\\"}"]} tail', ScanStatus.COMPLETE, 38),
        ('[{"name": "f"}, 3] x', ScanStatus.COMPLETE, 18),
        ("{x}", ScanStatus.INVALID, 1),
        ('{"a" 1}', ScanStatus.INVALID, 5),
        ("[1.]", ScanStatus.INVALID, 1),
        ("[1.5", ScanStatus.TRUNCATED, 4),
        ('{"a": "unterminated', ScanStatus.TRUNCATED, 19),
        ("[tru]", ScanStatus.INVALID, 1),
        ('"\\', ScanStatus.TRUNCATED, 2),
    ],
)
def test_scan_json(text: str, status: int, end: int) -> None:
    for pieces in every_split(text):
        result, pos = run_reader(scan_json, pieces)
        assert isinstance(result, ScanResult)
        assert (result.status, pos) == (status, end), pieces


@pytest.mark.parametrize(
    ("text", "status", "end"),
    [
        ("f(a='x)', b=[1, {'c': \"]\"}])] tail", ScanStatus.COMPLETE, 29),
        ("f(a='''it's ''' )]", ScanStatus.COMPLETE, 18),
        ("f(x=1])", ScanStatus.INVALID, 5),
        ("f(x='", ScanStatus.TRUNCATED, 5),
        ("f(x=1 <stop>)", ScanStatus.INVALID, 6),
    ],
)
def test_scan_loose(text: str, status: int, end: int) -> None:
    for pieces in every_split(text):
        result, pos = run_reader(lambda src: scan_loose(src, ["]"], ("<stop>",)), pieces)
        assert (result.status, pos) == (status, end), pieces


@pytest.mark.parametrize(
    ("text", "elements", "broken"),
    [
        # the inside of an element need not be JSON; nested values and strings never split
        (
            '[{"name": "a"}, {"name": "b", "x",}, {"c": [1, {"d": ",]"}]}]',
            ['{"name": "a"}', '{"name": "b", "x",}', '{"c": [1, {"d": ",]"}]}'],
            None,
        ),
        (" [ {'a': '''x,]'''}, 'y\\'', ] ", ["{'a': '''x,]'''}", "'y\\''"], None),
        ('[{"a": "\\",]"}, 2]', ['{"a": "\\",]"}', "2"], None),
        ("[]", [], None),
        # brackets that cannot be matched: the elements before the fault, and where it is
        ('[{"a": 1}, {"b": "x]', ['{"a": 1}'], 17),
        ('[{"a": 1}, {"b": 2]}]', ['{"a": 1}'], 18),
        ('[{"a": 1}, {"b": 2}', ['{"a": 1}'], 19),
        ('{"a": 1}', [], 0),
    ],
)
def test_split_elements(text: str, elements: list[str], broken: int | None) -> None:
    extents, fault = split_elements(text)
    assert [text[a:b] for a, b in extents] == elements
    assert fault == broken


@pytest.mark.parametrize(
    ("text", "start", "elements", "broken", "end"),
    [
        # from inside a list (after an element that broke): the rest, and where the list ends
        ('[{"a": "x}, {"b": 1}, 2] tail', 12, ['{"b": 1}', "2"], None, 24),
        ('[{"a": "x}, {"b": 1}] {"c": 2}]', 12, ['{"b": 1}'], None, 21),
        ('[{"a": "x}, {"b": "y]', 12, [], 18, 21),
    ],
)
def test_split_from(text: str, start: int, elements: list[str], broken: int | None, end: int) -> None:
    extents, fault, after = split_from(text, start)
    assert [text[a:b] for a, b in extents] == elements
    assert fault == broken
    assert after == end
