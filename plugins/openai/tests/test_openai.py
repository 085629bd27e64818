"""The openai provider's own behaviour: options, headers, the environment key, secrets, bodies, errors, unload."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import modelplug
from modelplug import errors
from modelplug.secrets import redact
from modelplug.testing.http.processes import ReplayServer
from modelplug.testing.http.suite import unique
from modelplug.wire import error_from_wire

KEY = "sk-modelplug-openai-test-0000"


def _load(base_url: str, **options: Any) -> modelplug.Model:
    options.setdefault("api_key", KEY)
    return modelplug.load_model("openai:replay", base_url=base_url, **options)


def test_bad_options_are_refused_with_their_name() -> None:
    url = "http://127.0.0.1:9/v1"
    with pytest.raises(errors.InvalidOptionError, match="unknown openai option"):
        _load(url, temperature=0.1)
    with pytest.raises(errors.InvalidOptionError, match="'timeout'"):
        _load(url, timeout=-1)
    with pytest.raises(errors.InvalidOptionError, match="'timeout' has unknown key"):
        _load(url, timeout={"conect": 1})
    with pytest.raises(errors.InvalidOptionError, match="base_url"):
        _load("127.0.0.1:9/v1")
    with pytest.raises(errors.InvalidOptionError, match="headers"):
        _load(url, headers={"X-N": 1})
    with pytest.raises(errors.InvalidOptionError, match="capabilities"):
        _load(url, capabilities={"tool_calling": "maybe"})
    with pytest.raises(errors.InvalidOptionError, match="max_retries"):
        _load(url, max_retries=-2)


def test_capabilities_default_and_override() -> None:
    declared = _load("http://127.0.0.1:9/v1").capabilities
    assert (declared.tool_calling, declared.usage_in_stream, declared.stop_sequences) == ("native", True, True)
    text = _load("http://127.0.0.1:9/v1", capabilities={"tool_calling": "text", "stop_sequences": False}).capabilities
    assert (text.tool_calling, text.stop_sequences) == ("text", False)


def test_the_timeout_option_sets_connect_and_read() -> None:
    state = _load("http://127.0.0.1:9/v1", timeout={"connect": 2, "read": 30}).state
    assert (state.client.timeout.connect, state.client.timeout.read) == (2.0, 30.0)
    state = _load("http://127.0.0.1:9/v1", timeout=5, connect_timeout=1).state
    assert (state.client.timeout.connect, state.client.timeout.read) == (1.0, 5.0)


def test_the_request_carries_key_organization_headers_and_extra_fields(replay_server: ReplayServer) -> None:
    selector = unique("text/2")
    model = _load(replay_server.url(selector), organization="org-1", headers={"X-Trace": "abc"})
    history = [
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Hello.", "reasoning_content": "They greet me."},
        {"role": "user", "content": "Again."},
    ]
    assert model.generate(history, temperature=0.5, top_k=20, extra_body={"min_p": 0.1}).content == " t00 t01"
    record = replay_server.requests(selector)[-1]
    body = record["body"]
    assert record["authorization"] == f"Bearer {KEY}"
    assert (record["headers"]["openai-organization"], record["headers"]["x-trace"]) == ("org-1", "abc")
    assert (body["model"], body["stream"], body["stream_options"]) == ("replay", True, {"include_usage": True})
    assert (body["temperature"], body["top_k"], body["min_p"]) == (0.5, 20, 0.1)
    assert [m.get("reasoning_content") for m in body["messages"]] == [None, None, None]


def test_the_environment_key_is_sent_and_redacted(replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-modelplug-env-key-5678abcd"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    selector = unique("text/1")
    model = modelplug.load_model("openai:replay", base_url=replay_server.url(selector))
    model.generate("Hi.")
    assert replay_server.requests(selector)[-1]["authorization"] == f"Bearer {key}"
    assert redact(key) == "***" and key not in repr(model.state)


def test_a_secret_header_is_registered() -> None:
    _load("http://127.0.0.1:9/v1", headers={"api-key": "azure-modelplug-key-9999"})
    assert redact("key azure-modelplug-key-9999") == "key ***"


def test_one_pooled_client_per_model_reused_across_requests_and_closed_on_unload(replay_server: ReplayServer) -> None:
    model = _load(replay_server.url(unique("text/2")))
    client = model.state.client
    assert model.generate("Hi.").content == model.generate("Again.").content == " t00 t01"
    assert model.state.client is client and not client.is_closed
    assert len(client._transport._pool.connections) == 1  # keep-alive: both requests on one connection
    model.close()
    assert client.is_closed


def test_error_events_map_by_their_code() -> None:
    limited = error_from_wire({"error": {"message": "slow down", "code": 429}}, provider="openai")
    assert isinstance(limited, errors.RateLimitError) and limited.status_code == 429
    context = error_from_wire({"error": {"message": "too long", "code": "context_length_exceeded", "type": "x"}})
    assert isinstance(context, errors.ContextLengthError)
    tgi = error_from_wire({"error": "Input validation error", "error_type": "validation"})
    assert isinstance(tgi, errors.BadRequestError) and "Input validation error" in str(tgi)


def test_malformed_stream_data_is_a_clear_error_keeping_what_arrived() -> None:
    body = b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\ndata: {not json\n\n'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    model = _load("http://127.0.0.1:9/v1", max_retries=0)
    model.state.client = httpx.Client(transport=httpx.MockTransport(handler))
    stream = model.stream("Hi.")
    with pytest.raises(errors.ProviderError, match="malformed stream data"):
        list(stream)
    assert stream.message.content == "Hi"


def test_every_credential_the_requests_carry_is_redacted_until_the_model_closes() -> None:
    headers = {"X-Goog-Api-Key": "goog-openai-test-5150", "Cookie": "session=cookie-openai-test-5151"}
    model = modelplug.load_model(
        "openai:m", base_url="http://user:url-pass-openai-5152@127.0.0.1:9/v1?key=query-openai-5153", headers=headers
    )
    secrets = "goog-openai-test-5150 cookie-openai-test-5151 url-pass-openai-5152 query-openai-5153"
    assert set(redact(secrets).split()) == {"***"}
    model.close()
    assert redact(secrets) == secrets


def test_one_pooled_async_client_per_model_and_loop_kept_alive_and_closed_on_unload(
    replay_server: ReplayServer,
) -> None:
    import asyncio

    model = _load(replay_server.url(unique("text/2")))

    async def twice_then_close() -> tuple[int, bool]:
        answers = [(await model.agenerate("Hi.")).content for _ in range(2)]
        assert answers == [" t00 t01", " t00 t01"]
        client = model.state.async_client()
        connections = len(client._transport._pool.connections)  # keep-alive: one connection for both
        model.close()  # on this loop, while it runs: the close is scheduled on it
        for _ in range(10):
            await asyncio.sleep(0.01)
        return connections, client.is_closed

    assert asyncio.run(twice_then_close()) == (1, True)
    idle = _load(replay_server.url(unique("text/2")))
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(idle.agenerate("Hi.")).content == " t00 t01"
        client = idle.state.async_client.__self__.async_clients[loop]
        idle.close()  # the loop is idle: the client is closed on it at once
        assert client.is_closed
    finally:
        loop.close()


_CHUNK = '{"choices": [{"index": 0, "delta": {"content": "h\\u00e9 \u00e9"}}], "model": "m"}'


@pytest.mark.parametrize(
    "data",
    [
        _CHUNK.encode(),  # the fast path: UTF-8, nothing around the document
        b"  " + _CHUNK.encode() + b" \t",  # whitespace around it
        b"\xef\xbb\xbf" + _CHUNK.encode(),  # a UTF-8 byte-order mark
        _CHUNK.encode("utf-16-le"),  # another encoding json.loads detects
        _CHUNK.encode("utf-32"),
    ],
    ids=["utf8", "whitespace", "bom", "utf16", "utf32"],
)
def test_each_payload_reads_as_json_loads_reads_it(data: bytes) -> None:
    import json

    from modelplug.wire import delta_from_chunk
    from modelplug_openai.provider import _ChunkReader

    assert _ChunkReader().read(data) == delta_from_chunk(json.loads(data))


@pytest.mark.parametrize("data", [b'{"choices": []} x', b"{'choices': []}", b'{"choices": [', b"\xff\xfe{", b""])
def test_a_payload_that_is_not_json_is_a_server_error_quoting_it(data: bytes) -> None:
    from modelplug_openai.provider import _ChunkReader

    with pytest.raises(errors.ServerError, match=r"malformed stream data \(not (JSON|UTF-8)\)"):
        _ChunkReader().read(data)


def test_every_option_is_declared_for_the_command_line() -> None:
    from click.testing import CliRunner

    from modelplug.cli import main

    result = CliRunner().invoke(main, ["plugins"])
    lines = result.output.splitlines()
    [line] = [lines[i + 2] for i, line in enumerate(lines) if line.startswith("openai ")]
    for shown in ("api_key (str)", "organization (str)", "headers (dict)", "timeout (JSON)", "connect_timeout (float)"):
        assert shown in line
