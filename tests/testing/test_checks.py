"""The conformance kit's checks (:mod:`modelplug.testing.checks`): each finds the fault it is for
and nothing in honest output. Streams come from the replay provider; the faulty runs are built by
hand, as a lying provider would produce them."""

from __future__ import annotations

import anyio
from hypothesis import given
from hypothesis import strategies as st

import modelplug
from modelplug.testing.checks import (
    StreamRun,
    aconsume,
    consume,
    pick_stop_sequence,
    stop_leak_problems,
    tool_call_problems,
    usage_problems,
)
from modelplug.types import ChatMessage, Tool, ToolCall, Usage
from tests.strategies import text

ANSWER = {"content": "Hello big world", "usage": {"prompt_tokens": 3, "completion_tokens": 3}}


def _run(texts: list[str], finish_reason: str | None = "stop") -> StreamRun:
    message = ChatMessage(role="assistant", content=texts[-1] if texts else None, finish_reason=finish_reason)
    return StreamRun([], texts, [], message, "ok")


def test_consume_and_aconsume_record_the_same_run() -> None:
    with modelplug.load_model("replay:x", responses=[ANSWER], loop=True) as model:
        run = consume(model.stream("hi"))
        arun = anyio.run(aconsume, model.astream("hi"))
    assert run.texts == ["Hello ", "Hello big ", "Hello big world"] and run.joined == "Hello big world"
    assert run.usages == [Usage(3, 3)] and run.outcome == "ok" and run.message.content == "Hello big world"
    assert run.content_deltas == 3 and len(run.deltas) >= 3
    assert (arun.texts, arun.usages, arun.outcome) == (run.texts, run.usages, run.outcome)


@given(text, st.integers(0, 10))
def test_a_picked_stop_first_occurs_where_it_is_said_to(answer: str, start: int) -> None:
    picked = pick_stop_sequence(answer, start=start)
    if picked is not None:
        stop, position = picked
        assert answer.find(stop) == position >= max(start, 1)
        assert len(stop) in (4, 3, 5, 6, 8) and stop.strip() == stop


def test_a_stop_is_picked_mid_word_when_it_can_be() -> None:
    answer = "The capital of France is Paris, a city on the Seine."
    picked = pick_stop_sequence(answer)
    assert picked is not None
    stop, position = picked
    assert answer[position:].startswith(stop) and answer[position - 1].isalnum() and answer[position].isalnum()
    assert pick_stop_sequence("ab") is None and pick_stop_sequence("     ") is None


def test_a_stream_cut_cleanly_at_the_stop_has_no_problems() -> None:
    assert stop_leak_problems(_run(["The cap", "The capital"]), "ital of", "The capital") == []
    assert stop_leak_problems(_run(["whatever"]), "xyz", None) == []  # not deterministic: only the stop is checked


def test_each_way_to_leak_a_stop_is_named() -> None:
    [whole] = stop_leak_problems(_run(["The capital", "The capital of France"]), "of Fr", None)
    assert "the stop sequence 'of Fr' reached the consumer (after content delta 2" in whole
    partial = stop_leak_problems(_run(["The capital", "The capital o"]), "of Fr", "The capital ")
    assert "content delta 2 went past the stop sequence" in partial[0] and "leaked" in partial[0]
    short = stop_leak_problems(_run(["The cap"]), "ital", "The cap ")
    assert short == ["the streamed text 'The cap' should end just before the stop sequence: 'The cap '"]
    [reason] = stop_leak_problems(_run(["The cap"], finish_reason="length"), "ital", "The cap")
    assert reason == "finish_reason is 'length' after a stop sequence, not 'stop'"


def test_usage_once_or_as_cumulative_snapshots_has_no_problems() -> None:
    assert usage_problems([], final=None) == []
    assert usage_problems([Usage(5, 7)], final=Usage(5, 7), reference=Usage(5, 7)) == []
    snapshots = [Usage(5, 1), Usage(5, 4), Usage(5, 7)]
    assert usage_problems(snapshots, final=Usage(5, 7), max_tokens=7, finish_reason="length") == []


def test_each_usage_fault_is_named() -> None:
    increments = usage_problems([Usage(5, 4), Usage(0, 3)], final=Usage(5, 7))
    assert any("is not the last usage sent" in p for p in increments)
    assert any("disagree on prompt_tokens [0, 5]" in p for p in increments)
    assert any("usage went down" in p for p in increments)
    [total] = usage_problems([Usage(5, 7, 3)], final=Usage(5, 7, 3))
    assert "total_tokens 3 < prompt_tokens + completion_tokens" in total
    [reference] = usage_problems([Usage(5, 7)], final=Usage(5, 7), reference=Usage(5, 8))
    assert "differs from generate()'s usage" in reference
    [length] = usage_problems([Usage(5, 6)], final=Usage(5, 6), max_tokens=7, finish_reason="length")
    assert "max_tokens=7" in length and "counts 6 completion tokens" in length


def test_each_tool_call_fault_is_named() -> None:
    tools = [Tool(name="add", description="Add.", parameters={"type": "object", "properties": {}})]
    good = ToolCall(id="c1", name="add", arguments={"a": 1})
    assert tool_call_problems(ChatMessage(role="assistant", tool_calls=(good,)), tools) == []
    calls = (
        ToolCall(id="", name="add", arguments={}),
        ToolCall(id="c2", name="mul", arguments={}),
        ToolCall(id="c3", name="add", arguments=None, raw_arguments="{oops"),
        {"name": "add"},
    )
    problems = tool_call_problems(ChatMessage(role="assistant", tool_calls=calls), tools)  # type: ignore[arg-type]
    assert problems == [
        "tool call 'add' has no id",
        "tool call names 'mul', which is none of the tools given (['add'])",
        "the arguments of tool call 'add' could not be decoded: '{oops'",
        "a tool call is a dict, not a modelplug.ToolCall: {'name': 'add'}",
    ]
