"""The inference-client provider's own behaviour: options, offline mode, requests, chunks, secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import as_objects, load_jsonl

import modelplug
from modelplug import errors
from modelplug.reserved import RESERVED_OPTIONS
from modelplug.secrets import redact
from modelplug.testing.http.processes import ReplayServer
from modelplug.testing.http.suite import unique
from modelplug.types import ChatMessageStreamDelta, ToolCallDelta, Usage
from modelplug_inference_client.chunks import delta_from_chunk

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "hf_modelplugclienttest0000"


def _load(base_url: str, **options: Any) -> modelplug.Model:
    return modelplug.load_model("inference-client:replay", base_url=base_url, token=TOKEN, **options)


def test_importing_the_plugin_does_not_import_the_client() -> None:
    code = (
        "import sys, modelplug, modelplug_inference_client; modelplug.list_providers(); "
        "print('huggingface_hub' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"


def test_offline_mode_is_refused_at_load_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(errors.ModelLoadError, match="HF_HUB_OFFLINE"):
        _load("http://127.0.0.1:9/v1")


def test_offline_mode_turned_on_after_load_is_a_clear_error(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    model = _load(replay_server.url("text/2"), max_retries=0)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(errors.ProviderError, match="offline mode") as caught:
        model.generate("Hi.")
    assert type(caught.value.original).__name__ == "OfflineModeIsEnabled"


def test_bad_options_are_refused() -> None:
    with pytest.raises(errors.InvalidOptionError, match="unknown inference-client option"):
        _load("http://127.0.0.1:9/v1", temperature=0.1)
    with pytest.raises(errors.InvalidOptionError, match="not both"):
        modelplug.load_model("inference-client:x", base_url="http://127.0.0.1:9/v1", token=TOKEN, api_key=TOKEN)
    with pytest.raises(errors.InvalidOptionError, match="timeout"):
        _load("http://127.0.0.1:9/v1", timeout=-1)
    with pytest.raises(errors.InvalidOptionError, match="capabilities"):
        _load("http://127.0.0.1:9/v1", capabilities={"tool_calling": "maybe"})
    with pytest.raises(errors.InvalidOptionError, match="max_retries"):
        _load("http://127.0.0.1:9/v1", max_retries=-2)


def test_capabilities_default_and_override() -> None:
    declared = _load("http://127.0.0.1:9/v1").capabilities
    assert (declared.streaming, declared.tool_calling, declared.usage_in_stream, declared.stop_sequences) == (
        True,
        "native",
        True,
        True,
    )
    text = _load("http://127.0.0.1:9/v1", capabilities={"tool_calling": "text", "stop_sequences": False}).capabilities
    assert (text.tool_calling, text.stop_sequences) == ("text", False)


def test_api_key_is_an_alias_of_token(replay_server: ReplayServer) -> None:
    selector = unique("text/1")
    model = modelplug.load_model("inference-client:replay", base_url=replay_server.url(selector), api_key=TOKEN)
    model.generate("Hi.")
    assert replay_server.requests(selector)[-1]["authorization"] == f"Bearer {TOKEN}"


def test_an_endpoint_url_as_model_id(replay_server: ReplayServer) -> None:
    selector = unique("text/2")
    model = modelplug.load_model(f"inference-client:{replay_server.url(selector)}", token=TOKEN)
    assert model.generate("Hi.").content == " t00 t01"
    assert replay_server.requests(selector)[-1]["path"].endswith("/v1/chat/completions")


def test_extra_options_are_named_arguments_or_extra_body(replay_server: ReplayServer) -> None:
    selector = unique("text/1")
    history = [
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Hello.", "reasoning_content": "They greet me."},
        {"role": "user", "content": "Again."},
    ]
    _load(replay_server.url(selector), headers={"X-Trace": "abc"}).generate(
        history, frequency_penalty=0.5, top_k=20, extra_body={"min_p": 0.1}
    )
    record = replay_server.requests(selector)[-1]
    body = record["body"]
    assert (body["frequency_penalty"], body["top_k"], body["min_p"]) == (0.5, 20, 0.1)
    assert [m.get("reasoning_content") for m in body["messages"]] == [None, None, None]
    assert record["headers"]["x-trace"] == "abc"


def test_the_environment_token_is_used_and_redacted(
    replay_server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "hf_modelplugenvtoken5678abcd"
    monkeypatch.setenv("HF_TOKEN", token)
    selector = unique("text/1")
    model = modelplug.load_model("inference-client:replay", base_url=replay_server.url(selector))
    model.generate("Hi.")
    assert replay_server.requests(selector)[-1]["authorization"] == f"Bearer {token}"
    assert redact(token) == "***"
    assert token not in repr(model.state) and TOKEN not in repr(_load("http://127.0.0.1:9/v1").state)


def test_option_types() -> None:
    from modelplug_inference_client import option_types

    types = option_types()
    assert types["base_url"] is str and types["timeout"] is float
    # the retry options are the core's (reserved, typed for the command line by the core)
    assert not set(types) & RESERVED_OPTIONS


# -- chunk mapping ------------------------------------------------------------------------------


def _hub_chunk(data: dict[str, Any]) -> Any:
    from huggingface_hub import ChatCompletionStreamOutput

    return ChatCompletionStreamOutput.parse_obj_as_instance(data)


def test_chunks_map_to_deltas_keeping_fields_the_hub_does_not_declare() -> None:
    chunk = _hub_chunk({"choices": [{"index": 0, "delta": {"reasoning_content": "hm"}, "finish_reason": None}]})
    assert "reasoning_content" not in chunk["choices"][0]["delta"]  # the dict view loses it
    assert delta_from_chunk(chunk) == ChatMessageStreamDelta(reasoning_content="hm")
    chunk = _hub_chunk({"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi", "reasoning": "r"}}]})
    assert delta_from_chunk(chunk) == ChatMessageStreamDelta(content="Hi", reasoning_content="r")
    call = {"index": 0, "id": "", "type": "function", "function": {"name": "f", "arguments": '{"'}}
    single = _hub_chunk({"choices": [{"index": 0, "delta": {"tool_calls": call}, "finish_reason": "eos_token"}]})
    assert delta_from_chunk(single) == ChatMessageStreamDelta(
        tool_calls=(ToolCallDelta(0, None, "f", '{"'),), finish_reason="eos_token"
    )
    usage = _hub_chunk({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}})
    assert delta_from_chunk(usage) == ChatMessageStreamDelta(usage=Usage(3, 4, 7))
    assert delta_from_chunk(_hub_chunk({"choices": [{"index": 0, "delta": None, "finish_reason": None}]})) is None
    assert delta_from_chunk(_hub_chunk({"choices": [], "prompt_filter_results": []})) is None


@pytest.mark.parametrize("case", load_jsonl("bad_chunk_cases.jsonl"), ids=lambda case: case["id"])
def test_a_chunk_field_of_the_wrong_type_is_a_malformed_chunk_error(case: dict[str, Any]) -> None:
    # the plugin's reader, as its stream runs it: the reader's error is not re-mapped as the client's
    from modelplug_inference_client.provider import _READER

    chunks = [as_objects(chunk) for chunk in case["chunks"] if chunk != "[DONE]"]
    received: list[ChatMessageStreamDelta] = []
    with pytest.raises(errors.MalformedChunkError, match=case["expected_error"]["match"]):
        for delta in _READER.deltas(iter(chunks)):
            received.append(delta)
    assert [d.content for d in received] == ["Hel"]  # the good chunk before it was delivered
