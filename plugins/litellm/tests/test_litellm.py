"""The litellm provider's own behaviour: lazy import, capabilities (stop support), options, chunks, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import DATA, as_objects, load_jsonl

import modelplug
from modelplug import errors
from modelplug.reserved import RESERVED_OPTIONS
from modelplug.secrets import redact
from modelplug.testing.http.processes import ReplayServer
from modelplug.testing.http.suite import STREAM_CASES, unique
from modelplug.types import ChatMessageStreamDelta, ToolCallDelta, Usage
from modelplug_litellm.capabilities import supports_stop
from modelplug_litellm.chunks import delta_from_chunk

ROOT = Path(__file__).resolve().parents[3]
KEY = "sk-modelplug-litellm-test-0000"
BEHAVIOUR = {case["id"]: case for case in json.loads((DATA / "behaviour_cases.json").read_text())}


def _run(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout.strip()


def test_importing_the_plugin_or_listing_providers_does_not_import_litellm() -> None:
    code = (
        "import sys, modelplug, modelplug_litellm; "
        "names = [p.name for p in modelplug.list_providers() if p.ok]; "
        "print('litellm' in names, 'litellm' in sys.modules, 'openai' in sys.modules)"
    )
    assert _run(code, dict(os.environ)) == "True False False"


def test_loading_a_model_imports_litellm_with_its_local_cost_map() -> None:
    code = (
        "import os, sys, modelplug; modelplug.load_model('litellm:openai/gpt-4o-mini', api_key='sk-x-12345678'); "
        "print('litellm' in sys.modules, os.environ['LITELLM_LOCAL_MODEL_COST_MAP'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    assert _run(code, env) == "True True"
    assert _run(code, {**env, "LITELLM_LOCAL_MODEL_COST_MAP": "False"}) == "True False"  # an explicit choice stays


# -- capabilities -------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", ["sup-01", "sup-02"])
def test_models_that_reject_stop_declare_no_stop_sequences(case_id: str) -> None:
    case = BEHAVIOUR[case_id]
    for model_id, expected in zip(case["input"]["model_ids"], case["expected"]["supports_stop"], strict=True):
        assert supports_stop(model_id) is expected, model_id
        if model_id:  # "litellm:" with an empty model id is not a model spec
            declared = modelplug.load_model(f"litellm:{model_id}", api_key=KEY).capabilities.stop_sequences
            assert declared is expected, model_id


def test_o4_mini_gets_no_stop_and_the_core_cuts_the_text(replay_server: ReplayServer) -> None:  # gen-04
    selector = unique("behaviour/gen-04")
    model = modelplug.load_model("litellm:openai/o4-mini", api_base=replay_server.url(selector), api_key=KEY)
    assert model.capabilities.stop_sequences is False
    message = model.generate("Hi.", stop=["<STOP>"])
    assert (message.content, message.tool_calls, message.usage) == ("This is some text", (), Usage(10, 20, 30))
    body = replay_server.requests(selector)[-1]["body"]
    assert "stop" not in body and body["model"] == "o4-mini"


def test_capabilities_come_from_litellms_model_information() -> None:
    mini = modelplug.load_model("litellm:openai/gpt-4o-mini", api_key=KEY).capabilities
    assert (mini.streaming, mini.tool_calling, mini.streamed_tool_calls, mini.usage_in_stream) == (
        True,
        "native",
        True,
        True,
    )
    assert (mini.stop_sequences, mini.structured_output, mini.vision, mini.reasoning) == (True, True, True, False)
    gpt5 = modelplug.load_model("litellm:openai/gpt-5", api_key=KEY).capabilities
    assert (gpt5.stop_sequences, gpt5.reasoning) == (False, True)
    custom = modelplug.load_model("litellm:openai/my-local-model", api_base="http://127.0.0.1:9/v1", api_key=KEY)
    assert custom.capabilities.tool_calling == "native" and custom.capabilities.stop_sequences


def test_the_capabilities_option_overrides() -> None:
    model = modelplug.load_model(
        "litellm:openai/gpt-4o-mini", api_key=KEY, capabilities={"tool_calling": "text", "tool_call_format": "hermes"}
    )
    assert (model.capabilities.tool_calling, model.capabilities.tool_call_format) == ("text", "hermes")
    with pytest.raises(errors.InvalidOptionError, match="capabilities"):
        modelplug.load_model("litellm:openai/gpt-4o-mini", api_key=KEY, capabilities={"telepathy": True})
    with pytest.raises(errors.InvalidOptionError, match="capabilities"):
        modelplug.load_model("litellm:openai/gpt-4o-mini", api_key=KEY, capabilities={"tool_calling": "maybe"})


def test_bad_modelplug_options_are_refused() -> None:
    for options in ({"estimated_usage": "yes"}, {"max_retries": -1}, {"retry_backoff": "fast"}):
        with pytest.raises(errors.InvalidOptionError):
            modelplug.load_model("litellm:openai/gpt-4o-mini", api_key=KEY, **options)


def test_option_types() -> None:
    from modelplug_litellm import option_types

    types = option_types()
    assert types["api_base"] is str and types["timeout"] is float
    # the retry options are the core's (reserved, typed for the command line by the core)
    assert not set(types) & RESERVED_OPTIONS


# -- requests -----------------------------------------------------------------------------------


def test_litellm_arguments_and_extra_options_reach_the_server(replay_server: ReplayServer) -> None:
    selector = unique("text/2")
    model = modelplug.load_model(
        "litellm:openai/replay", api_base=replay_server.url(selector), api_key=KEY, extra_headers={"X-Trace": "abc"}
    )
    history = [
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Hello.", "reasoning_content": "They greet me."},
        {"role": "user", "content": "Again."},
    ]
    model.generate(history, frequency_penalty=0.5, presence_penalty=0.25)
    record = replay_server.requests(selector)[-1]
    assert record["headers"]["x-trace"] == "abc"
    body = record["body"]
    assert (body["frequency_penalty"], body["presence_penalty"]) == (0.5, 0.25)
    assert [m.get("reasoning_content") for m in body["messages"]] == [None, None, None]
    assert "max_retries" not in body and "estimated_usage" not in body


def test_litellms_usage_estimate_is_kept_only_when_asked(replay_server: ReplayServer) -> None:
    selector = "case/azure-001-prompt-filter-chunk-and-annotation-without-delta"  # the server sends no usage
    plain = modelplug.load_model("litellm:openai/replay", api_base=replay_server.url(selector), api_key=KEY)
    assert plain.generate("Hi.").usage is None
    estimating = modelplug.load_model(
        "litellm:openai/replay", api_base=replay_server.url(selector), api_key=KEY, estimated_usage=True
    )
    usage = estimating.generate("Hi.").usage
    assert usage is not None and usage.completion_tokens > 0


def test_a_clean_end_without_finish_reason_ends_the_stream(replay_server: ReplayServer) -> None:
    # LiteLLM raises "Stream ended before a finish_reason was received"; the body ended normally.
    model = modelplug.load_model(
        "litellm:openai/replay", api_base=replay_server.url("case/litellm-002-groq-whole-call-per-chunk"), api_key=KEY
    )
    with model.stream("Weather?") as stream:
        list(stream)
    assert stream.outcome == "ok" and stream.message.finish_reason is None
    assert [c.id for c in stream.message.tool_calls] == ["call_fx9a", "call_fx9b", "call_fx9c"]


# -- secrets ------------------------------------------------------------------------------------


def test_keys_from_options_headers_and_environment_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    env_key = "sk-modelplug-env-key-1234abcd"
    header_key = "modelplug-header-secret-5678"
    monkeypatch.setenv("OPENAI_API_KEY", env_key)
    model = modelplug.load_model(
        "litellm:openai/gpt-4o-mini", extra_headers={"Authorization": f"Bearer {header_key}"}, api_key=KEY
    )
    assert redact(f"{env_key} {header_key} {KEY}") == "*** *** ***"
    assert KEY not in repr(model) and KEY not in repr(model.state)


# -- chunk mapping ------------------------------------------------------------------------------


def _litellm_chunk(data: dict[str, Any]) -> Any:
    from litellm.types.utils import ModelResponseStream

    return ModelResponseStream(**data)


def test_chunks_map_to_deltas() -> None:
    chunk = _litellm_chunk(
        {"choices": [{"index": 0, "delta": {"content": "Hi", "reasoning_content": "hm"}, "finish_reason": None}]}
    )
    assert delta_from_chunk(chunk) == ChatMessageStreamDelta(content="Hi", reasoning_content="hm")
    calls = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city"'},
    }
    chunk = _litellm_chunk({"choices": [{"index": 0, "delta": {"tool_calls": [calls]}, "finish_reason": "tool_calls"}]})
    assert delta_from_chunk(chunk) == ChatMessageStreamDelta(
        tool_calls=(ToolCallDelta(0, "call_1", "get_weather", '{"city"'),), finish_reason="tool_calls"
    )
    usage = _litellm_chunk({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})
    assert delta_from_chunk(usage) == ChatMessageStreamDelta(usage=Usage(3, 4, 7))
    assert (
        delta_from_chunk(_litellm_chunk({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}))
        is None
    )
    assert delta_from_chunk(_litellm_chunk({"choices": []})) is None


def test_a_tool_call_object_instead_of_a_list_is_read() -> None:
    from types import SimpleNamespace

    call = {"index": 0, "id": "", "function": {"name": "get_weather", "arguments": '{"'}}
    choice = SimpleNamespace(index=0, delta=SimpleNamespace(content=None, tool_calls=call), finish_reason=None)
    chunk = SimpleNamespace(choices=[choice], usage=None)
    assert delta_from_chunk(chunk) == ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, None, "get_weather", '{"'),))


def test_every_fixture_case_is_covered_by_the_http_suite() -> None:
    assert len(STREAM_CASES) >= 15


@pytest.mark.parametrize("case", load_jsonl("bad_chunk_cases.jsonl"), ids=lambda case: case["id"])
def test_a_chunk_field_of_the_wrong_type_is_a_malformed_chunk_error(case: dict[str, Any]) -> None:
    # the plugin's reader, as its stream runs it: the reader's error is not re-mapped as LiteLLM's
    from modelplug.retry import RetryPolicy
    from modelplug_litellm.provider import LiteLLMState, _reader

    reader = _reader(LiteLLMState(model="m", capabilities=modelplug.Capabilities(), retry=RetryPolicy()))
    chunks = [as_objects(chunk) for chunk in case["chunks"] if chunk != "[DONE]"]
    received: list[ChatMessageStreamDelta] = []
    with pytest.raises(errors.MalformedChunkError, match=case["expected_error"]["match"]):
        for delta in reader.deltas(iter(chunks)):
            received.append(delta)
    assert [d.content for d in received] == ["Hel"]  # the good chunk before it was delivered
