"""Fixtures of the command-line tests: an isolated environment, the click runner, subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from modelplug.cli import main

#: Variables that would change which model or config the command line picks.
_ISOLATED = ("MODELPLUG_MODEL", "MODELPLUG_CONFIG", "MODELPLUG_DEBUG", "MODELPLUG_PLUGINS", "MODELPLUG_LOG")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No model or debug variables, a config path that does not exist (unless a test writes it),
    and a data dir of the test's own (the log database starts empty)."""
    for name in _ISOLATED:
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    monkeypatch.setenv("MODELPLUG_CONFIG", str(config))
    monkeypatch.setenv("MODELPLUG_DATA_DIR", str(tmp_path / "data"))
    yield config


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def responses(*items: Any) -> str:
    """A ``-o responses=...`` argument for the replay provider."""
    return "responses=" + json.dumps(list(items))


def write_replay(path: Path, text: str) -> Path:
    """A replay JSONL file holding one response that streams ``text`` word by word."""
    words = text.split(" ")
    chunks = [{"choices": [{"index": 0, "delta": {"content": w if i == 0 else " " + w}}]} for i, w in enumerate(words)]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    path.write_text("".join(json.dumps(c) + "\n" for c in chunks) + '"[DONE]"\n', encoding="utf-8")
    return path


def cli_env(**extra: str) -> dict[str, str]:
    """The current environment (already isolated by the autouse fixture) plus ``extra``."""
    env = dict(os.environ)
    env.update(extra)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return env


def run_cli(
    args: Sequence[str], *, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m modelplug ARGS`` in a subprocess with pipes (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "modelplug", *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        env=env if env is not None else cli_env(),
        timeout=timeout,
    )


def restore_default_sigint() -> None:
    """In a child about to exec: SIGINT back to its default disposition. A process started from a
    non-interactive shell in the background (``nohup tox &``, many CI runners) inherits an *ignored*
    SIGINT, and exec keeps it ignored; the tests that signal a child must not depend on that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(
    args: Sequence[str], *, sigint: Any = signal.SIG_DFL, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``python -m modelplug ARGS`` with piped stdout and stderr and no stdin, for tests that
    act while it streams (send SIGINT, close the pipe); the caller kills it in a ``finally``.

    ``sigint`` is the SIGINT disposition the child starts with (``signal.SIG_DFL`` by default,
    whatever the parent's is; ``signal.SIG_IGN`` to start it as a background job of a
    non-interactive shell would)."""
    return subprocess.Popen(
        [sys.executable, "-m", "modelplug", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env if env is not None else cli_env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
    )


def run_ok(runner: CliRunner, *args: str) -> str:
    """``modelplug run ARGS`` in process; its standard output, checked to have exited 0."""
    result = runner.invoke(main, ["run", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def logged(runner: CliRunner, *args: str) -> list[dict[str, object]]:
    """The entries ``modelplug logs --json ARGS`` prints."""
    result = runner.invoke(main, ["logs", "--json", *args])
    assert result.exit_code == 0, result.output
    entries: list[dict[str, object]] = json.loads(result.stdout)
    return entries
