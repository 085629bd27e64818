"""The incremental source and scanners: the same answer however the text is split."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modelplug.toolcalls._scan import ScanResult, ScanStatus, scan_json, scan_loose, split_elements
from modelplug.toolcalls._source import NEED, Read, Source, until
from tests.strategies import every_split


def _run(make: Callable[[Source], Read[Any]], pieces: list[str]) -> tuple[Any, int]:
    """Run a reader step over ``pieces``; its result and the cursor's block position."""
    src = Source(pieces[0], 0, len(pieces) == 1)
    gen = make(src)
    rest = pieces[1:]
    while True:
        try:
            item = gen.send(None)
        except StopIteration as stop:
            return stop.value, src.pos
        assert item is NEED
        piece = rest.pop(0)
        src.feed(piece, not rest)


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
        result, pos = _run(scan_json, pieces)
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
        result, pos = _run(lambda src: scan_loose(src, ["]"], ("<stop>",)), pieces)
        assert (result.status, pos) == (status, end), pieces


def test_until_with_limit() -> None:
    for pieces in every_split("abc</x>"):
        assert _run(lambda src: until(src, "</x>", 3), pieces) == (True, 3)
        assert _run(lambda src: until(src, "</x>", 2), pieces)[0] is False


def test_source_text_across_pieces() -> None:
    src = Source("xxabc", 2, False)
    src.i = 3
    src.feed("def", False)
    src.i = 2
    src.feed("ghi", True)
    assert src.text(0, 9) == "abcdefghi"
    assert src.text(1, 7) == "bcdefg"
    assert src.pos == 3


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
