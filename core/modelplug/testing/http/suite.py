"""The tests every HTTP provider plugin runs against real servers on 127.0.0.1.

A plugin's tests subclass :class:`HttpProviderSuite`, say how to load a model that talks to a
``base_url``, and list what their client library itself changes in the recorded streams::

    class TestOverHttp(HttpProviderSuite):
        provider = "litellm"
        def load(self, base_url, model="replay", **options): ...

Every test goes through the real client library (LiteLLM, huggingface_hub) and real SSE bytes from
:mod:`modelplug.testing.http.replay_server` (fixture streams, error statuses, drops, slow streams) or from
``transformers serve`` on the embedded SmolLM2 (``slow`` tests). The plugin's ``conftest.py`` imports
the ``replay_server`` and ``transformers_server`` fixtures from :mod:`modelplug.testing.http.fixtures`.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import traceback
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

import modelplug
from modelplug import errors
from modelplug._model import Model
from modelplug.testing.http import cases_dir
from modelplug.testing.http.processes import ReplayServer, TransformersServer

__all__ = ["BEHAVIOUR_STREAMS", "STREAM_CASES", "VARIANTS", "HttpProviderSuite", "unique"]

DATA = cases_dir()
_LINES = (DATA / "stream_cases.jsonl").read_text(encoding="utf-8").splitlines()
STREAM_CASES = {case["id"]: case for case in (json.loads(line) for line in _LINES if line.strip())}
_BEHAVIOUR = {case["id"]: case for case in json.loads((DATA / "behaviour_cases.json").read_text())}
BEHAVIOUR_STREAMS = sorted(k for k, v in _BEHAVIOUR.items() if v["kind"] == "aggregate_stream")
#: How each fixture stream is sent: as recorded; CRLF line ends with SSE comments; the whole body
#: re-cut into 7-byte TCP writes (mid-line, mid-UTF-8) with comments; without ``data: [DONE]``.
VARIANTS = {"plain": "", "crlf": "crlf,comments", "split": "split=7,comments", "nodone": "nodone"}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def unique(selector: str) -> str:
    """``selector`` with a fresh ``tag`` modifier, so that the server counts its requests apart."""
    tag = f"tag={secrets.token_hex(4)}"
    return f"{selector},{tag}" if "@" in selector else f"{selector}@{tag}"


def _usage(value: Mapping[str, Any] | None) -> dict[str, int] | None:
    if value is None:
        return None
    prompt = value.get("prompt_tokens", value.get("input_tokens", 0))
    completion = value.get("completion_tokens", value.get("output_tokens", 0))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": value.get("total_tokens", prompt + completion),
    }


def _message_fields(message: modelplug.ChatMessage) -> dict[str, Any]:
    usage = message.usage
    return {
        "content": message.content,
        "reasoning_content": message.reasoning_content,
        "tool_calls": [
            {"id": c.id, "name": c.name, "arguments": c.arguments, "raw_arguments": c.raw_arguments}
            for c in message.tool_calls
        ],
        "finish_reason": message.finish_reason,
        "usage": None
        if usage is None
        else _usage(
            {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            }
        ),
    }


def _expected_calls(calls: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The expected calls in the shape of ``got``: a ``None`` id (none sent) matches any minted id."""
    result = []
    for i, call in enumerate(calls):
        minted = got[i]["id"] if i < len(got) else None
        result.append(
            {
                "id": call.get("id") or minted,
                "name": call["name"],
                "arguments": call.get("arguments"),
                "raw_arguments": call.get("raw_arguments"),
            }
        )
    return result


class HttpProviderSuite:
    """The shared tests; see the module docstring."""

    #: The provider under test (its entry-point name).
    provider: ClassVar[str]
    #: What the provider's client library changes in a fixture stream, by case id: the fields the
    #: caller gets instead of the fixture's expectation. Each entry is asserted exactly, and the
    #: plugin's README says which client loses what.
    client_differences: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    #: The API key sent by default (a fake one: the servers are local).
    api_key: ClassVar[str] = "sk-modelplug-test-key-0000"

    def load(self, base_url: str, model: str = "replay", **options: Any) -> Model:
        """Load a model of this provider that talks to the OpenAI API at ``base_url`` (ending in
        ``/v1``). ``api_key``, ``timeout``, ``capabilities`` and the retry options are passed under
        the provider's names."""
        raise NotImplementedError

    def replay(self, server: ReplayServer, selector: str, **options: Any) -> Model:
        options.setdefault("retry_backoff", 0.01)
        return self.load(server.url(selector), **options)

    # -- every fixture stream through the real client -------------------------------------------

    @pytest.mark.parametrize("variant", sorted(VARIANTS))
    @pytest.mark.parametrize("case_id", sorted(STREAM_CASES))
    def test_fixture_stream_aggregates_as_expected(
        self, replay_server: ReplayServer, case_id: str, variant: str
    ) -> None:
        case = STREAM_CASES[case_id]
        modifiers = VARIANTS[variant]
        model = self.replay(replay_server, f"case/{case_id}" + (f"@{modifiers}" if modifiers else ""))
        with model.stream("Replay the recorded stream.") as stream:
            deltas = list(stream)
        got = _message_fields(stream.message)
        expected = dict(case["expected"])
        expected["usage"] = _usage(expected.get("usage"))
        expected["tool_calls"] = _expected_calls(expected["tool_calls"], got["tool_calls"])
        expected.update(self.client_differences.get(case_id, {}))
        assert got == expected
        assert deltas, "no deltas"

    @pytest.mark.parametrize("case_id", BEHAVIOUR_STREAMS)
    def test_behaviour_stream_aggregates_as_expected(self, replay_server: ReplayServer, case_id: str) -> None:
        expected = _BEHAVIOUR[case_id]["expected"]
        message = self.replay(replay_server, f"behaviour/{case_id}").generate("Replay it.")
        assert (message.content or "") == expected["content"]
        calls = [{"name": c.name, "arguments": c.arguments} for c in message.tool_calls]
        assert calls == [{"name": c["name"], "arguments": c["arguments_parsed"]} for c in expected["tool_calls"]]
        usage = _usage(expected["usage"])
        if usage == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}:
            usage = None  # no usage was sent: modelplug says None where smolagents says zeros
        assert _message_fields(message)["usage"] == usage
        assert "2+2" not in (message.content or "")  # agg-16: reasoning never leaks into content

    # -- streaming behaviour ----------------------------------------------------------------------

    def test_deltas_arrive_incrementally_with_the_servers_usage(self, replay_server: ReplayServer) -> None:
        selector = unique("text/20@delay=0.05")
        with self.replay(replay_server, selector).stream("Count.") as stream:
            first = next(d for d in stream if d.content)
            record = replay_server.requests(selector)[-1]
            assert record["outcome"] is None and record["events_sent"] < 20, (
                "the first delta waited for the whole answer"
            )
            rest = list(stream)
        assert first.content == " t00"
        assert sum(1 for d in rest if d.content) == 19
        assert stream.message.content == "".join(f" t{i:02d}" for i in range(20))
        assert stream.message.usage == modelplug.Usage(7, 20, 27)
        assert stream.message.finish_reason == "stop"
        body = record["body"]
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}

    def test_streamed_native_tool_calls_aggregate(self, replay_server: ReplayServer) -> None:
        message = self.replay(replay_server, "tool/40").generate("Search.", tools=[WEATHER])
        assert [c.name for c in message.tool_calls] == ["search"]
        assert message.tool_calls[0].arguments == {"q": "".join(f"a{i:02d} " for i in range(40))}
        assert message.finish_reason == "tool_calls"
        assert message.usage == modelplug.Usage(9, 40, 49)

    def test_text_tool_calls_are_parsed_when_declared(self, replay_server: ReplayServer) -> None:
        toolcalls = pytest.importorskip("modelplug.toolcalls", reason="the core's tool-call parser (issue 4)")
        if not hasattr(toolcalls, "StreamParser"):
            pytest.skip("modelplug.toolcalls.StreamParser is not there yet")
        model = self.replay(replay_server, "echo", capabilities={"tool_calling": "text", "tool_call_format": "hermes"})
        text = 'Checking. <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
        message = model.generate(text, tools=[WEATHER])
        assert [(c.name, c.arguments) for c in message.tool_calls] == [("get_weather", {"city": "Paris"})]
        assert str(message.content or "").strip() == "Checking."
        body = replay_server.requests("echo")[-1]["body"]
        assert body["tools"][0]["function"]["name"] == "get_weather" and "tool_choice" not in body

    # -- request shape: tools, tool_choice, stop (behaviour cases ck-03/04/05, gen-01, gen-04) ---

    def _sent(self, server: ReplayServer, selector: str, **generation: Any) -> dict[str, Any]:
        selector = unique(selector)
        self.replay(server, selector).generate("Hi.", **generation)
        body: dict[str, Any] = server.requests(selector)[-1]["body"]
        return body

    def test_tools_without_tool_choice_leave_the_servers_default(self, replay_server: ReplayServer) -> None:
        # ck-03 expects smolagents' agent default, tool_choice="required"; modelplug is a model layer
        # and sends no tool_choice (the server's default, "auto"); agents ask for "required" themselves.
        body = self._sent(replay_server, "text/2", tools=[WEATHER])
        assert body["tools"][0]["function"]["name"] == "get_weather"
        assert "tool_choice" not in body

    def test_tool_choice_none_is_left_out(self, replay_server: ReplayServer) -> None:  # ck-04
        body = self._sent(replay_server, "text/2", tools=[WEATHER], tool_choice=None)
        assert "tools" in body and "tool_choice" not in body

    def test_tool_choice_without_tools_is_never_sent(self, replay_server: ReplayServer) -> None:  # ck-05
        # "auto" and "none" mean nothing without tools and are left out; a forced choice no tool can
        # answer is the caller's mistake: an InvalidOptionError before any request (OpenAI answers 400)
        body = self._sent(replay_server, "text/2", tool_choice="none")
        assert "tools" not in body and "tool_choice" not in body
        selector = unique("text/2")
        with pytest.raises(errors.InvalidOptionError, match="tool_choice='required' needs at least one tool"):
            self.replay(replay_server, selector).generate("Hi.", tool_choice="required")
        assert not replay_server.requests(selector)

    def test_tool_choice_is_sent_with_tools(self, replay_server: ReplayServer) -> None:
        forced = {"type": "function", "function": {"name": "get_weather"}}
        body = self._sent(replay_server, "text/2", tools=[WEATHER], tool_choice=forced)
        assert body["tool_choice"] == forced

    def test_stop_is_cut_by_the_core_when_the_model_rejects_stop(self, replay_server: ReplayServer) -> None:  # gen-04
        selector = unique("behaviour/gen-04")
        model = self.replay(replay_server, selector, capabilities={"stop_sequences": False})
        message = model.generate("Hi.", stop=["<STOP>"])
        assert message.content == "This is some text"
        assert message.finish_reason == "stop"
        assert message.usage == modelplug.Usage(10, 20, 30)
        assert "stop" not in replay_server.requests(selector)[-1]["body"]

    def test_stop_is_sent_when_the_model_takes_it(self, replay_server: ReplayServer) -> None:
        body = self._sent(replay_server, "text/2", stop=["<STOP>"], max_tokens=5, temperature=0.0, seed=3)
        assert (body["stop"], body["max_tokens"], body["temperature"], body["seed"]) == (["<STOP>"], 5, 0.0, 3)

    def test_response_without_usage_gives_no_usage(self, replay_server: ReplayServer) -> None:  # gen-01
        message = self.replay(replay_server, "behaviour/gen-01").generate("Hi.")
        assert (message.content, message.tool_calls, message.usage) == ("Hi there", (), None)

    # -- errors -----------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("selector", "expected", "status"),
        [
            ("error/401", errors.AuthenticationError, 401),
            ("error/403", errors.AuthenticationError, 403),
            ("error/408", errors.ProviderTimeoutError, 408),
            ("error/400", errors.BadRequestError, 400),
            ("error/422", errors.BadRequestError, 422),
            ("error/context_length", errors.ContextLengthError, 400),
            ("error/content_filter", errors.ContentFilterError, 400),
            ("error/500", errors.ServerError, 500),
            ("error/503", errors.ServerError, 503),
            ("empty", errors.ServerError, 200),
        ],
    )
    def test_error_statuses_map_to_typed_errors(
        self, replay_server: ReplayServer, selector: str, expected: type[errors.ProviderError], status: int
    ) -> None:
        selector = unique(selector)
        stream = self.replay(replay_server, selector, max_retries=0).stream("Hi.")
        with pytest.raises(expected) as caught:
            list(stream)
        error = caught.value
        assert error.provider == self.provider
        assert error.status_code == status
        assert stream.error is error and stream.message.content is None
        if status != 200:
            assert error.original is not None and error.__cause__ is error.original
        assert len(replay_server.requests(selector)) == 1

    def test_rate_limit_keeps_retry_after_and_is_not_waited_for_beyond_the_cap(
        self, replay_server: ReplayServer
    ) -> None:
        selector = unique("error/429@retry_after=7")
        with pytest.raises(errors.RateLimitError) as caught:
            self.replay(replay_server, selector, retry_max_wait=1).generate("Hi.")
        assert caught.value.retry_after == 7
        assert caught.value.status_code == 429
        assert len(replay_server.requests(selector)) == 1

    def test_rate_limit_is_retried_after_retry_after(self, replay_server: ReplayServer) -> None:
        selector = unique("text/3@fail=429x2,retry_after=0")
        message = self.replay(replay_server, selector, max_retries=2).generate("Hi.")
        assert message.content == " t00 t01 t02"
        assert [r["outcome"] for r in replay_server.requests(selector)] == ["status 429", "status 429", "complete"]

    def test_server_errors_are_retried_with_backoff_until_the_limit(self, replay_server: ReplayServer) -> None:
        recovered = unique("text/3@fail=500x1")
        assert self.replay(replay_server, recovered, max_retries=2).generate("Hi.").content == " t00 t01 t02"
        assert len(replay_server.requests(recovered)) == 2
        failing = unique("text/3@fail=503x9")
        with pytest.raises(errors.ServerError):
            self.replay(replay_server, failing, max_retries=1).generate("Hi.")
        assert len(replay_server.requests(failing)) == 2

    def test_a_drop_before_the_first_delta_is_retried(self, replay_server: ReplayServer) -> None:
        selector = unique("text/5@drop=0")
        with pytest.raises(errors.ProviderConnectionError):
            self.replay(replay_server, selector, max_retries=2).generate("Hi.")
        assert [r["outcome"] for r in replay_server.requests(selector)] == ["dropped"] * 3

    def test_a_drop_mid_stream_raises_and_keeps_what_arrived(self, replay_server: ReplayServer) -> None:
        selector = unique("case/vllm-002-reasoning-content-deltas@drop=8")
        stream = self.replay(replay_server, selector, max_retries=3).stream("What is 2+2?")
        received = []
        with pytest.raises(errors.ProviderConnectionError) as caught:
            for delta in stream:
                received.append(delta)
        assert caught.value.provider == self.provider and caught.value.original is not None
        assert stream.error is caught.value
        assert stream.message.reasoning_content == "Okay, the user asks for 2+2. That is 4."
        assert stream.message.content == "\n\n2 + 2"
        assert stream.message.finish_reason is None
        assert len(replay_server.requests(selector)) == 1, "retried after deltas had reached the caller"

    def test_an_error_event_after_the_first_delta_is_not_retried(self, replay_server: ReplayServer) -> None:
        selector = unique("text/5@error_event=2")
        stream = self.replay(replay_server, selector, max_retries=3).stream("Hi.")
        with pytest.raises(errors.ServerError, match="crashed"):
            list(stream)
        assert stream.message.content == " t00 t01"
        assert len(replay_server.requests(selector)) == 1

    def test_a_client_timeout_is_a_timeout_error(self, replay_server: ReplayServer) -> None:
        with pytest.raises(errors.ProviderTimeoutError):
            self.replay(replay_server, unique("text/3@wait=5"), timeout=0.5, max_retries=0).generate("Hi.")

    def test_a_refused_connection_is_a_connection_error(self, replay_server: ReplayServer) -> None:
        from modelplug.testing.http.processes import free_port

        model = self.load(f"http://127.0.0.1:{free_port()}/v1", max_retries=1, retry_backoff=0.01)
        with pytest.raises(errors.ProviderConnectionError):
            model.generate("Hi.")

    # -- closing ----------------------------------------------------------------------------------

    def test_leaving_a_stream_closes_the_http_response(self, replay_server: ReplayServer) -> None:
        selector = unique("text/3000@delay=0.005")
        with self.replay(replay_server, selector).stream("Count.") as stream:
            for number, _ in enumerate(stream):
                if number == 2:
                    break
        record = replay_server.wait_outcome(selector)
        assert record["outcome"] == "disconnected"
        assert record["events_sent"] < 3000
        assert stream.closed and stream.outcome == "cancelled"

    def test_closing_a_stream_explicitly_closes_the_http_response(self, replay_server: ReplayServer) -> None:
        selector = unique("text/3000@delay=0.005")
        stream = self.replay(replay_server, selector).stream("Count.")
        next(stream)
        stream.close()
        assert replay_server.wait_outcome(selector)["outcome"] == "disconnected"
        assert stream.message.content == " t00"

    # -- secrets ----------------------------------------------------------------------------------

    def test_the_key_never_shows_in_errors_reprs_or_logs(
        self, replay_server: ReplayServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        key = f"{self.api_key[:3]}modelplug-secret-{secrets.token_hex(8)}"
        caplog.set_level(logging.DEBUG)
        retried = unique("text/2@fail=429x1,retry_after=0")
        model = self.replay(replay_server, retried, api_key=key, max_retries=1)
        assert model.generate("Hi.").content == " t00 t01"
        selector = unique("error/401")  # the server echoes the key in its error message
        failing = self.replay(replay_server, selector, api_key=key, max_retries=0)
        with pytest.raises(errors.AuthenticationError) as caught:
            failing.generate("Hi.")
        assert replay_server.requests(selector)[-1]["authorization"] == f"Bearer {key}"
        shown = [
            str(caught.value),
            repr(caught.value),
            "".join(traceback.format_exception(caught.value)),
            repr(model),
            repr(model.state),
            caplog.text,
        ]
        assert "retry" in caplog.text
        for text in shown:
            assert key not in text

    # -- transformers serve (the embedded SmolLM2, real generation) ------------------------------

    def _served(self, server: TransformersServer, **options: Any) -> Model:
        return self.load(server.url, model=server.model_name, **options)

    @pytest.mark.slow
    def test_transformers_serve_answers_paris_incrementally_with_its_usage(
        self, transformers_server: TransformersServer
    ) -> None:
        import httpx

        question = "What is the capital of France?"
        arrivals: list[float] = []
        with self._served(transformers_server).stream(question, max_tokens=24, temperature=0.0) as stream:
            for delta in stream:
                if delta.content:
                    arrivals.append(time.perf_counter())
        answer = stream.message
        assert "Paris" in (answer.content or "")
        assert len(arrivals) >= 4 and arrivals[-1] > arrivals[0], "the answer did not arrive in pieces"
        reference = httpx.post(
            f"{transformers_server.url}/chat/completions",
            json={
                "model": transformers_server.model_name,
                "messages": [{"role": "user", "content": question}],
                "max_tokens": 24,
                "temperature": 0.0,
            },
            timeout=120,
        ).json()
        usage = reference["usage"]
        assert answer.usage == modelplug.Usage(
            usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]
        )
        assert answer.content == reference["choices"][0]["message"]["content"]
        assert answer.finish_reason == reference["choices"][0]["finish_reason"]

    @pytest.mark.slow
    def test_transformers_serve_stop_is_cut_by_the_core_when_declared_unsupported(
        self, transformers_server: TransformersServer
    ) -> None:
        # transformers serve stops *after* the stop text and keeps it in the answer; declaring
        # stop_sequences=False gives the OpenAI meaning (the answer ends before the stop text).
        question = "What is the capital of France?"
        kept = self._served(transformers_server).generate(question, max_tokens=24, temperature=0.0, stop=["Paris"])
        assert str(kept.content or "").endswith("Paris")
        model = self._served(transformers_server, capabilities={"stop_sequences": False})
        cut = model.generate(question, max_tokens=24, temperature=0.0, stop=["Paris"])
        assert "Paris" not in str(cut.content or "") and str(cut.content or "").strip()
        assert cut.finish_reason == "stop"

    @pytest.mark.slow
    def test_transformers_serve_rejects_unknown_fields_and_models(
        self, transformers_server: TransformersServer
    ) -> None:
        with pytest.raises(errors.BadRequestError, match="Unexpected fields") as caught:
            self._served(transformers_server, max_retries=0).generate("Hi.", max_tokens=2, foo=1)
        assert caught.value.status_code == 422
        with pytest.raises(errors.BadRequestError) as caught:
            self.load(transformers_server.url, model="other", max_retries=0).generate("Hi.", max_tokens=2)
        assert caught.value.status_code == 400
