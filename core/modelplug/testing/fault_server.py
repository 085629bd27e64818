"""A fault-injecting OpenAI-compatible SSE server on 127.0.0.1, for HTTP provider tests.

The request's ``model`` names the fault (:data:`FAULTS`); every stream first sends the text
:data:`PREFIX` in one chunk, so a test can check that what arrived before a fault is kept. Bodies use
chunked transfer encoding, so a dropped connection is visibly cut (not a clean end). Stalls wait
until the server stops; the client's own read timeout must end them. Used by
:mod:`modelplug.testing.faults`; the guide is ``docs/writing-a-plugin.md``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from typing import Any, Final

__all__ = ["FAULTS", "HUGE_LENGTH", "PREFIX", "FaultServer"]

#: The text every stream sends first (one content chunk).
PREFIX: Final = "Hello"
#: Characters of content in the ``huge-line`` fault's one SSE line.
HUGE_LENGTH: Final = 2_000_000
#: The faults, by the ``model`` name that asks for them.
FAULTS: Final = (
    "ok",
    "stall-before-headers",
    "stall-mid-stream",
    "drop",
    "malformed-json",
    "invalid-utf8",
    "error-object",
    "rate-limit",
    "unavailable",
    "huge-line",
    "endless",
)


def _chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> bytes:
    delta = {"content": content} if content is not None else {}
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "fault-1", "object": "chat.completion.chunk", "created": 0, "model": "fault", "choices": [choice]}
    return b"data: " + json.dumps({**body, **extra}).encode() + b"\n\n"


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        request_line = self.rfile.readline()
        if not request_line:
            return
        length = 0
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append(body)
        fault = str(body.get("model", "ok")).rsplit("/", 1)[-1]
        with contextlib.suppress(OSError):  # the client went away (closed, timed out)
            self._answer(fault)

    def _send_error(self, status: str, body: dict[str, Any], retry_after: str) -> None:
        data = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n"
            f"retry-after: {retry_after}\r\nconnection: close\r\n\r\n"
        )
        self.wfile.write(head.encode() + data)

    def _piece(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _answer(self, fault: str) -> None:
        stop = self.server.stopping
        if fault == "stall-before-headers":
            stop.wait()
            return
        if fault == "rate-limit":
            self._send_error(
                "429 Too Many Requests", {"error": {"message": "slow down", "type": "rate_limit_error"}}, "7"
            )
            return
        if fault == "unavailable":
            self._send_error("503 Service Unavailable", {"error": {"message": "overloaded, come back"}}, "3")
            return
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
            b"connection: close\r\n\r\n"
        )
        self._piece(_chunk(PREFIX))
        for piece in self._rest(fault):
            if piece is None:
                return  # drop: no terminating zero-length chunk
            self._piece(piece)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _rest(self, fault: str) -> Iterator[bytes | None]:
        stop = self.server.stopping
        if fault == "stall-mid-stream":
            stop.wait()
            yield None
        elif fault == "drop":
            self.connection.shutdown(socket.SHUT_WR)
            yield None
        elif fault == "malformed-json":
            yield b'data: {"choices": [{"index": 0, "delta": {"content": "x"\n\n'
        elif fault == "invalid-utf8":
            yield b'data: {"choices": [{"index": 0, "delta": {"content": "\xff\xfe bad"}}]}\n\n'
        elif fault == "error-object":
            yield b'data: {"error": {"message": "the model is overloaded", "type": "server_error"}}\n\n'
        elif fault == "huge-line":
            yield _chunk("x" * HUGE_LENGTH)
            yield _chunk(finish="stop") + b"data: [DONE]\n\n"
        elif fault == "endless":
            while not stop.is_set():
                yield _chunk(" more")
            yield None
        else:
            yield _chunk(" world") + _chunk(finish="stop") + b"data: [DONE]\n\n"


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # listen() backlog: concurrent clients are not dropped

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stopping = threading.Event()
        self.requests: list[dict[str, Any]] = []


class FaultServer:
    """The server, running in a thread until :meth:`stop` (also a context manager).

    Attributes:
        base_url: ``http://127.0.0.1:<port>/v1`` (any path is answered the same way).
        requests: the decoded JSON bodies received, in order.
    """

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-server", daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self.requests = self._server.requests

    def stop(self) -> None:
        """End every stall, stop serving and close the listening socket."""
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
