"""The real command line in subprocesses: pipes, exit codes, stdin, SIGINT, broken pipes."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import modelplug
from tests.cli.conftest import cli_env, responses, run_cli, start_cli, write_replay

#: 40 words, each streamed as its own delta.
LONG = " ".join(f"word{i:02d}" for i in range(40))


def _read_until(process: subprocess.Popen[bytes], needle: bytes, timeout: float = 30) -> bytes:
    """Read the process's stdout until ``needle`` appears (or fail after ``timeout`` seconds)."""
    assert process.stdout is not None
    data = b""
    deadline = time.monotonic() + timeout
    while needle not in data:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {needle!r} in {data!r}"
        ready, _, _ = select.select([process.stdout], [], [], remaining)
        if ready:
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, f"stdout closed before {needle!r}: {data!r}"
            data += chunk
    return data


def test_piped_output_is_plain_model_text(tmp_path: Path) -> None:
    text = "Paris is the capital of **France**.\n\n```python\nprint('hi')\n```"
    result = run_cli(["run", "-m", f"replay:{write_replay(tmp_path / 'a.jsonl', text)}", "hi"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == text + "\n"  # the text as it arrived, ending the last line
    assert "\x1b" not in result.stdout and "\x1b" not in result.stderr
    assert result.stderr == ""  # stats only when stderr is a terminal (or --stats)


def test_console_script_and_module_entry_points(tmp_path: Path) -> None:
    path = write_replay(tmp_path / "a.jsonl", "hello there")
    script = shutil.which("modelplug", path=str(Path(sys.executable).parent))
    assert script is not None
    for command in ([script], [sys.executable, "-m", "modelplug.cli"], [sys.executable, "-m", "modelplug"]):
        result = subprocess.run(
            [*command, "run", "-m", f"replay:{path}", "hi"], capture_output=True, text=True, env=cli_env(), timeout=60
        )
        assert (result.returncode, result.stdout) == (0, "hello there\n"), result.stderr


def test_json_lines_from_a_subprocess() -> None:
    result = run_cli(["run", "-m", "replay:x", "-o", responses(LONG), "--json", "hi"])
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    text = "".join(line["choices"][0]["delta"].get("content", "") for line in lines[:-1])
    assert text == LONG == lines[-1]["message"]["content"]
    assert len(lines) == 42  # 40 words, the finish chunk, the result


def test_stdin_prompt_and_stats_flag() -> None:
    message = {"content": "ok", "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
    result = run_cli(["run", "-m", "replay:x", "-o", responses(message), "--stats"], input="a prompt\n")
    assert (result.returncode, result.stdout) == (0, "ok\n")
    assert "3 prompt + 1 completion = 4 tokens" in result.stderr


def test_exit_codes_in_a_subprocess() -> None:
    unknown = run_cli(["run", "-m", "nosuch:x", "hi"])
    assert unknown.returncode == 1
    assert "unknown provider 'nosuch'; installed providers:" in unknown.stderr and "replay" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    bad = run_cli(["run", "-m", "replay:x", "-o", "delay=soon", "hi"])
    assert bad.returncode == 2
    assert "delay: expected a number, got 'soon'" in bad.stderr


def test_model_from_env_and_config_file(tmp_path: Path) -> None:
    config = tmp_path / "my-config.toml"
    path = write_replay(tmp_path / "cfg.jsonl", "configured")
    config.write_text(f"model = {json.dumps('replay:' + str(path))}\n", encoding="utf-8")
    assert run_cli(["run", "hi"], env=cli_env(MODELPLUG_CONFIG=str(config))).stdout == "configured\n"
    path = write_replay(tmp_path / "env.jsonl", "from env")
    result = run_cli(["run", "hi"], env=cli_env(MODELPLUG_CONFIG=str(config), MODELPLUG_MODEL=f"replay:{path}"))
    assert result.stdout == "from env\n"


def test_plugins_json_and_version() -> None:
    result = run_cli(["plugins", "--json"])
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    replay = next(p for p in listing["providers"] if p["name"] == "replay")
    assert replay["distribution"] == "modelplug-replay" and replay["ok"] and replay["error"] is None
    assert replay["option_types"] == {
        "responses": "list",
        "delay": "float",
        "case": "str",
        "loop": "bool",
        "capabilities": "dict",
        "tool_call_format": "str",
    }
    assert "generate_stream" in replay["hooks"]
    assert all(set(m) == {"name", "install"} for m in listing["not_installed"])
    text = run_cli(["plugins"])
    assert text.returncode == 0 and "replay  modelplug-replay" in text.stdout
    version = run_cli(["--version"])
    assert (version.returncode, version.stdout) == (0, f"modelplug {modelplug.__version__}\n")


def test_a_broken_plugin_is_listed_with_its_error(tmp_path: Path) -> None:
    dist = tmp_path / "site" / "modelplug_broken-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: modelplug-broken\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[modelplug]\nbroken = modelplug_broken_missing\n", encoding="utf-8")
    env = cli_env(PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]))
    result = run_cli(["plugins", "--json"], env=env)
    assert result.returncode == 0, result.stderr
    broken = next(p for p in json.loads(result.stdout)["providers"] if p["name"] == "broken")
    assert broken["ok"] is False and "ModuleNotFoundError" in broken["error"]
    assert broken["distribution"] == "modelplug-broken" and broken["version"] == "0.1"
    text = run_cli(["plugins"], env=env)
    assert "broken  modelplug-broken 0.1  [failed to load]" in text.stdout


def test_import_and_help_stay_light() -> None:
    code = (
        "import sys, modelplug; light = 'rich' not in sys.modules and 'click' not in sys.modules\n"
        "from modelplug.cli import main\n"
        "try:\n    main(['--help'], prog_name='modelplug')\nexcept SystemExit:\n    pass\n"
        "print(light, 'rich' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), timeout=60)
    assert result.stdout.splitlines()[-1] == "True False"
    assert "run" in result.stdout and "plugins" in result.stdout


def _interrupted(args: list[str]) -> tuple[int, str, bytes]:
    """Run the CLI with ``args``, send SIGINT once ``word02`` is out: its exit code, stdout, stderr."""
    process = start_cli(args)
    try:
        partial = _read_until(process, b"word02")
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=30)
    finally:
        process.kill()
    return process.returncode, (partial + rest).decode(), err


def test_sigint_stops_the_stream_keeps_the_partial_answer_and_exits_130() -> None:
    args = ["run", "-m", "replay:x", "-o", responses(LONG), "-o", "delay=0.2", "--stats", "hi"]
    code, output, err = _interrupted(args)
    assert code == 130
    assert output.endswith("\n")  # the partial answer's line is ended
    assert LONG.startswith(output[:-1]) and "word02" in output and len(output) < len(LONG)
    assert "Interrupted." in err.decode() and "interrupted" in err.decode()  # the message and the stats line
    assert b"Traceback" not in err


def test_sigint_ends_an_agents_partial_line_and_exits_130() -> None:
    """Was: the agent's partial answer was left without its newline (the shell prompt after it)."""
    answer = {"content": LONG, "tool_calls": []}
    args = ["agent", "-m", "replay:x", "-o", responses(answer), "-o", "delay=0.2", "--no-stats", "Go"]
    code, output, err = _interrupted(args)
    assert code == 130, err.decode()
    assert "word02" in output and "word39" not in output
    assert output.endswith("\n")  # the partial answer's line is ended
    assert "Interrupted." in err.decode() and b"Traceback" not in err


def test_broken_pipe_exits_quietly() -> None:
    args = ["run", "-m", "replay:x", "-o", responses(LONG), "-o", "delay=0.05", "hi"]
    process = start_cli(args)
    try:
        _read_until(process, b"word01")
        assert process.stdout is not None
        process.stdout.close()  # like `| head -c 10`
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 1
    assert err == b""


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["plugins", "--help"]])
def test_help(args: list[str]) -> None:
    result = run_cli(args)
    assert result.returncode == 0 and "Usage: modelplug" in result.stdout


def test_stats_on_a_shared_stdout_start_on_their_own_line() -> None:
    args = [sys.executable, "-m", "modelplug", "run", "-m", "replay:x", "-o", responses("Hello"), "--stats", "hi"]
    result = subprocess.run(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=cli_env(), timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.startswith("Hello\nTTFT ")


def test_sigint_with_json_still_ends_with_the_result_line() -> None:
    args = ["run", "-m", "replay:x", "-o", responses(LONG), "-o", "delay=0.2", "--json", "hi"]
    process = start_cli(args)
    try:
        partial = _read_until(process, b"word02")
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    lines = [json.loads(line) for line in (partial + rest).decode().splitlines()]
    final = lines[-1]
    assert final["object"] == "modelplug.result" and final["stats"]["outcome"] == "cancelled"
    assert final["message"]["content"] == "".join(c["choices"][0]["delta"].get("content", "") for c in lines[:-1])


def test_unencodable_answer_text_is_written_as_question_marks() -> None:
    # An ASCII stdout, and a lone surrogate (a backend can send "\ud800" in JSON), raised
    # UnicodeEncodeError with a traceback in the middle of the answer.
    ascii_out = run_cli(
        ["run", "-m", "replay:x", "-o", responses("café ☃"), "hi"], env=cli_env(PYTHONIOENCODING="ascii")
    )
    assert (ascii_out.returncode, ascii_out.stdout) == (0, "caf? ?\n"), ascii_out.stderr
    lone = run_cli(["run", "-m", "replay:x", "-o", responses("a\ud800b"), "--json", "hi"])
    assert lone.returncode == 0, lone.stderr
    assert json.loads(lone.stdout.splitlines()[-1])["message"]["content"] == "a?b"


def test_closed_stdin_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "modelplug", "run", "-m", "replay:x", "-o", responses("x")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        preexec_fn=lambda: os.close(0),  # a closed fd 0: sys.stdin is None
    )
    assert result.returncode == 2 and "stdin is closed" in result.stderr, result.stderr


def test_sigint_stops_a_command_started_with_sigint_ignored() -> None:
    # `modelplug run ... &` from a script: the shell starts it with SIGINT ignored; `kill -INT` still stops it.
    args = ["run", "-m", "replay:x", "-o", responses(LONG), "-o", "delay=0.2", "hi"]
    process = start_cli(args, sigint=signal.SIG_IGN)
    try:
        partial = _read_until(process, b"word02")
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err.decode()
    assert "word02" in (partial + rest).decode() and b"Interrupted." in err


def test_the_signal_tests_pass_from_a_parent_that_ignores_sigint() -> None:
    # `nohup tox > log 2>&1 &` from a non-interactive shell: pytest, and every child it starts, inherits an
    # ignored SIGINT. The tests that signal a child must pass all the same.
    root = Path(__file__).resolve().parents[2]
    selected = [
        f"{__file__}::test_sigint_stops_the_stream_keeps_the_partial_answer_and_exits_130",
        f"{__file__}::test_sigint_with_json_still_ends_with_the_result_line",
    ]
    code = (
        "import signal, sys, pytest\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "sys.exit(pytest.main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *selected, "-q", "-p", "no:cacheprovider", "--timeout=120"],
        cwd=root,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def _with_stdout_closed(args: list[str], stdin: bytes = b"") -> tuple[int, bytes]:
    """Run the command line with its stdout's reader gone before it writes (``| head -c 0``)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "modelplug", *args],
            input=stdin,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=cli_env(),
            timeout=60,
        )
    finally:
        os.close(write_end)
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["plugins"],
        ["plugins", "--json"],
        ["models"],
        ["run", "-m", "replay:x", "-o", responses("Hello there"), "--no-stream", "hi"],
        ["run", "-m", "replay:x", "-o", responses("Hello there"), "--json", "hi"],
        ["agent", "-m", "replay:x", "-o", responses("The answer is 4."), "what is 2+2?"],
        ["agent", "-m", "replay:x", "-o", responses("The answer is 4."), "--json", "what is 2+2?"],
    ],
    ids=lambda args: " ".join(a for a in args if not a.startswith("responses="))[:40],
)
def test_every_command_ends_quietly_when_stdout_is_closed(args: list[str]) -> None:
    returncode, err = _with_stdout_closed(args)
    assert (returncode, err) == (1, b"")


def test_a_closed_stdout_ends_a_chat_session_after_logging_the_cut_answer() -> None:
    args = ["chat", "-m", "replay:x", "-o", responses(LONG, "second answer"), "-o", "delay=0.05"]
    process = subprocess.Popen(
        [sys.executable, "-m", "modelplug", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(b"first\nsecond\n")
        process.stdin.flush()
        _read_until(process, b"word01")
        process.stdout.close()  # like `| head -c 10`, mid-answer
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 1
    assert b"Error" not in err and b"Traceback" not in err
    entries = json.loads(run_cli(["logs", "--json", "-n", "0"]).stdout)
    assert [(entry["prompt"], entry["outcome"]) for entry in entries] == [("first", "cancelled")]  # never "second"
    assert entries[0]["response"] and LONG.startswith(entries[0]["response"])
