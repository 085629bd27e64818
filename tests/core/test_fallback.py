"""Fallback chains on loopback: a refused port, a 503 server, a model without tools, then the next answers."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import modelplug
from modelplug._fallback import FallbackModel
from modelplug.errors import BadRequestError, CapabilityError, ProviderConnectionError, ServerError
from modelplug.testing.fault_server import PREFIX, FaultServer
from modelplug.testing.http.fixtures import replay_server  # noqa: F401

pytest.importorskip("modelplug_openai")

TOOL = {"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {}}}}


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


@pytest.fixture
def refused_url() -> str:
    """The base URL of a port nothing listens on (bound, then closed: connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _openai(url: str, fault: str) -> str:
    return json.dumps({"spec": f"openai:{fault}", "base_url": url})


def _load(url: str, fault: str) -> modelplug.Model:
    return modelplug.load_model(f"openai:{fault}", base_url=url, api_key="unused-key", max_retries=0)


def _events(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [
        r.modelplug_fields  # type: ignore[attr-defined]
        for r in caplog.records
        if getattr(r, "modelplug_event", None) == "generation"
    ]


@pytest.mark.parametrize("first", ["refused", "503", "no-tools"])
def test_the_next_model_answers_when_the_first_fails_before_its_first_delta(
    first: str, server: FaultServer, refused_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="modelplug")
    head = {
        "refused": lambda: _load(refused_url, "ok"),
        "503": lambda: _load(server.base_url, "unavailable"),
        "no-tools": lambda: modelplug.load_model("example:default"),
    }[first]()
    options = {"tools": [TOOL]} if first == "no-tools" else {}
    with FallbackModel([head, _load(server.base_url, "ok")]) as chain:
        with chain.stream("hi", **options) as stream:
            text = "".join(delta.content or "" for delta in stream)
        assert text == f"{PREFIX} world"
        assert stream.message.model == "openai:ok"
        assert stream.attempts == [
            {
                "model": head.spec,
                "error": {"refused": ProviderConnectionError, "503": ServerError, "no-tools": CapabilityError}[
                    first
                ].__name__,
            }
        ]
        answer = chain.generate("hi", **options)
        assert answer.text == f"{PREFIX} world" and answer.model == "openai:ok"
    ok_requests = [body for body in server.requests if body.get("model") == "ok"]
    assert len(ok_requests) == 2  # one per call, nothing sent twice
    events = _events(caplog)
    answered = [event for event in events if event["outcome"] == "ok"]
    assert [event["model"] for event in answered] == ["ok", "ok"]  # the stream's, then generate's
    assert [event["attempts"] for event in answered] == [stream.attempts, stream.attempts]
    failed = [event for event in events if event["outcome"] == "error"]
    assert len(failed) == (0 if first == "no-tools" else 2)  # refused before any request: no stream to log


def test_a_failure_after_the_first_delta_raises_with_the_partial_message_and_no_switch(server: FaultServer) -> None:
    with FallbackModel([_load(server.base_url, "drop"), _load(server.base_url, "ok")]) as chain:
        stream = chain.stream("hi")
        seen = []
        with pytest.raises(ProviderConnectionError) as caught:
            for delta in stream:
                seen.append(delta.content)
    assert seen == [PREFIX]
    assert caught.value.message.text == PREFIX  # type: ignore[attr-defined]
    assert caught.value.message.model == "openai:drop"  # type: ignore[attr-defined]
    assert stream.message.text == PREFIX and stream.outcome == "error"
    assert [body["model"] for body in server.requests] == ["drop"]  # the second model was never asked


def test_when_every_model_fails_the_last_error_is_raised_with_every_attempt(
    server: FaultServer, refused_url: str
) -> None:
    chain = FallbackModel([_load(refused_url, "ok"), _load(server.base_url, "unavailable")])
    with chain, pytest.raises(ServerError) as caught:
        chain.generate("hi")
    assert [a["error"] for a in caught.value.attempts] == ["ProviderConnectionError", "ServerError"]  # type: ignore[attr-defined]
    assert "every model of the fallback chain failed" in caught.value.__notes__[0]


def test_an_error_event_after_the_first_delta_is_raised_from_the_stream(server: FaultServer) -> None:
    with FallbackModel([_load(server.base_url, "error-object"), _load(server.base_url, "ok")]) as chain:
        with pytest.raises(ServerError) as caught, chain.stream("hi") as stream:
            for _ in stream:
                pass
        assert caught.value.message.text == PREFIX  # type: ignore[attr-defined]
        assert [body["model"] for body in server.requests] == ["error-object"]
        assert chain.generate("hi").model == "openai:ok"  # generate() showed nothing yet: it moves on


def test_other_errors_do_not_fall_back(replay_server: Any, server: FaultServer) -> None:  # noqa: F811
    bad = modelplug.load_model("openai:x", base_url=replay_server.url("error/400"), api_key="k-1234", max_retries=0)
    with FallbackModel([bad, _load(server.base_url, "ok")]) as chain:
        with pytest.raises(BadRequestError):
            chain.generate("hi")
        with pytest.raises(BadRequestError), chain.stream("hi") as stream:
            list(stream)
    assert server.requests == []


def test_64_concurrent_requests_are_each_answered_exactly_once(server: FaultServer, refused_url: str) -> None:
    with FallbackModel([_load(refused_url, "ok"), _load(server.base_url, "ok")]) as chain:

        def ask(number: int) -> tuple[str, str | None]:
            with chain.stream(f"question {number}") as stream:
                return "".join(delta.content or "" for delta in stream), stream.message.model

        with ThreadPoolExecutor(64) as pool:
            answers = list(pool.map(ask, range(64)))
    assert answers == [(f"{PREFIX} world", "openai:ok")] * 64
    asked = sorted(body["messages"][-1]["content"] for body in server.requests)
    assert asked == sorted(f"question {n}" for n in range(64))  # each exactly once


def test_load_model_with_a_list_and_an_alias_fallback(
    server: FaultServer, refused_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[models.primary]\nmodel = "openai:ok"\nbase_url = "{refused_url}"\nmax_retries = 0\n'
        'fallback = ["backup"]\n\n'
        f'[models.backup]\nmodel = "openai:ok"\nbase_url = "{server.base_url}"\nmax_retries = 0\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("MODELPLUG_CONFIG", str(config))
    with modelplug.load_model("primary") as chain:
        assert isinstance(chain, FallbackModel) and chain.spec == "primary"
        assert chain.generate("hi").text == f"{PREFIX} world"
    with modelplug.load_model(["example:default", "backup"]) as listed:
        assert isinstance(listed, FallbackModel)
        assert listed.generate("hi", tools=[TOOL]).model == "openai:ok"


def test_fallback_loops_are_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[models.a]\nmodel = "example:default"\nfallback = ["b"]\n\n'
        '[models.b]\nmodel = "example:default"\nfallback = ["a"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("MODELPLUG_CONFIG", str(config))
    with pytest.raises(modelplug.InvalidOptionError, match=r":3: alias 'a': fallback chains form a cycle: a -> b -> a"):
        modelplug.load_model("a")


def test_bad_options_are_refused_when_the_stream_is_asked_for(server: FaultServer) -> None:
    with FallbackModel([_load(server.base_url, "ok"), _load(server.base_url, "ok")]) as chain:
        with pytest.raises(modelplug.InvalidOptionError, match="max_tokens"):
            chain.stream("hi", max_tokens=-1)
        with pytest.raises(modelplug.InvalidOptionError):
            chain.stream([])
    assert server.requests == []


def test_astream_and_agenerate_fall_back_the_same_way(server: FaultServer, refused_url: str) -> None:
    models = [_load(refused_url, "ok"), _load(server.base_url, "unavailable"), _load(server.base_url, "ok")]

    async def main(chain: FallbackModel) -> None:
        async with chain.astream("hi") as stream:
            text = "".join([delta.content or "" async for delta in stream])
        assert text == f"{PREFIX} world" and stream.message.model == "openai:ok"
        assert [a["error"] for a in stream.attempts] == ["ProviderConnectionError", "ServerError"]
        answer = await chain.agenerate("hi")
        assert answer.text == f"{PREFIX} world" and answer.model == "openai:ok"

    with FallbackModel(models) as chain:
        asyncio.run(main(chain))


def test_astream_after_the_first_delta_raises_with_the_partial_message(server: FaultServer) -> None:
    seen: list[str | None] = []

    async def main(chain: FallbackModel) -> None:
        async with chain.astream("hi") as stream:
            async for delta in stream:
                seen.append(delta.content)

    chain = FallbackModel([_load(server.base_url, "drop"), _load(server.base_url, "ok")])
    with chain, pytest.raises(ProviderConnectionError) as caught:
        asyncio.run(main(chain))
    assert seen == [PREFIX] and caught.value.message.text == PREFIX  # type: ignore[attr-defined]
    assert [body["model"] for body in server.requests] == ["drop"]


def test_64_concurrent_astreams_are_each_answered_exactly_once(server: FaultServer, refused_url: str) -> None:
    async def ask(chain: FallbackModel, number: int) -> str:
        async with chain.astream(f"question {number}") as stream:
            return "".join([delta.content or "" async for delta in stream])

    async def main(chain: FallbackModel) -> list[str]:
        return list(await asyncio.gather(*(ask(chain, n) for n in range(64))))

    with FallbackModel([_load(refused_url, "ok"), _load(server.base_url, "ok")]) as chain:
        answers = asyncio.run(main(chain))
    assert answers == [f"{PREFIX} world"] * 64
    assert sorted(body["messages"][-1]["content"] for body in server.requests) == sorted(
        f"question {n}" for n in range(64)
    )


def test_the_cli_stats_line_and_json_name_the_model_that_answered(
    server: FaultServer, refused_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from modelplug.cli import main

    config = tmp_path / "config.toml"
    config.write_text(
        f'[models.primary]\nmodel = "openai:ok"\nbase_url = "{refused_url}"\nmax_retries = 0\napi_key = "k-0001"\n'
        'fallback = ["backup"]\n\n'
        f'[models.backup]\nmodel = "openai:ok"\nbase_url = "{server.base_url}"\napi_key = "k-0002"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("MODELPLUG_CONFIG", str(config))
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--no-log", "--stats", "-m", "primary", "hi"])
    assert result.exit_code == 0, result.output
    assert f"{PREFIX} world" in result.output
    assert "answered by openai:ok after 2 attempts" in result.output
    result = runner.invoke(main, ["run", "--no-log", "--json", "-m", "primary", "hi"])
    final = json.loads(result.output.strip().splitlines()[-1])
    assert final["model"] == "primary" and final["answered_by"] == "openai:ok"
    assert final["stats"]["answered_by"] == "openai:ok"


def test_response_format_passes_over_models_without_structured_output_only_when_a_later_one_has_it(
    server: FaultServer,
) -> None:
    json_mode = {"response_format": {"type": "json_object"}}
    plain = modelplug.load_model("example:default")
    with FallbackModel([plain, _load(server.base_url, "ok")]) as chain:
        with chain.stream("hi", **json_mode) as stream:
            list(stream)
        assert stream.message.model == "openai:ok"
        assert stream.attempts == [{"model": "example:default", "error": "CapabilityError"}]
        assert chain.generate("hi", **json_mode).model == "openai:ok"
        assert chain.generate("hi", max_tokens=3).model == "example:default"  # no response_format: the first
    with FallbackModel([modelplug.load_model("example:default"), modelplug.load_model("example:default")]) as both:
        assert both.generate("hi", max_tokens=3, **json_mode).model == "example:default"  # nobody declares it
