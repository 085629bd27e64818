"""The replay server's streams at full speed, for benchmarks: a plain socket server that sends a
whole pre-rendered HTTP response in one ``sendall``.

uvicorn spends about as much on each SSE event it sends as the cheapest clients spend reading one
(figures in ``docs/benchmarks.md``), so a benchmark of client loops against
:mod:`modelplug.testing.http.replay_server` partly measures the server. This server sends the same
bytes — the same SSE events, one HTTP chunk per event (as uvicorn and vLLM frame them) — prepared in
advance, so the client is always the bottleneck. It serves the stream selectors only (``case/``,
``text/``, ``tool/``, ``behaviour/``, ``empty``, with ``crlf``, ``comments``, ``nodone``; from the URL
path ``/s/<selector>/v1/...`` or the request's ``model``), keep-alive, on 127.0.0.1::

    python -m modelplug.testing.http.fast_server [--port 0]      # prints REPLAY_SERVER_PORT <port>
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
from functools import cache

from modelplug.testing.http.replay_server import parse_selector, rendered_events

__all__ = ["main", "response_bytes"]

_HEADERS = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


@cache
def response_bytes(selector: str) -> bytes:
    """The whole HTTP/1.1 response for a stream ``selector``: headers and a chunked body.

    Raises:
        ValueError, KeyError: not a stream selector, or an unknown case.
    """
    kind, arg, mods = parse_selector(selector)
    if kind not in ("case", "text", "tool", "behaviour", "empty") or set(mods) - {"crlf", "comments", "nodone", "tag"}:
        raise ValueError(f"the fast server serves plain stream selectors only, not {selector!r}")
    events = rendered_events(kind, arg, bool(mods.get("crlf")), bool(mods.get("comments")), bool(mods.get("nodone")))
    body = b"".join(b"%x\r\n%s\r\n" % (len(event), event) for event in events)
    return _HEADERS + body + b"0\r\n\r\n"


def _small(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


class _Handler(socketserver.StreamRequestHandler):
    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        while True:
            request_line = self.rfile.readline()
            if not request_line.strip():
                return
            length = 0
            while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = self.rfile.read(length) if length else b""
            path = request_line.split()[1].decode()
            if path == "/health":
                self.wfile.write(_small("200 OK", b'{"status": "ok"}'))
                continue
            selector = (
                path[3:].split("/v1/", 1)[0] if path.startswith("/s/") else json.loads(body or b"{}").get("model", "")
            )
            try:
                response = response_bytes(selector)
            except (KeyError, ValueError) as error:
                response = _small("404 Not Found", json.dumps({"error": {"message": str(error)}}).encode())
            self.wfile.write(response)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    #: listen() backlog: socketserver's default of 5 drops the SYNs of a burst of concurrent
    #: clients, which then wait a whole TCP retransmission (1 s) and distort the benchmark.
    request_queue_size = 256


def main(argv: list[str] | None = None) -> None:
    """Bind 127.0.0.1 (``--port`` 0: a free port), print ``REPLAY_SERVER_PORT <port>``, serve."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--http", default="", help="ignored (the launcher passes it)")
    args = parser.parse_args(argv)
    with _Server(("127.0.0.1", args.port), _Handler) as server:
        print(f"REPLAY_SERVER_PORT {server.server_address[1]}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
