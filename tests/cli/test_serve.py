"""``modelplug serve`` on the command line: models, names, options, the key, the warning, the log line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

pytest.importorskip("sse_starlette", reason="needs the serve extra")

from modelplug.cli import main
from modelplug.testing.http.processes import free_port

KEY = "sk-cli-secret-0123456789abcdef"


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the command would serve, without binding a port."""
    seen: dict[str, Any] = {}

    class Bound:  # what bind() returns, without a port
        def __init__(self, host: str, port: int) -> None:
            self.address = (host, port)

        def getsockname(self) -> tuple[str, int]:
            return self.address

        def __enter__(self) -> Bound:
            return self

        def __exit__(self, *exc: object) -> None:
            seen["closed"] = True

    def fake_serve_forever(app: Any, host: str, port: int, *, sock: Any) -> None:
        seen.update(app=app, host=host, port=port, sock=sock)

    monkeypatch.setattr("modelplug.serve.server.bind", Bound)
    monkeypatch.setattr("modelplug.serve.server.serve_forever", fake_serve_forever)
    return seen


def _invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["serve", *args], env=env, catch_exceptions=False)


def test_several_models_under_names_with_targeted_options(captured: dict[str, Any]) -> None:
    result = _invoke(
        "-m",
        "replay:a",
        "--name",
        "first",
        "-m",
        "replay:b",
        "-o",
        'responses=["shared"]',
        "-o",
        "first:delay=0.5",
        "--port",
        "9999",
    )
    assert result.exit_code == 0, result.output
    assert "Serving first (replay:a), replay:b on http://127.0.0.1:9999/v1" in result.output
    assert captured["port"] == 9999 and captured["host"] == "127.0.0.1"


def test_binding_off_loopback_without_a_key_warns(captured: dict[str, Any]) -> None:
    result = _invoke("-m", "replay:a", "-o", 'responses=["x"]', "--host", "0.0.0.0")
    assert result.exit_code == 0 and "Warning: serving on 0.0.0.0 without an API key" in result.output
    keyed = _invoke(
        "-m", "replay:a", "-o", 'responses=["x"]', "--host", "0.0.0.0", env={"MODELPLUG_SERVE_API_KEY": KEY}
    )
    assert keyed.exit_code == 0 and "Warning" not in keyed.output and KEY not in keyed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "replay:a", "--name", "x", "--name", "y"], "2 names for 1 models"),
        (["-m", "replay:a", "-m", "replay:a"], "served twice"),
        (["-m", "replay:a", "-o", "nobody:delay=1"], "names no served model"),
        (["-m", "replay:a", "--num-replicas", "2"], "need --ray"),
        (["-m", "nocolon"], "must look like"),
    ],
)
def test_usage_errors(captured: dict[str, Any], args: list[str], message: str) -> None:
    result = _invoke(*args)
    assert result.exit_code == 2 and message in result.output


def _wait_healthy(process: subprocess.Popen[str], base: str, timeout: float = 30) -> None:
    """Poll ``base``/health until it answers 200; fails when the process exits or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)


def test_the_command_serves_over_http_and_logs_one_line_per_request() -> None:
    port = free_port()
    responses = json.dumps([{"content": "Served.", "usage": {"prompt_tokens": 2, "completion_tokens": 1}}])
    command = [sys.executable, "-m", "modelplug", "serve", "-m", "replay:demo", "--name", "demo"]
    command += ["-o", f"responses={responses}", "-o", "loop=true", "--port", str(port)]
    env = {**os.environ, "MODELPLUG_SERVE_API_KEY": KEY}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(process, base)
        headers = {"authorization": f"Bearer {KEY}"}
        body = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}
        reply = httpx.post(base + "/v1/chat/completions", json=body, headers=headers, timeout=10)
        assert reply.json()["choices"][0]["message"]["content"] == "Served."
        assert httpx.post(base + "/v1/chat/completions", json=body, timeout=10).status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    lines = [line for line in stderr.splitlines() if line.startswith("request ")]
    assert len(lines) == 2, stderr
    assert "model=demo status=200 outcome=ok" in lines[0] and "prompt_tokens=2 completion_tokens=1" in lines[0]
    assert "status=401 outcome=rejected" in lines[1]
    assert KEY not in stderr


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as for `cmd &` from a script: the server must not care


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopping_server_ends_open_streams_with_an_error_event(signum: int) -> None:
    # was: the stream was cut at once and ended cleanly, without [DONE] or an error; an OpenAI client
    # took the half answer for a whole one
    port = free_port()
    long_answer = json.dumps([{"content": " ".join(["word"] * 400)}])
    command = [sys.executable, "-m", "modelplug", "serve", "-m", "replay:slow", "--name", "slow", "--port", str(port)]
    command += ["-o", f"responses={long_answer}", "-o", "loop=true", "-o", "delay=0.05"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, preexec_fn=_ignore_sigint)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(process, base)
        body = {"model": "slow", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        events: list[str] = []
        with httpx.stream("POST", base + "/v1/chat/completions", json=body, timeout=30) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(line[6:])
                    if len(events) == 3:
                        started = time.monotonic()
                        process.send_signal(signum)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode in (0, -signal.SIGTERM, 128 + signal.SIGINT), stderr
    assert 1 < took < 10, took  # the stream had a grace period, then was ended
    assert len(events) > 10 and "[DONE]" not in events
    last = json.loads(events[-1])
    assert last["error"]["code"] == "server_shutting_down", last
    assert "shutting down" in last["error"]["message"]
    assert "Traceback" not in stderr, stderr


def test_a_port_in_use_is_named_before_anything_is_served() -> None:
    """Was: "Serving ... on ..." printed, then uvicorn failed to bind and the command exited 3 with
    uvicorn's own log line. Now the port is bound first: one clear error, no "Serving", status 3."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _invoke("-m", "replay:a", "--port", str(port))
    assert result.exit_code == 3, result.output
    assert f"Error: cannot serve on 127.0.0.1:{port}: port {port} is already in use" in result.output
    assert "Serving" not in result.output


@pytest.mark.slow
def test_the_command_says_serving_once_bound_and_exits_143_after_sigterm() -> None:
    port = free_port()
    command = [sys.executable, "-m", "modelplug", "serve", "-m", "replay:demo", "--port", str(port)]
    command += ["-o", 'responses=["hi"]']
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # printed once the socket listens: a request now connects
        assert line.startswith("Serving replay:demo on http://127.0.0.1:"), line
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        _wait_healthy(process, f"http://127.0.0.1:{port}")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGTERM, stderr  # a shell reports 128 + 15 = 143
    assert "Traceback" not in stderr, stderr
