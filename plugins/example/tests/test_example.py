"""Behaviour of the example provider beyond the conformance kit."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelplug
from modelplug_example.markov import MarkovChain, tokenize


def test_tokens_join_back_into_the_text() -> None:
    text = "We hold these truths to be self-evident, that all men are created equal."
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert tokens[:3] == ["We", " hold", " these"]
    assert ["," in t for t in tokens].count(True) == 1


def test_a_seed_makes_sampling_repeatable() -> None:
    with modelplug.load_model("example:default") as model:
        first = model.generate("Tell me about the nation", max_tokens=30, temperature=1.0, seed=7)
        again = model.generate("Tell me about the nation", max_tokens=30, temperature=1.0, seed=7)
        greedy = model.generate("Tell me about the nation", max_tokens=30, temperature=0)
    assert first.content == again.content
    assert greedy.text.startswith(", conceived in Liberty, and")  # "nation" first occurs in "a new nation, conceived"


def test_usage_counts_tokens_exactly() -> None:
    with modelplug.load_model("example:default") as model:
        stream = model.stream("It was the best of times", max_tokens=12, temperature=0)
        deltas = list(stream)
    assert [d.usage for d in deltas if d.usage] == [stream.message.usage]
    assert stream.message.usage.prompt_tokens == len(tokenize("user: It was the best of times"))
    assert stream.message.usage.completion_tokens == 12 == len(tokenize(stream.message.text))
    assert stream.message.finish_reason == "length"


def test_a_text_file_is_a_model(tmp_path: Path) -> None:
    corpus = tmp_path / "song.txt"
    corpus.write_text("# a comment\nrow row row your boat gently down the stream\n", encoding="utf-8")
    with modelplug.load_model(f"example:{corpus}", order=1) as model:
        answer = model.generate("boat", temperature=0)
    assert answer.text == "gently down the stream"
    assert answer.finish_reason == "stop"
    assert MarkovChain(corpus, order=1).start("nothing known") == ["<s>"]


def test_bad_order_is_an_invalid_option() -> None:
    with pytest.raises(modelplug.InvalidOptionError, match="order"):
        modelplug.load_model("example:default", order="2")


def test_an_unknown_option_is_an_invalid_option() -> None:
    with pytest.raises(modelplug.InvalidOptionError, match=r"unknown example option\(s\) \['ordre'\]"):
        modelplug.load_model("example:default", ordre=3)  # was ignored: trained with order 2
