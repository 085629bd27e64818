"""``modelplug chat``: a real session on a pseudo-terminal (Ctrl-C stops the answer, not the
session), piped sessions in a subprocess, and the history each turn sends (in process)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from modelplug import _plugins as plugins
from modelplug import register_provider
from modelplug.cli import main
from modelplug.cli.conversations import LogStore
from tests.cli.conftest import cli_env, responses, run_cli
from tests.cli.providers import Probe
from tests.cli.terminal import spawn, strip_ansi

LONG = " ".join(f"word{i:02d}" for i in range(40))


@pytest.fixture
def probe() -> Iterator[None]:
    plugins.reset()
    register_provider("probe", Probe())
    yield
    plugins.reset()


class Terminal:
    """The master side of a pseudo-terminal running ``modelplug``: type, and wait for output."""

    def __init__(self, args: list[str]) -> None:
        self.pid, self.fd = spawn(args, columns=100)
        self.data = b""
        self.position = 0  # output before this was matched already

    def expect(self, needle: bytes, timeout: float = 60) -> None:
        """Wait until ``needle`` appears after the last match."""
        deadline = time.monotonic() + timeout
        while needle not in self.data[self.position :]:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {needle!r} in {strip_ansi(self.data.decode('utf-8', 'replace'))!r}"
            ready, _, _ = select.select([self.fd], [], [], min(remaining, 0.2))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                assert chunk, f"the terminal closed before {needle!r}: {self.data!r}"
                self.data += chunk
        self.position = self.data.index(needle, self.position) + len(needle)

    def type(self, text: bytes) -> None:
        os.write(self.fd, text)

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                self.data += chunk
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        raise AssertionError(f"the session did not end: {self.data!r}")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
@pytest.mark.parametrize("live", [True, False], ids=["live", "no-live"])
def test_ctrl_c_stops_the_answer_not_the_session(live: bool) -> None:
    args = ["chat", "-m", "replay:x", "-o", responses(LONG, "second answer"), "-o", "delay=0.15"]
    terminal = Terminal(args if live else [*args, "--no-live"])
    try:
        terminal.expect(b"Ctrl-D ends the session")
        terminal.expect(b"> ")
        terminal.type(b"first question\r")
        terminal.expect(b"word02")
        terminal.type(b"\x03")  # Ctrl-C, delivered by the terminal as SIGINT
        terminal.expect(b"(answer stopped)")
        terminal.expect(b"> ")
        terminal.type(b"second question\r")
        terminal.expect(b"second answer")
        terminal.expect(b"> ")
        terminal.type(b"\x04")  # Ctrl-D ends the session
        status = terminal.wait()
    except BaseException:
        os.kill(terminal.pid, 9)
        raise
    assert status == 0
    assert b"Traceback" not in terminal.data and b"Interrupted." not in terminal.data
    with LogStore() as store:
        first, second = store.entries(limit=None)
    assert first.conversation_id == second.conversation_id
    assert first.outcome == "cancelled" and first.response and LONG.startswith(first.response)
    assert "word39" not in first.response
    assert (second.prompt, second.response, second.outcome) == ("second question", "second answer", "ok")


def test_a_piped_session_answers_each_line_and_logs_one_conversation() -> None:
    result = run_cli(
        ["chat", "-m", "replay:x", "-o", responses("Paris.", "Berlin.", "Rome.")],
        input="Capital of France?\n\n!multi\nCapital of\nGermany?\n!end\nquit\nnever sent\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "> Paris.\n> > Berlin.\n> "
    with LogStore() as store:
        entries = store.entries(limit=None)
    assert [e.prompt for e in entries] == ["Capital of France?", "Capital of\nGermany?"]
    assert len({e.conversation_id for e in entries}) == 1


def test_each_turn_sends_the_history_and_chat_c_continues(runner: CliRunner, probe: None) -> None:
    result = runner.invoke(main, ["chat", "-m", "probe:x", "-s", "Be brief."], input="one\ntwo\n")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line.removeprefix("> ")) for line in result.stdout.splitlines() if line.strip("> ")]
    assert answers[0]["messages"] == [["system", "Be brief."], ["user", "one"]]
    assert [m[0] for m in answers[1]["messages"]] == ["system", "user", "assistant", "user"]
    later = runner.invoke(main, ["chat", "-c"], input="three\n")  # the model comes from the log
    [third] = [json.loads(line.removeprefix("> ")) for line in later.stdout.splitlines() if line.strip("> ")]
    assert [m[1] for m in third["messages"] if m[0] == "user"] == ["one", "two", "three"]


def test_a_model_error_is_shown_and_the_session_goes_on(runner: CliRunner, probe: None) -> None:
    result = runner.invoke(main, ["chat", "-m", "probe:x", "-o", "fail_after=1", "--no-log"], input="one\ntwo\n")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Error: probe backend fell over") == 2
    with LogStore() as store:
        assert store.count() == 0  # --no-log


@pytest.mark.parametrize("encoding", [None, "utf-8"])  # the default (surrogateescape), and a strict one
def test_a_line_that_is_not_utf8_is_named_and_the_session_goes_on(encoding: str | None) -> None:
    env = cli_env(**({"PYTHONIOENCODING": encoding} if encoding else {}))
    result = subprocess.run(
        [sys.executable, "-m", "modelplug", "chat", "-m", "replay:x", "-o", responses("one", "two")],
        input=b"first\nbad \xff\xfe line\nlast\n",
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Error: this prompt is not UTF-8 text (byte 0xff at offset 4)" in result.stderr.decode()
    assert b"unexpected" not in result.stderr
    with LogStore() as store:
        assert [entry.prompt for entry in store.entries(limit=None)] == ["first", "last"]  # nothing mangled was sent
