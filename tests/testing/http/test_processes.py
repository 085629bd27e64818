"""Starting and stopping the loopback servers (:mod:`modelplug.testing.http.processes`): a real
replay server subprocess, what it records, and a server that dies at start named with its log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile

import httpx
import pytest

from modelplug.testing.http.processes import ReplayServer, ServerProcess, free_port


def test_a_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_the_replay_server_records_requests_by_selector_and_is_gone_after_stop() -> None:
    with ReplayServer.start() as server:
        assert server.url() == f"{server.base_url}/v1" and server.url("text/3") == f"{server.base_url}/s/text/3/v1"
        body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        response = httpx.post(server.url("text/3") + "/chat/completions", json=body, timeout=10)
        assert response.text.endswith("data: [DONE]\n\n")
        finished = server.wait_outcome("text/3")
        assert finished["selector"] == "text/3" and finished["outcome"] is not None
        assert server.requests("text/3") == server.requests() and server.requests("other/1") == []
        server.reset()
        assert server.requests() == []
        pid = server.process.pid
    assert server.process.returncode is not None and server.log.closed
    with pytest.raises(ProcessLookupError):  # reaped, not left behind
        os.kill(pid, 0)
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + "/health", timeout=2)


def test_a_server_that_exits_at_start_is_an_error_naming_its_exit_code_and_log() -> None:
    log = tempfile.NamedTemporaryFile(prefix="modelplug-test-server-", suffix=".log", delete=False)  # noqa: SIM115
    command = [sys.executable, "-c", "import sys; print('cannot bind the port', file=sys.stderr); sys.exit(3)"]
    process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    try:
        with ServerProcess(process, free_port(), log) as server, pytest.raises(RuntimeError) as raised:
            server.wait_healthy(10)
    finally:
        os.unlink(log.name)
    assert "server exited with 3" in str(raised.value) and "cannot bind the port" in str(raised.value)
