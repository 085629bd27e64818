"""Real clients against ``modelplug serve`` serving the replay provider: the ``openai`` library and
modelplug's own openai, litellm and inference-client plugins."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import attrs
import openai
import pytest

import modelplug
from tests.conftest import DATA, load_jsonl
from tests.serve.conftest import Serve, replay

HELLO = [{"role": "user", "content": "hi"}]
ANSWER = {
    "reasoning_content": "They greet me.",
    "content": "Hello there, world.",
    "usage": {"prompt_tokens": 5, "completion_tokens": 4},
}
CALL = {
    "content": None,
    "tool_calls": [{"id": "call_7", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
    "usage": {"prompt_tokens": 30, "completion_tokens": 12},
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
STREAM_CASES = {case["id"]: case for case in load_jsonl("stream_cases.jsonl") if not case.get("expect_error")}


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)


def test_openai_client_streams_text_reasoning_and_the_providers_usage(served_replay: str) -> None:
    url = served_replay
    chunks = list(
        _client(url).chat.completions.create(
            model="replay", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1 and all(c.model == "replay" and c.created > 0 for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there, world." and len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens, chunks[-1].usage.total_tokens) == (
        5,
        4,
        9,
    )
    # without include_usage no chunk carries usage
    plain = list(_client(url).chat.completions.create(model="replay", messages=HELLO, stream=True))
    assert all(c.usage is None for c in plain)


def test_openai_client_gets_a_whole_completion(serve: Serve) -> None:
    url = serve({"replay": replay([ANSWER])})
    completion = _client(url).chat.completions.create(model="replay", messages=HELLO, max_tokens=20)
    assert completion.object == "chat.completion" and completion.model == "replay"
    message = completion.choices[0].message
    assert message.content == "Hello there, world." and completion.choices[0].finish_reason == "stop"
    assert message.model_extra["reasoning_content"] == "They greet me."
    assert completion.usage is not None and completion.usage.total_tokens == 9


def test_native_tool_calls_stream_as_tool_calls_deltas(serve: Serve) -> None:
    url = serve({"replay": replay([CALL])})
    stream = _client(url).chat.completions.create(
        model="replay", messages=HELLO, tools=[WEATHER], tool_choice="auto", stream=True
    )
    fragments = [call for chunk in stream if chunk.choices for call in chunk.choices[0].delta.tool_calls or ()]
    assert fragments[0].id == "call_7" and fragments[0].function.name == "get_weather"
    assert json.loads("".join(f.function.arguments or "" for f in fragments)) == {"city": "Paris"}


def test_text_tool_calls_are_parsed_and_stream_as_tool_calls_deltas(serve: Serve) -> None:
    # a model that writes hermes calls as text, read by the core while it streams
    text = 'Let me look.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    writer = replay([text], capabilities={"tool_calling": "text", "tool_call_format": "hermes"})
    url = serve({"writer": writer})
    chunks = list(_client(url).chat.completions.create(model="writer", messages=HELLO, tools=[WEATHER], stream=True))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    fragments = [call for delta in deltas for call in delta.tool_calls or ()]
    assert fragments and fragments[0].function.name == "get_weather" and fragments[0].id
    assert json.loads("".join(f.function.arguments or "" for f in fragments)) == {"city": "Paris"}
    content = "".join(d.content or "" for d in deltas)
    assert "<tool_call>" not in content and content.strip() == "Let me look."
    whole = _client(url).chat.completions.create(model="writer", messages=HELLO, tools=[WEATHER])
    assert whole.choices[0].message.tool_calls[0].function.name == "get_weather"


def test_stop_and_max_tokens_reach_the_model(serve: Serve) -> None:
    url = serve({"replay": replay(["one two three four"])})
    client = _client(url)
    cut = client.chat.completions.create(model="replay", messages=HELLO, stop=[" three"], max_completion_tokens=50)
    assert cut.choices[0].message.content == "one two" and cut.choices[0].finish_reason == "stop"


def test_several_models_are_served_under_their_names(serve: Serve) -> None:
    url = serve({"first": replay(["from first"]), "second": replay(["from second"])})
    client = _client(url)
    assert sorted(m.id for m in client.models.list()) == ["first", "second"]
    for name in ("first", "second"):
        reply = client.chat.completions.create(model=name, messages=HELLO)
        assert reply.choices[0].message.content == f"from {name}" and reply.model == name


def _load_plugin(plugin: str, url: str, name: str) -> modelplug.Model:
    if plugin == "openai":
        return modelplug.load_model(f"openai:{name}", base_url=url + "/v1", api_key="sk-unused-0000")
    if plugin == "litellm":
        return modelplug.load_model(f"litellm:openai/{name}", api_base=url + "/v1", api_key="sk-unused-0000")
    return modelplug.load_model(f"inference-client:{name}", base_url=url + "/v1", token="hf_unused0000")


@pytest.mark.usefixtures("hf_online")
@pytest.mark.parametrize("plugin", ["openai", "litellm", "inference-client"])
def test_modelplug_plugins_stream_text_usage_and_tool_calls(serve: Serve, plugin: str) -> None:
    url = serve({"replay": replay([ANSWER, CALL])})
    with _load_plugin(plugin, url, "replay") as client:
        with client.stream(HELLO) as stream:
            deltas = list(stream)
        assert sum(1 for d in deltas if d.content) > 1  # streamed, not one piece
        assert stream.message.content == "Hello there, world."
        assert stream.message.usage == modelplug.Usage(5, 4, 9)
        called = client.generate(HELLO, tools=[WEATHER])
        assert [(c.name, c.arguments) for c in called.tool_calls] == [("get_weather", {"city": "Paris"})]
        assert called.usage == modelplug.Usage(30, 12, 42)


@pytest.mark.parametrize("case_id", sorted(STREAM_CASES))
def test_a_recorded_stream_relayed_through_the_server_aggregates_identically(serve: Serve, case_id: str) -> None:
    spec = f"replay:{DATA / 'stream_cases.jsonl'}"
    with modelplug.load_model(spec, case=case_id) as direct:
        original = direct.stream(HELLO).until_done()
    url = serve({"recorded": modelplug.load_model(spec, case=case_id)})
    with _load_plugin("openai", url, "recorded") as client:
        relayed = client.stream(HELLO).until_done()
    # a call the recording gave no id gets one from the server (clients answer calls by id); the
    # aggregate mints its own for the direct stream: those two ids are random, everything else is equal
    recorded_ids = {call.get("id") for call in _recorded_calls(STREAM_CASES[case_id]["chunks"])}
    assert [c.id for c in relayed.tool_calls if c.id in recorded_ids] == [
        c.id for c in original.tool_calls if c.id in recorded_ids
    ]
    assert all(c.id.startswith("call_") for c in relayed.tool_calls if c.id not in recorded_ids)
    assert _without_ids(relayed) == _without_ids(original)


def _recorded_calls(chunks: list[Any]) -> list[dict[str, Any]]:
    found = []
    for chunk in chunks:
        for choice in chunk.get("choices") or () if isinstance(chunk, dict) else ():
            calls = (choice.get("delta") or {}).get("tool_calls") or []
            found += [calls] if isinstance(calls, dict) else calls
    return found


def _without_ids(message: modelplug.ChatMessage) -> modelplug.ChatMessage:
    return attrs.evolve(message, tool_calls=[attrs.evolve(call, id="") for call in message.tool_calls])


def test_32_concurrent_clients_are_all_answered_correctly(serve: Serve) -> None:
    words = [f" w{i:02d}" for i in range(40)]
    answer = {"content": "".join(words), "usage": {"prompt_tokens": 3, "completion_tokens": 40}}
    url = serve({"replay": replay([answer], delay=0.005)})
    client = _client(url)
    results: list[Any] = [None] * 32
    barrier = threading.Barrier(32)

    def ask(number: int) -> None:
        barrier.wait(10)
        chunks = list(
            client.chat.completions.create(
                model="replay", messages=HELLO, stream=True, stream_options={"include_usage": True}
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        results[number] = (text, chunks[-1].usage.completion_tokens if chunks[-1].usage else None)

    start = time.perf_counter()
    threads = [threading.Thread(target=ask, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    elapsed = time.perf_counter() - start
    assert results == [("".join(words), 40)] * 32
    # served side by side: one answer takes >= 0.2 s (40 chunks, 5 ms apart), 32 one after another >= 6.4 s
    assert elapsed < 32 * 0.2 / 2
