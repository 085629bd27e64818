"""The replay server sends what it promises, as raw bytes on the wire (read with httpx, no SSE parser)."""

from __future__ import annotations

import json

import httpx
import pytest

from modelplug.testing.http.processes import ReplayServer
from modelplug.testing.http.replay_server import build_plan, parse_selector
from modelplug.testing.http.suite import STREAM_CASES, unique
from tests.testing.http.conftest import post_selector


def test_a_fixture_case_is_sent_event_by_event_with_done(replay_server: ReplayServer) -> None:
    case = STREAM_CASES["vllm-002-reasoning-content-deltas"]
    response, writes = post_selector(replay_server, f"case/{case['id']}")
    assert response.headers["content-type"].startswith("text/event-stream")
    assert len(writes) == len(case["chunks"])
    payloads = [w.decode().removeprefix("data: ").removesuffix("\n\n") for w in writes]
    assert payloads[-1] == "[DONE]"
    assert [json.loads(p) for p in payloads[:-1]] == case["chunks"][:-1]


def test_variants_change_the_bytes_not_the_events(replay_server: ReplayServer) -> None:
    selector = "case/vllm-009-kimi-ids-mutate-mid-stream"
    plain = b"".join(post_selector(replay_server, selector)[1])
    crlf = b"".join(post_selector(replay_server, selector + "@crlf,comments")[1])
    assert crlf.count(b": keep-alive\r\n\r\n") == 4
    assert crlf.replace(b": keep-alive\r\n\r\n", b"").replace(b"\r\n", b"\n") == plain
    _, pieces = post_selector(replay_server, selector + "@split=7")
    assert b"".join(pieces) == plain and max(len(p) for p in pieces) == 7 and len(pieces) > 20
    nodone = b"".join(post_selector(replay_server, selector + "@nodone")[1])
    assert plain == nodone + b"data: [DONE]\n\n"


def test_a_drop_cuts_the_chunked_body(replay_server: ReplayServer) -> None:
    selector = unique("text/5@drop=2")
    with pytest.raises(httpx.RemoteProtocolError):
        post_selector(replay_server, selector)
    record = replay_server.wait_outcome(selector)
    assert (record["outcome"], record["events_sent"]) == ("dropped", 2)


def test_errors_have_openai_bodies_and_retry_after(replay_server: ReplayServer) -> None:
    response, body = post_selector(replay_server, "error/429@retry_after=3")
    assert response.status_code == 429 and response.headers["retry-after"] == "3"
    assert json.loads(b"".join(body))["error"]["code"] == "rate_limit_exceeded"
    response, body = post_selector(replay_server, "error/context_length")
    assert (response.status_code, json.loads(b"".join(body))["error"]["code"]) == (400, "context_length_exceeded")
    response, body = post_selector(replay_server, "error/422")
    assert (response.status_code, json.loads(b"".join(body))) == (
        422,
        {"detail": "Unexpected fields in the request: {'foo'}"},
    )
    response, body = post_selector(replay_server, "empty")
    assert (response.status_code, body) == (200, [])


def test_fail_counts_requests_per_selector(replay_server: ReplayServer) -> None:
    selector = unique("text/1@fail=500x2")
    statuses = [post_selector(replay_server, selector)[0].status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert [r["outcome"] for r in replay_server.requests(selector)] == ["status 500", "status 500", "complete"]


def test_echo_streams_the_last_message_back(replay_server: ReplayServer) -> None:
    _, writes = post_selector(replay_server, "echo", messages=[{"role": "user", "content": "one two"}])
    chunks = [json.loads(w.decode()[6:]) for w in writes[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "one two"
    assert chunks[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}


def test_the_selector_can_come_from_the_url_path(replay_server: ReplayServer) -> None:
    with httpx.Client(timeout=10) as client:
        response = client.post(
            f"{replay_server.url('text/2')}/chat/completions", json={"model": "gpt-4o", "messages": []}
        )
    assert response.status_code == 200 and response.text.count("data: ") == 5
    assert replay_server.requests("text/2")[-1]["body"]["model"] == "gpt-4o"


def test_selectors_parse_and_unknown_ones_are_refused(replay_server: ReplayServer) -> None:
    assert parse_selector("text/3@crlf,split=7,fail=429x2,retry_after=0.5,tag=a") == (
        "text",
        "3",
        {"crlf": True, "split": 7, "fail": (429, 2), "retry_after": 0.5, "tag": "a"},
    )
    with pytest.raises(ValueError):
        build_plan("text/3@bogus")
    response, _ = post_selector(replay_server, "nothing/here")
    assert response.status_code == 404
