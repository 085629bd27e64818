"""The recorded wire cases (tests/data/wire_cases.jsonl) as real SSE bytes from a server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import pytest
from tests.conftest import load_jsonl

import modelplug
from modelplug import errors

WIRE_CASES = {case["id"]: case for case in load_jsonl("wire_cases.jsonl") + load_jsonl("bad_chunk_cases.jsonl")}


def _sse(chunks: list[Any]) -> bytes:
    lines = [b"data: " + (c.encode() if isinstance(c, str) else json.dumps(c).encode()) for c in chunks]
    return b"\n\n".join(lines) + b"\n\n"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        data = _sse(WIRE_CASES[body["model"]]["chunks"])
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("case_id", list(WIRE_CASES))
def test_wire_case_over_http(base_url: str, case_id: str) -> None:
    case = WIRE_CASES[case_id]
    model = modelplug.load_model(f"openai:{case_id}", base_url=base_url, api_key="sk-test", max_retries=0)
    expected = case["expected"]
    error = case.get("expected_error")
    stream = model.stream("Hi.")
    if error is not None:
        with pytest.raises(getattr(errors, error["class"]), match=error["match"]) as raised:
            list(stream)
        assert type(raised.value) is getattr(errors, error["class"])
        assert stream.message.content == expected["content"]  # what arrived is kept
        with pytest.raises(getattr(errors, error["class"]), match=error["match"]):
            model.generate("Hi.")  # the same from generate()
        return
    message = stream.until_done()
    assert message.content == expected["content"]
    assert message.reasoning_content == expected["reasoning_content"]
    assert message.refusal == expected["refusal"]
    assert message.finish_reason == expected["finish_reason"]
    assert [(c.name, c.arguments) for c in message.tool_calls] == [
        (c["name"], c["arguments"]) for c in expected["tool_calls"]
    ]
    generated = model.generate("Hi.")  # the same from generate(), minted ids aside
    assert attrs.evolve(generated, tool_calls=()) == attrs.evolve(message, tool_calls=())
    assert [(c.name, c.arguments) for c in generated.tool_calls] == [(c.name, c.arguments) for c in message.tool_calls]
