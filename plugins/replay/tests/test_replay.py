"""Bad replay scripts and options fail at load time with a message that names what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import modelplug
from modelplug import ChatMessage, ToolCall, Usage
from modelplug.errors import InvalidOptionError, ModelLoadError, ServerError


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"delya": 0.1}, r"unknown replay option\(s\) \['delya'\]"),  # was ignored
        ({"delay": float("nan")}, "finite"),  # failed mid-stream: 'Invalid value NaN'
        ({"delay": float("inf")}, "finite"),  # failed mid-stream: 'timestamp out of range'
        ({"capabilities": "x"}, "'capabilities' must be a dict"),
        ({"responses": [{"chunks": 5}]}, "'chunks' must be a list"),  # was TypeError
        ({"responses": [{"chunks": [{"choices": 5}]}]}, "chunk 0: stream chunk field choices"),
        ({"responses": [["hello"]]}, "chunk 0"),  # failed only when played
        ({"responses": [{"content": 5}]}, "'content' must be"),  # played as an empty answer
        ({"responses": [{"tool_calls": [{"function": {}}]}]}, "function.name"),  # was KeyError: 'name'
        ({"responses": [{"tool_calls": "x"}]}, "'tool_calls' must be a list"),  # was AttributeError
        ({"responses": [{"usage": "x"}]}, "usage must be a dict"),  # was ValueError (dict update)
    ],
)
def test_bad_options_and_responses_are_named(options: dict[str, Any], match: str) -> None:
    options = {"responses": ["x"], **options}
    with pytest.raises(InvalidOptionError, match=match):
        modelplug.load_model("replay:x", **options)


def _write(path: Path, lines: list[Any]) -> str:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return f"replay:{path}"


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        ([], "holds no response"),
        (["{not json"], "line 1: not JSON"),
        (
            [{"choices": [{"index": 0, "delta": {"content": "a"}}]}, {"choices": "x"}],
            "line 2: stream chunk field choices",
        ),
        ([{"choices": [], "usage": {"prompt_tokens": -1}}], "line 1: usage.prompt_tokens"),
        ([{"id": "c", "chunks": 5}], "line 1: replay case 'c'"),
        ([[1, 2]], "line 1: expected a chunk dict"),
        # a message dict was taken for a chunk without choices, and every play failed with "no choices"
        ([{"content": "ok"}], r"line 1: a dict with none of 'choices', 'error', 'usage' is not a chunk"),
    ],
)
def test_bad_files_are_model_load_errors_naming_the_line(tmp_path: Path, lines: list[Any], match: str) -> None:
    with pytest.raises(ModelLoadError, match=match):
        modelplug.load_model(_write(tmp_path / "script.jsonl", lines))


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "script.jsonl"
    path.write_bytes(b'{"choices": []}\n\xff\xfe binary\n')
    with pytest.raises(ModelLoadError, match=r"line 2: not UTF-8 text \(byte 0xff\)"):
        modelplug.load_model(f"replay:{path}")


def test_a_recorded_error_chunk_in_a_file_is_raised_when_played(tmp_path: Path) -> None:
    # was raised by load_model: the file's chunks were read without the responses option's rule
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": "partial"}}]},
        {"error": {"message": "overloaded", "type": "server_error"}},
    ]
    model = modelplug.load_model(_write(tmp_path / "script.jsonl", chunks))
    stream = model.stream("hi")
    with pytest.raises(ServerError, match="overloaded"):
        for _ in stream:
            pass
    assert stream.message.content == "partial"


def test_paths_that_are_not_files(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="is a folder"):
        modelplug.load_model(f"replay:{tmp_path}")
    with pytest.raises(ModelLoadError, match="cannot use"):  # was 'could not load ...: OSError' quoting the name twice
        modelplug.load_model("replay:" + "a" * 5000)


def test_a_message_response_keeps_usage_finish_reason_and_list_content() -> None:
    usage = Usage(3, 4)
    message = ChatMessage(content=[{"type": "text", "text": "hi"}], usage=usage, finish_reason="length")
    with modelplug.load_model("replay:x", responses=[message]) as model:
        answer = model.generate("q")
    assert (answer.content, answer.usage, answer.finish_reason) == ("hi", usage, "length")  # usage was dropped


def test_tool_calls_without_an_id_get_reproducible_ids() -> None:
    response = {"tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}
    with modelplug.load_model("replay:x", responses=[response]) as model:
        assert model.generate("q").tool_calls == (ToolCall("call_replay_0", "f", {"a": 1}),)
