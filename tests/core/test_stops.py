"""Stop sequences: whole-text cutting and the incremental filter that never leaks a partial stop."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import DATA
from tests.strategies import splits

from modelplug.stops import StopFilter, cut_at_stop

STOP_CASES = [c for c in json.loads((DATA / "behaviour_cases.json").read_text()) if c["kind"] == "stop_sequences"]


@pytest.mark.parametrize("case", STOP_CASES, ids=[c["id"] for c in STOP_CASES])
def test_behaviour_cases(case: dict[str, Any]) -> None:
    content, _ = cut_at_stop(case["input"]["content"], case["input"]["stop_sequences"])
    assert content == case["expected"]["content"]


def test_earliest_stop_wins() -> None:
    assert cut_at_stop("a STOP b END", ["END", "STOP"]) == ("a ", True)


def test_the_stop_completed_first_wins_as_when_streaming() -> None:
    # "<" is complete after two characters; "><<" would need a third: generation stops at "<"
    assert cut_at_stop("><<", ["<", "><<"]) == (">", True)
    assert cut_at_stop("abcd", ["bc", "abc"]) == ("", True)  # same end: the earlier start wins


def test_filter_holds_back_only_a_possible_stop_prefix() -> None:
    cutter = StopFilter(["</end>"])
    assert cutter.feed("Hello </") == "Hello "
    assert cutter.feed("b>") == "</b>"
    assert cutter.feed(" ok </en") == " ok "
    assert cutter.feed("d> gone") == ""
    assert cutter.stopped and cutter.feed("more") == "" and cutter.flush() == ""


def test_flush_releases_held_text_at_the_end() -> None:
    cutter = StopFilter(["###"])
    assert cutter.feed("a#") == "a"
    assert cutter.flush() == "#"


alphabet = st.text(alphabet="ab<>/ ", max_size=30)


@given(alphabet, st.lists(st.text(alphabet="ab<>/", min_size=1, max_size=4), min_size=1, max_size=3), st.data())
def test_any_split_emits_exactly_the_cut_text_and_never_a_partial_stop(
    text: str, stops: list[str], data: st.DataObject
) -> None:
    expected, found = cut_at_stop(text, stops)
    cutter = StopFilter(stops)
    emitted = ""
    for piece in data.draw(splits(text)):
        emitted += cutter.feed(piece)
        # whatever was emitted so far is final: a prefix of the answer, never part of a stop
        assert expected is not None and expected.startswith(emitted)
    emitted += cutter.flush()
    assert emitted == expected
    assert cutter.stopped == found
