"""The statistics the command line reports after a stream (:mod:`modelplug.cli.stats`), from real
replayed streams."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import modelplug
from modelplug.cli.stats import StreamStats
from modelplug.types import Usage

ANSWER = {"content": "a b c", "usage": {"prompt_tokens": 3, "completion_tokens": 3}}


@pytest.fixture
def model() -> Iterator[modelplug.Model]:
    with modelplug.load_model("replay:x", responses=[ANSWER], loop=True) as loaded:
        yield loaded


def test_tokens_per_second_only_over_a_meaningful_time() -> None:
    usage = Usage(5, 40)
    assert StreamStats(0.1, 2.1, usage).tokens_per_s == pytest.approx(19.5)
    assert StreamStats(0.001, 0.003, usage).tokens_per_s is None  # 2 ms of decoding
    assert StreamStats(0.1, 2.1, Usage(5, 2)).tokens_per_s is None  # two tokens
    assert "tokens/s" not in StreamStats(0.001, 0.003, usage).format()


def test_a_finished_stream_gives_its_usage_finish_and_timings(model: modelplug.Model) -> None:
    stream = model.stream("hi")
    deltas = sum(1 for _ in stream)
    stats = StreamStats.from_stream(stream, deltas)
    assert (stats.usage, stats.finish_reason, stats.outcome, stats.deltas) == (Usage(3, 3), "stop", "ok", deltas)
    assert stats.ttft_s is not None and stats.duration_s is not None and 0 <= stats.ttft_s <= stats.duration_s
    assert stats.answered_by is None and stats.attempts == 1
    data = stats.to_dict()
    assert data["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
    assert data["outcome"] == "ok" and data["tokens_per_s"] is None  # three tokens in microseconds
    assert "3 prompt + 3 completion = 6 tokens" in stats.format() and stats.format().endswith("finish stop")


def test_a_stream_closed_early_is_reported_interrupted_without_usage(model: modelplug.Model) -> None:
    stream = model.stream("hi")
    next(iter(stream))
    stream.close()
    stats = StreamStats.from_stream(stream, 1)
    assert stats.outcome == "cancelled" and stats.usage is None
    line = stats.format()
    assert "1 deltas (no usage reported)" in line and line.endswith("interrupted") and "finish" not in line


def test_the_line_names_the_cost_and_the_model_a_fallback_chain_ended_on() -> None:
    stats = StreamStats(0.2, 1.0, Usage(10, 20), "stop", "ok", 20, cost=0.000045, answered_by="replay:b", attempts=2)
    line = stats.format()
    assert "$0.000045" in line and line.endswith("answered by replay:b after 2 attempts")
    assert stats.to_dict()["answered_by"] == "replay:b"
