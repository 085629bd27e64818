"""``modelplug run`` with the replay provider and in-code providers (click's CliRunner, in process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelplug import _plugins as plugins
from modelplug import aggregate_chunks, register_provider
from modelplug.cli import main
from tests.cli.conftest import responses, write_replay
from tests.cli.providers import OneShot, Probe

TEXT = "The capital of France is **Paris**.\n\n- one\n- two\n"


@pytest.fixture
def probe() -> Iterator[None]:
    plugins.reset()
    register_provider("probe", Probe())
    register_provider("oneshot", OneShot())
    yield
    plugins.reset()


def test_plain_output_is_exactly_the_model_text(runner: CliRunner) -> None:
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses(TEXT), "hi"])
    assert result.exit_code == 0, result.output
    assert result.stdout == TEXT
    assert "\x1b" not in result.stdout


def test_json_lines_parse_and_aggregate_to_the_message(runner: CliRunner) -> None:
    message = {
        "content": "Let me add.",
        "reasoning_content": "1 + 2 needs a tool.",
        "tool_calls": [{"id": "call_1", "function": {"name": "add", "arguments": {"a": 1, "b": 2}}}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 9},
    }
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses(message), "--json", "add 1 and 2"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    chunks, final = lines[:-1], lines[-1]
    assert chunks and all(c["object"] == "chat.completion.chunk" and c["model"] == "replay:x" for c in chunks)
    assert final["object"] == "modelplug.result"
    aggregated = aggregate_chunks(chunks)
    assert final["message"]["content"] == aggregated.content == "Let me add."
    assert final["message"]["reasoning_content"] == aggregated.reasoning_content == "1 + 2 needs a tool."
    assert final["message"]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}
    ]
    assert aggregated.tool_calls[0].arguments == {"a": 1, "b": 2}
    assert final["usage"] == {"prompt_tokens": 7, "completion_tokens": 9, "total_tokens": 16}
    assert final["finish_reason"] == "tool_calls"
    stats = final["stats"]
    assert stats["outcome"] == "ok" and stats["deltas"] == len(chunks) and stats["usage"] == final["usage"]
    assert stats["ttft_s"] >= 0 and stats["duration_s"] >= stats["ttft_s"]


def test_reasoning_goes_to_stderr_and_tool_calls_after_the_text(runner: CliRunner) -> None:
    message = {
        "content": "Calling.",
        "reasoning_content": "think",
        "tool_calls": [{"function": {"name": "add", "arguments": {"a": 1}}}],
    }
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses(message), "hi"])
    assert result.exit_code == 0, result.output
    assert result.stdout == 'Calling.\ntool call: add {"a": 1}\n'
    assert result.stderr == "think\n"


def test_prompt_from_stdin(runner: CliRunner, probe: None) -> None:
    for args in (["run", "-m", "probe:x"], ["run", "-m", "probe:x", "-"]):
        result = runner.invoke(main, args, input="What is up?\n")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["messages"] == [["user", "What is up?"]]


def test_empty_prompt_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("x")], input="  \n")
    assert result.exit_code == 2
    assert "the prompt is empty" in result.stderr


def test_system_and_generation_options_reach_the_provider(runner: CliRunner, probe: None) -> None:
    args = ["run", "-m", "probe:x", "-s", "Be brief.", "--max-tokens", "12", "--temperature", "0.5", "hi"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["messages"] == [["system", "Be brief."], ["user", "hi"]]
    assert (report["max_tokens"], report["temperature"]) == (12, 0.5)


def test_options_are_typed_by_the_provider(runner: CliRunner, probe: None) -> None:
    args = ["-o", "n=3", "-o", "ratio=2", "-o", "flag=off", "-o", "name=007", "-o", 'extra=[1, {"a": null}]']
    result = runner.invoke(main, ["run", "-m", "probe:x", *args, "hi"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["options"] == {
        "n": 3,
        "ratio": 2.0,
        "flag": False,
        "name": "007",
        "extra": [1, {"a": None}],
    }


@pytest.mark.parametrize(
    ("option", "needle"),
    [("n=three", "n: expected an integer, got 'three'"), ("flag=2", "flag: expected a boolean"), ("n", "key=value")],
)
def test_bad_option_values_exit_2(runner: CliRunner, probe: None, option: str, needle: str) -> None:
    result = runner.invoke(main, ["run", "-m", "probe:x", "-o", option, "hi"])
    assert result.exit_code == 2
    assert needle in result.stderr and "'-o' / '--option'" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--max-tokens", "0"], "--max-tokens"),
        (["--temperature", "-1"], "--temperature"),
        (["-m", "no-colon"], "must look like '<provider>:<model>'"),
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str], needle: str) -> None:
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("x"), *args, "hi"])
    assert result.exit_code == 2
    assert needle in result.stderr


def test_provider_rejecting_an_option_value_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("x"), "-o", "delay=-1", "hi"])
    assert result.exit_code == 2
    assert "replay option 'delay'" in result.stderr


def test_unknown_provider_lists_installed_ones_and_the_extra(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, fresh_plugins: None
) -> None:
    monkeypatch.setenv("MODELPLUG_PLUGINS", "replay")
    result = runner.invoke(main, ["run", "-m", "litellm:openai/gpt-4o-mini", "hi"])
    assert result.exit_code == 1
    assert "unknown provider 'litellm'; installed providers: replay." in result.stderr
    assert "python scripts/install_from_checkout.py 'modelplug[litellm]'" in result.stderr
    assert "pip install 'modelplug" not in result.stderr  # not on an index: the name could be anyone's
    assert "Traceback" not in result.output


def test_unknown_provider_from_env_says_where_the_spec_came_from(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPLUG_MODEL", "nosuch:model")
    result = runner.invoke(main, ["run", "-o", "a=1", "hi"])
    assert result.exit_code == 1
    assert "unknown provider 'nosuch'" in result.stderr
    assert "(model 'nosuch:model' from MODELPLUG_MODEL)" in result.stderr


def test_model_load_error_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["run", "-m", f"replay:{tmp_path / 'missing.jsonl'}", "hi"])
    assert result.exit_code == 1
    assert "replay file" in result.stderr and "not found" in result.stderr
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["run", "-m", "nosuch:x", "hi"]
    assert "Traceback" not in runner.invoke(main, args).stderr
    assert "Traceback" in runner.invoke(main, ["--debug", *args]).stderr
    monkeypatch.setenv("MODELPLUG_DEBUG", "1")
    result = runner.invoke(main, args)
    assert "Traceback" in result.stderr and "UnknownProviderError" in result.stderr
    assert result.exit_code == 1


def test_error_mid_stream_keeps_the_partial_answer(runner: CliRunner, probe: None) -> None:
    result = runner.invoke(main, ["run", "-m", "probe:x", "-o", "fail_after=2", "hi"])
    assert result.exit_code == 1
    assert len(result.stdout) == 15  # two 7-character pieces arrived before the failure, then a newline
    assert result.stdout.endswith("\n")
    assert "Error: probe backend fell over" in result.stderr


def test_provider_without_streaming_falls_back_to_one_delta(runner: CliRunner, probe: None) -> None:
    result = runner.invoke(main, ["run", "-m", "oneshot:x", "--json", "hello"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[-1]["message"]["content"] == "one shot: hello"
    assert lines[-1]["usage"]["total_tokens"] == 7


def test_model_from_env_and_config(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, isolated_env: Path, tmp_path: Path
) -> None:
    config_file = write_replay(tmp_path / "config-answer.jsonl", "from the config file")
    env_file = write_replay(tmp_path / "env-answer.jsonl", "from the environment")
    isolated_env.write_text(f"model = {json.dumps('replay:' + str(config_file))}\n", encoding="utf-8")
    assert runner.invoke(main, ["run", "hi"]).stdout == "from the config file\n"
    monkeypatch.setenv("MODELPLUG_MODEL", f"replay:{env_file}")
    assert runner.invoke(main, ["run", "hi"]).stdout == "from the environment\n"
    flag = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("from the flag"), "hi"])
    assert flag.stdout == "from the flag\n"


def test_bad_config_file_exits_2(runner: CliRunner, isolated_env: Path) -> None:
    isolated_env.write_text("model = [", encoding="utf-8")
    result = runner.invoke(main, ["run", "hi"])
    assert result.exit_code == 2
    assert "cannot read the config file" in result.stderr


def test_stats_flag_writes_stats_to_stderr(runner: CliRunner) -> None:
    message = {"content": "Paris.", "usage": {"prompt_tokens": 4, "completion_tokens": 2}}
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses(message), "--stats", "hi"])
    assert result.exit_code == 0
    assert result.stdout == "Paris.\n"
    assert "TTFT" in result.stderr and "4 prompt + 2 completion = 6 tokens" in result.stderr
    quiet = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses(message), "hi"])
    assert quiet.stderr == ""  # stderr is not a terminal under the runner


def test_stdin_with_a_byte_order_mark(runner: CliRunner, probe: None) -> None:
    result = runner.invoke(main, ["run", "-m", "probe:x"], input=b"\xef\xbb\xbfhi\n")
    assert json.loads(result.stdout)["messages"] == [["user", "hi"]]


def test_config_file_that_is_not_utf8_is_a_usage_error(runner: CliRunner, isolated_env: Path) -> None:
    isolated_env.write_bytes(b"\xff\xfe model = 1")
    result = runner.invoke(main, ["run", "hi"])  # was a UnicodeDecodeError traceback
    assert result.exit_code == 2 and "cannot read the config file" in result.stderr


def test_an_unexpected_exception_is_one_error_line(
    runner: CliRunner, probe: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelplug.cli import plain

    def broken_update(self: object, delta: object) -> None:
        raise TypeError("a bug somewhere")

    monkeypatch.setattr(plain.PlainView, "update", broken_update)
    result = runner.invoke(main, ["run", "-m", "oneshot:x", "hi"])
    assert result.exit_code == 1
    assert "Error: unexpected TypeError: a bug somewhere (run with --debug" in result.stderr
    assert "Traceback" not in result.output
    debug = runner.invoke(main, ["--debug", "run", "-m", "oneshot:x", "hi"])
    assert debug.exit_code == 1 and "Traceback" in debug.stderr
