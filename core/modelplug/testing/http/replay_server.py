"""A replay OpenAI-compatible chat-completions server: recorded streams sent as real SSE bytes.

Run as ``python -m modelplug.testing.http.replay_server [--host 127.0.0.1] [--port 0]`` (see
:mod:`modelplug.testing.http.processes`); it prints ``REPLAY_SERVER_PORT <port>`` once it listens.
A request's URL prefix or ``model`` field selects what it gets: the selectors, modifiers and
control routes are listed in ``docs/conformance.md`` ("The replay server").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import sys
from collections.abc import Mapping
from functools import cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from modelplug.testing.http import cases_dir

__all__ = ["Plan", "app", "build_plan", "main", "parse_selector", "rendered_events"]

DATA = cases_dir()
CASES_FILE = DATA / "stream_cases.jsonl"
BEHAVIOUR_FILE = DATA / "behaviour_cases.json"
_FLAGS = frozenset({"crlf", "comments", "nodone"})
_FLOAT_MODIFIERS = frozenset({"pause", "delay", "retry_after", "wait"})
_INT_MODIFIERS = frozenset({"split", "batch", "drop", "error_event"})

_requests: list[dict[str, Any]] = []
_fail_counts: dict[str, int] = {}


@cache
def cases() -> dict[str, dict[str, Any]]:
    """The stream fixture cases by id."""
    with CASES_FILE.open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    return {record["id"]: record for record in records}


@cache
def behaviour_cases() -> dict[str, dict[str, Any]]:
    """The behaviour cases by id."""
    with BEHAVIOUR_FILE.open(encoding="utf-8") as f:
        return {record["id"]: record for record in json.load(f)}


def parse_selector(selector: str) -> tuple[str, str, dict[str, Any]]:
    """Split ``kind/arg@mod,mod=value`` into ``(kind, arg, modifiers)``.

    Raises:
        ValueError: an unknown modifier or a malformed value.
    """
    head, _, tail = selector.partition("@")
    kind, _, arg = head.partition("/")
    modifiers: dict[str, Any] = {}
    for item in filter(None, tail.split(",")):
        key, sep, value = item.partition("=")
        if key in _FLAGS and not sep:
            modifiers[key] = True
        elif key in _FLOAT_MODIFIERS:
            modifiers[key] = float(value)
        elif key in _INT_MODIFIERS:
            modifiers[key] = int(value)
        elif key == "fail":
            status, _, times = value.partition("x")
            modifiers[key] = (int(status), int(times or 1))
        elif key == "tag":
            modifiers[key] = value
        else:
            raise ValueError(f"unknown selector modifier {item!r}")
    return kind, arg, modifiers


def _text_chunks(n: int) -> list[Any]:
    base = {"id": "chatcmpl-replay", "object": "chat.completion.chunk", "created": 1, "model": "replay"}
    chunks: list[Any] = []
    for i in range(n):
        delta: dict[str, Any] = {"content": f" t{i % 100:02d}"}
        if i == 0:
            delta["role"] = "assistant"
        chunks.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({**base, "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": n, "total_tokens": n + 7}})
    chunks.append("[DONE]")
    return chunks


def _tool_chunks(n: int) -> list[Any]:
    base = {"id": "chatcmpl-replay", "object": "chat.completion.chunk", "created": 1, "model": "replay"}
    head = {"index": 0, "id": "call_bench", "type": "function", "function": {"name": "search", "arguments": '{"q": "'}}
    chunks: list[Any] = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [head]}}]}]
    for i in range(n):
        fragment = f"a{i % 100:02d} "
        chunks.append(
            {
                **base,
                "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}}],
            }
        )
    chunks.append(
        {**base, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"}'}}]}}]}
    )
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    chunks.append({**base, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": n, "total_tokens": n + 9}})
    chunks.append("[DONE]")
    return chunks


def _response_chunks(response: Mapping[str, Any]) -> list[Any]:
    """A non-streaming chat.completion ``response`` as the chunks a server would stream."""
    base = {
        "id": response.get("id", "chatcmpl-behaviour"),
        "object": "chat.completion.chunk",
        "created": 1,
        "model": response.get("model", "replay"),
    }
    choice = response["choices"][0]
    message = choice["message"]
    chunks: list[Any] = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    for piece in re.findall(r"\s*\S+\s*|\s+", message.get("content") or ""):
        chunks.append({**base, "choices": [{"index": 0, "delta": {"content": piece}}]})
    for index, call in enumerate(message.get("tool_calls") or ()):
        chunks.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [{**call, "index": index}]}}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason")}]})
    if response.get("usage"):
        chunks.append({**base, "choices": [], "usage": response["usage"]})
    chunks.append("[DONE]")
    return chunks


def _error_body(kind: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
    if kind == "context_length":
        message = (
            "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens "
            "(8000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion."
        )
        return 400, {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        }
    if kind == "content_filter":
        message = (
            "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. "
            "Please modify your prompt and retry."
        )
        return 400, {
            "error": {
                "message": message,
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {"code": "ResponsibleAIPolicyViolation"},
            }
        }
    status = int(kind)
    if status == 422:
        return 422, {"detail": "Unexpected fields in the request: {'foo'}"}
    messages = {
        400: ("Invalid value for 'temperature'.", "invalid_request_error", "invalid_value"),
        401: (
            f"Incorrect API key provided: {(authorization or '').removeprefix('Bearer ')}.",
            "invalid_request_error",
            "invalid_api_key",
        ),
        403: ("You are not allowed to sample from this model.", "invalid_request_error", "model_not_allowed"),
        404: ("The model does not exist.", "invalid_request_error", "model_not_found"),
        408: ("Request timed out.", "timeout", None),
        429: ("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
        500: ("The server had an error while processing your request.", "server_error", None),
        502: ("Bad gateway.", "server_error", None),
        503: ("The engine is currently overloaded, please try again later.", "server_error", None),
    }
    message, type_, code = messages.get(status, (f"Error {status}.", "server_error", None))
    return status, {"error": {"message": message, "type": type_, "param": None, "code": code}}


class Plan:
    """What one response sends: the status, headers and the list of body writes.

    ``writes`` are ``(bytes, events_in_it, sleep_before)``; ``end`` is ``"complete"`` (end the
    chunked body) or ``"drop"`` (close the connection without ending it).
    """

    __slots__ = ("end", "headers", "status", "wait", "writes")

    def __init__(
        self, status: int, headers: dict[str, str], writes: list[tuple[bytes, int, float]], end: str, wait: float = 0.0
    ) -> None:
        self.status = status
        self.headers = headers
        self.writes = writes
        self.end = end
        self.wait = wait


def _render_events(payloads: list[Any], modifiers: Mapping[str, Any]) -> list[bytes]:
    newline = "\r\n" if modifiers.get("crlf") else "\n"
    comment = f": keep-alive{newline}{newline}".encode() if modifiers.get("comments") else b""
    events = []
    for payload in payloads:
        text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        events.append(comment + f"data: {text}{newline}{newline}".encode())
    return events


@cache
def rendered_events(kind: str, arg: str, crlf: bool, comments: bool, nodone: bool) -> tuple[bytes, ...]:
    """The SSE events (bytes, one per ``data:`` line) of a ``case``/``text``/``tool``/``behaviour``/``empty``
    selector, rendered once and cached."""
    if kind == "case":
        chunks = cases()[arg]["chunks"]
    elif kind == "text":
        chunks = _text_chunks(int(arg))
    elif kind == "tool":
        chunks = _tool_chunks(int(arg))
    elif kind == "behaviour":
        case_input = behaviour_cases()[arg]["input"]
        chunks = (
            [*case_input["chunks"], "[DONE]"] if "chunks" in case_input else _response_chunks(case_input["response"])
        )
    else:  # empty
        chunks = []
    if nodone:
        chunks = [c for c in chunks if c != "[DONE]"]
    return tuple(_render_events(chunks, {"crlf": crlf, "comments": comments}))


def _echo_response(body: Mapping[str, Any]) -> dict[str, Any]:
    messages = body.get("messages") or [{}]
    content = messages[-1].get("content") or ""
    if not isinstance(content, str):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    words = len(content.split())
    return {
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": words, "completion_tokens": words, "total_tokens": 2 * words},
    }


def build_plan(selector: str, authorization: str | None = None, body: Mapping[str, Any] | None = None) -> Plan:
    """The :class:`Plan` for ``selector`` (counting ``fail`` attempts).

    Raises:
        ValueError, KeyError: an unknown kind, case or modifier.
    """
    kind, arg, mods = parse_selector(selector)
    sse = {"content-type": "text/event-stream", "cache-control": "no-cache"}
    wait = mods.get("wait", 0.0)
    fail = mods.get("fail")
    if fail is not None:
        seen = _fail_counts.get(selector, 0)
        _fail_counts[selector] = seen + 1
        if seen < fail[1]:
            return _error_plan(str(fail[0]), authorization, mods, wait)
    if kind == "error":
        return _error_plan(arg, authorization, mods, wait)
    if kind == "echo":
        chunks = _response_chunks(_echo_response(body or {}))
        if mods.get("nodone"):
            chunks = chunks[:-1]
        events = _render_events(chunks, mods)
    elif kind in ("case", "text", "tool", "behaviour", "empty"):
        events = list(
            rendered_events(kind, arg, bool(mods.get("crlf")), bool(mods.get("comments")), bool(mods.get("nodone")))
        )
    else:
        raise ValueError(f"unknown selector kind {kind!r}")
    end = "complete"
    if "drop" in mods:
        events = events[: mods["drop"]]
        end = "drop"
    elif "error_event" in mods:
        k = mods["error_event"]
        error = {"error": {"message": "The model crashed while generating.", "type": "server_error", "code": 500}}
        events = [*events[:k], *_render_events([error], mods)]
    delay = mods.get("delay", 0.0)
    if "split" in mods:
        data = b"".join(events)
        size = mods["split"]
        pause = mods.get("pause", 0.0)
        writes = [(data[i : i + size], 0, pause if i else 0.0) for i in range(0, len(data), size)]
        if writes:
            writes[-1] = (writes[-1][0], len(events), writes[-1][2])
    else:
        batch = mods.get("batch", 1)
        writes = [
            (b"".join(events[i : i + batch]), len(events[i : i + batch]), delay if i else 0.0)
            for i in range(0, len(events), batch)
        ]
    return Plan(200, sse, writes, end, wait)


def _error_plan(kind: str, authorization: str | None, mods: Mapping[str, Any], wait: float) -> Plan:
    status, body = _error_body(kind, authorization)
    headers = {"content-type": "application/json"}
    if status == 429:
        headers["retry-after"] = f"{mods.get('retry_after', 7):g}"
    return Plan(status, headers, [(json.dumps(body).encode(), 0, 0.0)], "complete", wait)


class ReplayResponse(Response):
    """Sends a :class:`Plan` and records how it ended in ``record`` (``outcome``, ``events_sent``).

    A task watches ``receive()`` for ``http.disconnect`` so that a client closing its response is
    seen between two writes (uvicorn's ``send`` silently drops writes after a disconnect).
    """

    def __init__(self, plan: Plan, record: dict[str, Any]) -> None:
        self.plan = plan
        self.record = record
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plan, record = self.plan, self.record
        disconnected = asyncio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    disconnected.set()
                    return

        watcher = asyncio.create_task(watch())
        try:
            if plan.wait:
                await asyncio.sleep(plan.wait)
            headers = [(k.encode(), v.encode()) for k, v in plan.headers.items()]
            await send({"type": "http.response.start", "status": plan.status, "headers": headers})
            sent = 0
            for body, events, sleep in plan.writes:
                if sleep:
                    await asyncio.sleep(sleep)
                if disconnected.is_set():
                    record["outcome"] = "disconnected"
                    return
                await send({"type": "http.response.body", "body": body, "more_body": True})
                sent += events
                record["events_sent"] = sent
            if plan.end == "drop":
                record["outcome"] = "dropped"
                return  # uvicorn closes the connection: the chunked body never ends
            # after this, uvicorn answers receive() with http.disconnect: decide the outcome first
            record["outcome"] = "complete" if plan.status == 200 else f"status {plan.status}"
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()


async def chat_completions(request: Request) -> Response:
    """``POST [/s/<selector>]/v1/chat/completions``."""
    body = await request.json()
    selector = request.path_params.get("selector") or body.get("model") or ""
    authorization = request.headers.get("authorization")
    record: dict[str, Any] = {
        "n": len(_requests),
        "selector": selector,
        "path": request.url.path,
        "body": body,
        "authorization": authorization,
        "headers": dict(request.headers),
        "outcome": None,
        "events_sent": 0,
    }
    _requests.append(record)
    try:
        plan = build_plan(selector, authorization, body)
    except (KeyError, ValueError) as error:
        record["outcome"] = "status 404"
        return JSONResponse({"error": {"message": f"bad selector {selector!r}: {error}", "type": "not_found"}}, 404)
    return ReplayResponse(plan, record)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def models(request: Request) -> Response:
    return JSONResponse(
        {"object": "list", "data": [{"id": "replay", "object": "model", "owned_by": "modelplug-tests"}]}
    )


async def stats(request: Request) -> Response:
    return JSONResponse({"requests": _requests})


async def reset(request: Request) -> Response:
    _requests.clear()
    _fail_counts.clear()
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/v1/models", models),
        Route("/_stats", stats),
        Route("/_reset", reset, methods=["POST"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/s/{selector:path}/v1/chat/completions", chat_completions, methods=["POST"]),
    ]
)


def main(argv: list[str] | None = None) -> None:
    """Bind ``--host``/``--port`` (0: a free port), print ``REPLAY_SERVER_PORT <port>``, serve."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--http", default="h11", help="uvicorn HTTP implementation (h11, httptools)")
    args = parser.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.set_inheritable(True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", http=args.http)
    server = uvicorn.Server(config)
    print(f"REPLAY_SERVER_PORT {sock.getsockname()[1]}", flush=True)
    sys.stdout.flush()
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
