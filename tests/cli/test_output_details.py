"""The details that tell users we care: help that fits the terminal, real chunk ids, tokens/s on the
command line, one "Interrupted.", and an interrupt while the model loads that says so. (Quiet plugin
failures and log lines on their own line: ``test_log_lines.py``.)"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator, Mapping
from typing import Any

import click
import pytest
from click.testing import CliRunner

import modelplug
from modelplug import _plugins as plugins
from modelplug import register_provider
from modelplug.cli import main, report_interrupt
from modelplug.cli.conversations import LogStore
from tests.cli.conftest import cli_env, responses, run_cli, start_cli

LONG = " ".join(f"word{i:02d}" for i in range(40))


@pytest.mark.parametrize("columns", [60, 80, 140])
@pytest.mark.parametrize("command", [[], ["run"], ["chat"], ["logs"], ["agent"], ["plugins"], ["serve"]])
def test_help_wraps_to_the_terminal_and_summaries_are_whole(columns: int, command: list[str]) -> None:
    env = cli_env()
    env["COLUMNS"] = str(columns)
    result = run_cli([*command, "--help"], env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    examples = [line for line in lines if line.startswith("    modelplug ")]  # verbatim, never wrapped
    assert max(len(line) for line in lines if line not in examples) <= columns
    assert max((len(line) for line in examples), default=0) <= 80
    if not command:
        summaries = " ".join(" ".join(lines[lines.index("Commands:") + 1 :]).split())
        assert "..." not in summaries
        for name in ("agent", "chat", "logs", "plugins", "run", "serve"):
            short_help = main.get_command(click.Context(main), name).short_help  # type: ignore[union-attr]
            assert f"{name} {short_help}" in summaries
    if columns == 140 and command == ["run"]:
        assert max(len(line) for line in lines) > 100  # a wide terminal is used, not cut at 80


def test_json_chunks_carry_a_real_id_that_the_log_shares(runner: CliRunner) -> None:
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("one two three"), "--json", "hi"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    ids = {line["id"] for line in lines}
    assert len(ids) == 1
    [chunk_id] = ids
    assert chunk_id.startswith("chatcmpl-") and len(chunk_id) > len("chatcmpl-") + 8
    with LogStore() as store:
        [entry] = store.entries()
    assert chunk_id == f"chatcmpl-{entry.id}"
    again = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("x"), "--json", "hi"])
    assert json.loads(again.stdout.splitlines()[0])["id"] != chunk_id


def test_tokens_per_second_on_the_command_line(runner: CliRunner) -> None:
    answer = {"content": "a b c d e f g h", "usage": {"prompt_tokens": 3, "completion_tokens": 8}}
    instant = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses(answer), "--stats", "hi"])
    assert "8 completion" in instant.stderr and "tokens/s" not in instant.stderr
    paced = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses(answer), "-o", "delay=0.06", "--stats", "x"])
    assert "tokens/s" in paced.stderr


def test_a_second_ctrl_c_does_not_repeat_interrupted() -> None:
    process = start_cli(["run", "-m", "replay:x", "-o", responses(LONG), "-o", "delay=0.2", "hi"])
    try:
        assert process.stdout is not None
        assert process.stdout.read(6) == b"word00"
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err.decode().count("Interrupted.") == 1 and b"Traceback" not in err


def test_interrupted_is_reported_once_per_command() -> None:
    @click.command()
    @click.pass_context
    def command(ctx: click.Context) -> None:
        report_interrupt(ctx)
        report_interrupt(ctx)
        raise KeyboardInterrupt  # as a second Ctrl-C while winding down would

    main.add_command(command, "twice")
    try:
        result = CliRunner().invoke(main, ["twice"])
    finally:
        del main.commands["twice"]
    assert result.exit_code == 130 and result.stderr == "Interrupted.\n"


class _InterruptedLoad:
    """A provider whose load is cut by Ctrl-C (KeyboardInterrupt raised where a slow load would be)."""

    @modelplug.hookimpl
    def load(self, options: Mapping[str, Any]) -> None:
        raise KeyboardInterrupt


@pytest.fixture
def slow_loader() -> Iterator[None]:
    plugins.reset()
    register_provider("slowload", _InterruptedLoad())
    yield
    plugins.reset()


def test_an_interrupt_while_the_model_loads_says_so(runner: CliRunner, slow_loader: None) -> None:
    for command in (["run", "hi"], ["chat"], ["agent", "hi"]):
        result = runner.invoke(main, [*command, "-m", "slowload:big"])
        assert result.exit_code == 130
        assert result.stderr == "Interrupted while loading the model 'slowload:big'.\n"
