"""Generation options on the command line: the standard flags reach the provider, ``-g`` carries
provider generation options, and a misplaced option is a usage error naming the right flag."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelplug import _plugins as plugins
from modelplug import register_provider
from modelplug.cli import main
from tests.cli.conftest import responses
from tests.cli.providers import OneShot, Probe


@pytest.fixture
def probe() -> Iterator[None]:
    plugins.reset()
    register_provider("probe", Probe())
    register_provider("oneshot", OneShot())
    yield
    plugins.reset()


def report(runner: CliRunner, *args: str) -> dict[str, object]:
    result = runner.invoke(main, ["run", "-m", "probe:x", *args, "hi"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_standard_flags_reach_the_provider(runner: CliRunner, probe: None) -> None:
    got = report(runner, "--seed", "42", "--top-p", "0.9", "--tool-choice", "none", "--response-format", "json")
    assert (got["seed"], got["top_p"], got["tool_choice"]) == (42, 0.9, "none")
    assert got["response_format"] == {"type": "json_object"}


def test_a_tool_name_forces_that_tool(runner: CliRunner, probe: None) -> None:
    got = report(runner, "-t", "calculator", "--tool-choice", "calculator")
    assert got["tools"] == ["calculator"]
    assert got["tool_choice"] == {"type": "function", "function": {"name": "calculator"}}


def test_response_format_schema_inline_file_and_object(runner: CliRunner, probe: None, tmp_path: Path) -> None:
    schema = {"title": "city", "type": "object", "properties": {"name": {"type": "string"}}}
    expected = {"type": "json_schema", "json_schema": {"name": "city", "schema": schema, "strict": True}}
    assert report(runner, "--response-format", json.dumps(schema))["response_format"] == expected
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    assert report(runner, "--response-format", f"@{path}")["response_format"] == expected
    whole = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    assert report(runner, "--response-format", json.dumps(whole))["response_format"] == whole


def test_provider_generation_options_go_in_extra(runner: CliRunner, probe: None) -> None:
    got = report(runner, "-g", "top_k=20", "-g", "mode=fast", "-g", 'logit_bias={"1": -100}')
    assert got["extra"] == {"top_k": 20, "mode": "fast", "logit_bias": {"1": -100}}
    assert got["options"] == {}  # not a load-time option


def test_stop_is_repeatable_and_cuts_the_answer(runner: CliRunner) -> None:
    text = "one two three four"
    for stops, expected in ((["three"], "one two \n"), (["four", "two"], "one \n")):
        args = [arg for stop in stops for arg in ("--stop", stop)]
        result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses(text), *args, "hi"])
        assert result.exit_code == 0, result.output
        assert result.stdout == expected


def test_no_stream_shows_the_whole_answer(runner: CliRunner, probe: None) -> None:
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("Paris."), "--no-stream", "--json", "hi"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[-1]["message"]["content"] == "Paris." and lines[-1]["stats"]["outcome"] == "ok"
    plain = runner.invoke(main, ["run", "-m", "oneshot:x", "--no-stream", "hi"])
    assert plain.stdout == "one shot: hi\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["-o", "temperature=0"],
            "'temperature' is a generation option, not a model (load-time) option: use --temperature 0",
        ),
        (["-o", "stop=x"], "use --stop x"),
        (["-o", "top_k=5"], "use -g top_k=5"),
        (["-o", "tools=[]"], "use --tool MODULE:FUNCTION"),
        (["-g", "seed=1"], "'seed' has its own flag: use --seed instead of -g"),
        (["-g", "n=3"], "'n' is a model (load-time) option of this provider, not a generation option: use -o n=3"),
        (["-g", "novalue"], "expected key=value"),
        (["--response-format", "{not json"], "expected text, json, a JSON schema or @schema.json"),
        (["--response-format", "@/no/such/schema.json"], "cannot read '/no/such/schema.json'"),
        (["--top-p", "1.5"], "--top-p"),
        (["--seed", "x"], "--seed"),
    ],
)
def test_misplaced_options_say_which_flag_to_use(runner: CliRunner, probe: None, args: list[str], needle: str) -> None:
    result = runner.invoke(main, ["run", "-m", "probe:x", *args, "hi"])
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_agent_takes_the_sampling_flags(runner: CliRunner) -> None:
    final = {"tool_calls": [{"id": "c", "function": {"name": "final_answer", "arguments": {"answer": "4"}}}]}
    args = ["agent", "-m", "replay:x", "-o", responses(final), "--seed", "3", "--top-p", "0.5", "-g", "top_k=2", "2+2?"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    wrong = runner.invoke(main, ["agent", "-m", "replay:x", "-o", responses(final), "-o", "seed=3", "2+2?"])
    assert wrong.exit_code == 2 and "use --seed 3" in wrong.stderr
