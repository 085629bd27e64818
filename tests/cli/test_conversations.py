"""Conversations and the log database (:mod:`modelplug.cli.conversations`): ``run`` logs every
answer, ``-c`` / ``--cid`` continue, secrets never stored, and several processes writing at once
lose nothing. The ``logs`` command's own tests are in ``test_logs.py``."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelplug import _plugins as plugins
from modelplug import register_provider
from modelplug.cli import main
from modelplug.cli.conversations import LogStore, logs_path
from tests.cli.conftest import cli_env, logged, responses, run_ok
from tests.cli.providers import Probe


@pytest.fixture
def probe() -> Iterator[None]:
    plugins.reset()
    register_provider("probe", Probe())
    yield
    plugins.reset()


def test_the_data_dir_is_the_tests_own(tmp_path: Path) -> None:
    assert logs_path() == tmp_path / "data" / "logs.db"


def test_every_answer_is_logged_with_model_options_usage_and_timing(runner: CliRunner) -> None:
    message = {"content": "Paris.", "usage": {"prompt_tokens": 4, "completion_tokens": 2}}
    run_ok(runner, "-m", "replay:x", "-o", responses(message), "-s", "Be brief.", "--seed", "7", "Capital of France?")
    [entry] = logged(runner)
    assert entry["model"] == entry["answered_by"] == "replay:x"
    assert (entry["system"], entry["prompt"], entry["response"]) == ("Be brief.", "Capital of France?", "Paris.")
    assert entry["options"] == {"seed": 7}
    assert entry["usage"] == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    assert entry["outcome"] == "ok" and entry["finish_reason"] == "stop"
    assert isinstance(entry["duration_s"], float) and isinstance(entry["ttft_s"], float)
    assert "responses" in entry["model_options"]  # type: ignore[operator]


def test_tool_calls_are_logged(runner: CliRunner) -> None:
    call = {"tool_calls": [{"id": "c1", "function": {"name": "calculator", "arguments": {"expression": "17*23"}}}]}
    run_ok(runner, "-m", "replay:x", "-o", responses(call), "-t", "calculator", "--tool-choice", "required", "17*23?")
    [entry] = logged(runner)
    [logged_call] = entry["tool_calls"]  # type: ignore[misc]
    assert logged_call["function"] == {"name": "calculator", "arguments": '{"expression": "17*23"}'}
    assert entry["options"] == {"tool_choice": "required", "tools": ["calculator"]}


def test_continue_the_last_conversation_and_a_given_one(runner: CliRunner, probe: None) -> None:
    run_ok(runner, "-m", "probe:x", "-s", "Be brief.", "first")
    first = json.loads(run_ok(runner, "-m", "probe:x", "-c", "second"))
    assert first["messages"][:3] == [["system", "Be brief."], ["user", "first"], ["assistant", first["messages"][2][1]]]
    assert first["messages"][-1] == ["user", "second"]
    [one, two] = logged(runner)
    assert one["conversation_id"] == two["conversation_id"]
    other = json.loads(run_ok(runner, "-m", "probe:x", "elsewhere"))  # a new conversation
    assert other["messages"] == [["user", "elsewhere"]]
    # --cid goes back to the first conversation, and -c then continues the one used last
    again = json.loads(run_ok(runner, "--cid", str(one["conversation_id"]), "third"))  # the model comes from the log
    assert [m for m in again["messages"] if m[0] == "user"] == [
        ["user", "first"],
        ["user", "second"],
        ["user", "third"],
    ]
    assert len(logged(runner, "--cid", str(one["conversation_id"]), "-n", "0")) == 3
    assert len(logged(runner, "-c", "-n", "0")) == 3


def test_continue_with_nothing_logged_and_an_unknown_cid_are_usage_errors(runner: CliRunner) -> None:
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("x"), "-c", "hi"])
    assert result.exit_code == 2 and "no conversation is logged yet" in result.stderr
    run_ok(runner, "-m", "replay:x", "-o", responses("x"), "hi")
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("x"), "--cid", "nope", "hi"])
    assert result.exit_code == 2 and "no logged conversation with id 'nope'" in result.stderr


@pytest.mark.parametrize("key", ["sk-proj-abcdefghijklmnop1234", "plain-registered-secret-42"])
def test_secrets_are_never_stored(runner: CliRunner, probe: None, key: str) -> None:
    # the probe streams back its model options, so the answer holds the key too
    run_ok(runner, "-m", "probe:x", "-o", f"api_key={key}", "-s", f"system {key}", f"my key {key}")
    raw = logs_path().read_bytes() + b"".join(p.read_bytes() for p in logs_path().parent.glob("logs.db-*"))
    assert key.encode() not in raw
    [entry] = logged(runner)
    assert entry["model_options"] == {"api_key": "***"}
    assert (entry["prompt"], entry["system"]) == ("my key ***", "system ***")
    assert '"api_key": "***"' in str(entry["response"])


def test_an_interrupted_or_failed_answer_is_logged_with_its_outcome(runner: CliRunner, probe: None) -> None:
    result = runner.invoke(main, ["run", "-m", "probe:x", "-o", "fail_after=2", "hi"])
    assert result.exit_code == 1
    [entry] = logged(runner)
    assert entry["outcome"] == "error" and "probe backend fell over" in str(entry["error"])
    assert entry["response"]  # the partial answer is kept


def test_an_unwritable_log_is_a_warning_not_a_failure(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MODELPLUG_DATA_DIR", str(blocker / "data"))
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("fine"), "hi"])
    assert result.exit_code == 0 and result.stdout == "fine\n"
    assert "could not log this answer" in result.stderr


_WRITER = """
import sys
from modelplug.cli.conversations import LogStore
from modelplug.types import ChatMessage
name, count = sys.argv[1], int(sys.argv[2])
with LogStore() as store:
    for i in range(count):
        store.log(conversation_id=name, model="replay:x", prompt=f"{name} {i}", message=ChatMessage(content=str(i)))
"""


def test_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    env = cli_env()
    processes = [
        subprocess.Popen([sys.executable, "-c", _WRITER, f"writer{n}", "60"], env=env, stderr=subprocess.PIPE)
        for n in range(6)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
    with LogStore() as store:
        entries = store.entries(limit=None)
    assert len(entries) == 360
    for n in range(6):
        assert [e.prompt for e in entries if e.conversation_id == f"writer{n}"] == [f"writer{n} {i}" for i in range(60)]
    connection = sqlite3.connect(logs_path())
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()


def test_concurrent_cli_runs_lose_nothing() -> None:
    env = cli_env()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "modelplug", "run", "-m", "example:default", "--max-tokens", "3", f"prompt {n}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(5)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
    with LogStore() as store:
        assert sorted(e.prompt for e in store.entries(limit=None)) == [f"prompt {n}" for n in range(5)]
    assert os.environ["MODELPLUG_DATA_DIR"] in str(logs_path())


def test_text_utf8_cannot_hold_is_logged_as_question_marks(runner: CliRunner) -> None:
    run_ok(runner, "-m", "replay:x", "-o", responses("a\ud800b"), "hi")  # a lone surrogate from a backend
    [entry] = logged(runner)
    assert entry["response"] == "a?b"


@pytest.mark.parametrize("damage", ["not a database", "a folder"])
@pytest.mark.parametrize(
    "args",
    [
        ["logs"],
        ["logs", "--json"],
        ["logs", "status"],
        ["run", "-c", "-m", "replay:x", "-o", responses("hi"), "again"],
    ],
    ids=" ".join,
)
def test_a_log_database_that_cannot_be_read_is_a_clear_error(damage: str, args: list[str]) -> None:
    path = logs_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if damage == "a folder":
        path.mkdir()
    else:
        path.write_text("these bytes are not SQLite\n" * 10)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert f"Error: cannot read the log database {path}" in result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.output
