"""Running the app under uvicorn: in the foreground (the command) or in a background thread (tests,
benchmarks, notebooks)."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from modelplug.serve.shutdown import server_stop_of

__all__ = ["BindError", "bind", "is_loopback", "serve_forever", "serve_in_thread"]


class BindError(OSError):
    """The server cannot listen on ``host:port``: the port is in use, binding it is not permitted,
    or the host is not an address of this machine. The message names the address and the cause;
    the original ``OSError`` is the ``__cause__``."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine (``localhost``, ``127.x``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _config(app: Any, **kwargs: Any) -> uvicorn.Config:
    # one line per request comes from the app (modelplug.serve): no access log; no lifespan events
    return uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5, **kwargs
    )


class _Server(uvicorn.Server):
    """uvicorn's server that tells the app when it starts to stop (signal or ``should_exit``): open
    requests then get their grace period (:mod:`modelplug.serve.shutdown`) before uvicorn's own
    timeout cancels them."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        stop = server_stop_of(self.config.app)
        if stop is not None:
            stop.begin()
        await super().shutdown(sockets)


def bind(host: str = "127.0.0.1", port: int = 8000) -> socket.socket:
    """A socket bound to ``host:port`` and listening (``port`` 0: a free one; IPv6 when ``host``
    has a ``:``), for :func:`serve_forever`. Bind before the slow work (loading models), so a port in
    use fails at once, and say "serving" only once this returned.

    Raises:
        BindError: the port is in use (``errno.EADDRINUSE``), not permitted, or ``host`` is not here.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family, backlog=2048)
    except OSError as error:
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if error.errno == errno.EADDRINUSE:
            cause = f"port {port} is already in use (another server listens there; choose one with --port)"
        else:
            cause = error.strerror or str(error)
        failure = BindError(f"cannot serve on {where}: {cause}")
        failure.errno = error.errno
        raise failure from error


def serve_forever(app: Any, host: str = "127.0.0.1", port: int = 8000, *, sock: socket.socket | None = None) -> None:
    """Serve ``app`` until interrupted (SIGINT / SIGTERM end it gracefully) on ``sock`` (from
    :func:`bind`, which it takes over), or else on ``host:port``.

    Raises:
        BindError: without ``sock``, as :func:`bind`.
    """
    if sock is None:
        sock = bind(host, port)
    with sock:
        _Server(_config(app)).run(sockets=[sock])


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, *, timeout: float = 30.0) -> Iterator[str]:
    """Serve ``app`` from a background thread for the ``with`` block; yields ``http://host:port``
    (``port`` 0: a free one). On exit the server stops (open streams get a few seconds) and the
    thread is joined.

    Raises:
        RuntimeError: the server did not start within ``timeout`` seconds.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = _Server(_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="modelplug-serve", daemon=True)
    thread.start()
    try:
        for _ in range(int(timeout * 100)):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not server.started:
            raise RuntimeError(f"the server on {host}:{sock.getsockname()[1]} did not start within {timeout} s")
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout + 10)
        sock.close()
