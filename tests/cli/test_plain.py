"""The views for output that is not a terminal (:mod:`modelplug.cli.plain`): plain text and JSON
lines, written to in-memory streams exactly as ``modelplug run`` writes to a pipe."""

from __future__ import annotations

import io
import json

from modelplug.cli.plain import JsonLinesView, PlainView, format_tool_call, json_line
from modelplug.cli.stats import StreamStats
from modelplug.types import ChatMessage, ChatMessageStreamDelta, ToolCall, Usage


def _reject_constant(name: str) -> None:
    raise AssertionError(f"a bare {name} token is not strict JSON")


CALL = ToolCall(id="c1", name="lookup", arguments={"q": "café"})


def test_plain_text_goes_to_out_reasoning_to_err_and_blocks_and_calls_get_lines_of_their_own() -> None:
    out, err = io.StringIO(), io.StringIO()
    with PlainView(out, err, show_stats=True) as view:
        view.update(ChatMessageStreamDelta(reasoning_content="thinking"))
        view.update(ChatMessageStreamDelta(content="Hello"))
        view.update(ChatMessageStreamDelta(content=" there"))
        view.add_block("result text", title="lookup")
        view.update(ChatMessageStreamDelta(content="Done."))
        message = ChatMessage(role="assistant", content="Hello there", tool_calls=(CALL,))
        view.finish(StreamStats(0.1, 0.5, Usage(3, 2), "tool_calls", "ok", 3), message)
    assert out.getvalue() == 'Hello there\n[lookup]\nresult text\nDone.\ntool call: lookup {"q": "café"}\n'
    assert err.getvalue().startswith("thinking\nTTFT 0.10 s, 3 prompt + 2 completion = 5 tokens")


def test_an_answer_without_a_final_newline_gets_one_and_no_stats_unless_asked() -> None:
    out, err = io.StringIO(), io.StringIO()
    with PlainView(out, err) as view:
        view.update(ChatMessageStreamDelta(content="no newline"))
        assert view.mid_line()
        view.finish(StreamStats(0.1, 0.5, None, "stop", "ok", 1))
    assert (out.getvalue(), err.getvalue()) == ("no newline\n", "")


def test_a_call_whose_arguments_are_not_json_shows_the_raw_text() -> None:
    assert format_tool_call(ToolCall(id="c", name="f", arguments=None, raw_arguments="{oops")) == "f {oops"
    assert format_tool_call(ToolCall(id="c", name="f", arguments=None)) == "f"


def test_json_lines_are_strict_json_even_for_non_finite_numbers() -> None:
    line = json_line({"values": [float("nan"), float("inf"), -float("inf"), 1.5], "text": "é"})
    assert line.endswith("\n") and "\n" not in line[:-1] and "é" in line
    assert json.loads(line, parse_constant=lambda name: _reject_constant(name)) == {
        "values": ["NaN", "Infinity", "-Infinity", 1.5],
        "text": "é",
    }


def test_json_lines_are_chunks_blocks_and_one_result_sharing_the_id() -> None:
    out = io.StringIO()
    with JsonLinesView(out, model="replay:x", id="chatcmpl-test") as view:
        view.update(ChatMessageStreamDelta(content="Hi"))
        view.add_block("observation", title="lookup", kind="tool")
        message = ChatMessage(role="assistant", content="Hi", usage=Usage(3, 1), finish_reason="stop")
        view.finish(StreamStats(0.1, 0.2, Usage(3, 1), "stop", "ok", 1), message)
    chunk, block, result = (json.loads(line) for line in out.getvalue().splitlines())
    assert chunk["object"] == "chat.completion.chunk" and chunk["id"] == "chatcmpl-test"
    assert chunk["model"] == "replay:x" and chunk["choices"][0]["delta"]["content"] == "Hi"
    assert block == {"object": "modelplug.block", "kind": "tool", "title": "lookup", "text": "observation"}
    assert result["object"] == "modelplug.result" and result["id"] == "chatcmpl-test"
    assert result["message"]["content"] == "Hi" and result["finish_reason"] == "stop"
    assert result["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    assert result["stats"]["outcome"] == "ok"
    assert JsonLinesView(io.StringIO()).id.startswith("chatcmpl-")
