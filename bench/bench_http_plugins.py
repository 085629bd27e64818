"""Per-chunk cost of the HTTP provider plugins on top of their client libraries.

Run: ``python bench/bench_http_plugins.py [--chunks 10000] [--runs 3] [--shapes content,tool] [--no-pin] [--uvicorn]
[--openai-only] [--async-only] [--no-async]``.
Prints medians and ratios; asserts nothing. Needs litellm, huggingface_hub, httpx, starlette and
uvicorn; touches nothing but 127.0.0.1.

The replay server's streams (one HTTP chunk per SSE event, as uvicorn and vLLM send them) come from
:mod:`modelplug.testing.http.fast_server`, which sends each whole response pre-rendered so that the client is
the bottleneck (``--uvicorn``: from :mod:`modelplug.testing.http.replay_server` itself, which spends about as
long sending an event as the cheapest loops spend reading it). Every loop gets the same stream:
``text/N`` (*content*: N chunks of 4 characters, a finish chunk, a usage chunk, ``[DONE]``) or
``tool/N`` (*tool*: one call whose arguments come in N fragments). The server runs in its own
process, pinned to CPU 0, and the loops in this one, pinned to CPU 1 (``--no-pin`` leaves scheduling
alone). Imports, client construction and one warm-up stream per loop are not timed; a run goes from
the request to the last chunk, GC on, and every run checks the text (or the tool arguments) it
received.

Loops, each collecting the text in a list joined at the end:

- (s) server pace: httpx ``iter_raw()`` only, no SSE parsing (how fast the server sends; when (a) is
  close to it, (a) waits on the server, and so may the cheaper loops).
- (a) raw httpx: ``Client.stream("POST")``, ``iter_bytes()``, split on blank lines, ``json.loads``.
- (c) LiteLLM: ``litellm.completion(model="openai/...", stream=True, stream_options=...)``.
- (c+) modelplug-litellm: ``load_model("litellm:openai/...").stream(...)``, i.e. (c) plus the plugin
  and the core (chunk mapping, ``ChatStream``, aggregation into ``.message``).
- (d) huggingface_hub: ``InferenceClient.chat_completion(stream=True)``.
- (d+) modelplug-inference-client: (d) plus the plugin and the core.
- (o) the official ``openai`` SDK's streaming loop; (h) raw httpx read through httpx-sse's
  ``EventSource.iter_sse`` and ``json.loads`` (the well-kept SSE parser the provider's own decoder is
  measured against); (o+) modelplug-openai (httpx, its own SSE decoder and the core's wire reader, no
  SDK), in their own table beside (a): the goal is (o+) ≤ 1.25× (a) in CPU.

The async table (issue 14) does the same on one event loop: (A) a raw ``httpx.AsyncClient`` SSE loop,
(Ao) the ``openai`` SDK's ``AsyncOpenAI``, (Ac) ``litellm.acompletion``, (Ad) ``AsyncInferenceClient``,
and each plugin's native async path (``agenerate_stream``, the hook the core's ``Model.astream`` calls;
(·+) rows), as ratios to (A) and to its own library. When the core has ``Model.astream``, the
(Ao++) row measures it over modelplug-openai (hook, pipeline and aggregation). With ``--openai-only``
the async table has the openai rows only. The openai tables add "paired ×": the median over rounds
of each round's CPU ratio to the raw loop (both run in the same round), steadier on a busy machine.

Each library loop is paired with its plugin loop in the same round (the order alternates). The table
shows each loop's median wall time and CPU time per chunk (CPU time of this process, all threads:
LiteLLM hands work to a thread pool; it is much less sensitive than wall time to a busy machine),
then the medians of the paired differences (plugin − library; the bar is ≤ 10 µs/chunk) and ratios.
The libraries cost 50 to 700 µs/chunk here and vary by several percent between runs, so the end-to-end
difference is noisy; the "isolated" column measures the plugin's own work exactly: the chunk objects
the library produced in one real run, fed again through the plugin's mapping, ``ChatStream`` and
aggregation in memory, minus a loop that only reads ``chunk.choices[0].delta`` from the same objects.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.pop("HF_HUB_OFFLINE", None)  # huggingface_hub refuses even loopback requests offline

import httpx  # noqa: E402

import modelplug  # noqa: E402
from modelplug._stream import ChatStream  # noqa: E402
from modelplug.testing.http.processes import ReplayServer  # noqa: E402

KEY = "sk-bench-0000000000"
MESSAGES = [{"role": "user", "content": "Count."}]


def expected(shape: str, n: int) -> str:
    """The text (content) or arguments (tool) a loop must receive."""
    if shape == "content":
        return "".join(f" t{i % 100:02d}" for i in range(n))
    return '{"q": "' + "".join(f"a{i % 100:02d} " for i in range(n)) + '"}'


def _piece(delta: Any, shape: str) -> str | None:
    """The text piece of a library's delta object (attribute access, as the libraries give it)."""
    if shape == "content":
        return delta.content
    calls = delta.tool_calls
    if not calls:
        return None
    call = calls[0] if isinstance(calls, list) else calls
    return call.function.arguments


# -- the loops ----------------------------------------------------------------------------------


@cache
def _client() -> httpx.Client:
    """One pooled client for the raw loops: building an ``httpx.Client`` takes ~17 ms here (its SSL
    context), which would add 8 µs/chunk to a 2,000-chunk floor."""
    return httpx.Client(timeout=60)


def loop_bytes(url: str, selector: str, shape: str) -> int:
    size = 0
    with (
        _client().stream(
            "POST", f"{url}/chat/completions", json={"model": selector, "messages": MESSAGES, "stream": True}
        ) as response,
    ):
        for data in response.iter_raw():
            size += len(data)
    return size


def loop_raw(url: str, selector: str, shape: str) -> str:
    parts: list[str] = []
    with (
        _client().stream(
            "POST", f"{url}/chat/completions", json={"model": selector, "messages": MESSAGES, "stream": True}
        ) as response,
    ):
        buffer = b""
        for data in response.iter_bytes():
            buffer += data
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                payload = event[6:]
                if payload == b"[DONE]":
                    continue
                choices = json.loads(payload)["choices"]
                if not choices:
                    continue
                delta = choices[0]["delta"]
                if shape == "content":
                    if delta.get("content"):
                        parts.append(delta["content"])
                elif delta.get("tool_calls"):
                    parts.append(delta["tool_calls"][0]["function"]["arguments"])
    return "".join(parts)


def _litellm_stream(url: str, selector: str) -> Any:
    import litellm

    return litellm.completion(
        model=f"openai/{selector}",
        api_base=url,
        api_key=KEY,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        max_retries=0,
    )


def _hub_stream(client: Any, selector: str) -> Any:
    return client.chat_completion(MESSAGES, model=selector, stream=True, stream_options={"include_usage": True})


def _pieces(chunks: Any, shape: str) -> str:
    parts: list[str] = []
    for chunk in chunks:
        if chunk.choices:
            piece = _piece(chunk.choices[0].delta, shape)
            if piece:
                parts.append(piece)
    return "".join(parts)


def loop_litellm(url: str, selector: str, shape: str) -> str:
    return _pieces(_litellm_stream(url, selector), shape)


def loop_hub(url: str, selector: str, shape: str) -> str:
    from huggingface_hub import InferenceClient

    with InferenceClient(base_url=url, api_key=KEY) as client:
        return _pieces(_hub_stream(client, selector), shape)


def _plugin_text(stream: ChatStream, shape: str) -> str:
    parts: list[str] = []
    for delta in stream:
        if shape == "content":
            if delta.content:
                parts.append(delta.content)
        elif delta.tool_calls and delta.tool_calls[0].arguments:
            parts.append(delta.tool_calls[0].arguments)
    message = stream.message
    text = "".join(parts)
    check = message.content if shape == "content" else json.dumps(message.tool_calls[0].arguments)
    assert check == (text if shape == "content" else json.dumps(json.loads(text))), "aggregate differs"
    assert message.usage is not None, "no usage"
    return text


def loop_plugin_litellm(url: str, selector: str, shape: str) -> str:
    model = modelplug.load_model(f"litellm:openai/{selector}", api_base=url, api_key=KEY)
    return _plugin_text(model.stream(MESSAGES), shape)


def loop_plugin_hub(url: str, selector: str, shape: str) -> str:
    model = modelplug.load_model(f"inference-client:{selector}", base_url=url, token=KEY)
    return _plugin_text(model.stream(MESSAGES), shape)


# -- isolated plugin work -----------------------------------------------------------------------


class _Recorded(list[Any]):
    """A library stream replayed from memory (``chunks`` as LiteLLM's wrapper keeps them)."""

    chunks: list[Any]

    def close(self) -> None:
        pass


def _read_only(objects: list[Any], shape: str) -> float:
    start = time.perf_counter()
    _pieces(objects, shape)
    return time.perf_counter() - start


def isolated(objects: list[Any], kept: list[Any], make: Callable[[_Recorded], Iterator[Any]], shape: str) -> float:
    """µs/chunk the plugin and the core add over reading the same library objects (median of 5)."""
    results = []
    for _ in range(5):
        recorded = _Recorded(objects)
        recorded.chunks = kept
        start = time.perf_counter()
        stream = ChatStream(make(recorded), provider="bench", model_id="bench")
        for _delta in stream:
            pass
        stream.message  # noqa: B018 (the aggregate is part of the work)
        plugin = time.perf_counter() - start
        results.append((plugin - _read_only(objects, shape)) / len(objects) * 1e6)
    return statistics.median(results)


def record_litellm(url: str, selector: str) -> tuple[list[Any], list[Any]]:
    response = _litellm_stream(url, selector)
    objects = list(response)
    return objects, list(response.chunks)


def record_hub(url: str, selector: str) -> list[Any]:
    from huggingface_hub import InferenceClient

    with InferenceClient(base_url=url, api_key=KEY) as client:
        return list(_hub_stream(client, selector))


# -- driver -------------------------------------------------------------------------------------


class Sample:
    """One timed run: wall and CPU time (this process, all its threads), µs per chunk."""

    __slots__ = ("cpu", "wall")

    def __init__(self, wall: float, cpu: float) -> None:
        self.wall = wall
        self.cpu = cpu


def timed(
    loop: Callable[[str, str, str], Any], url: str, selector: str, shape: str, want: str | None, n: int
) -> Sample:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    got = loop(url, selector, shape)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if want is not None and shape == "content":
        assert got == want, f"{loop.__name__} received other text"
    elif want is not None:
        assert json.loads(got) == json.loads(want), f"{loop.__name__} received other arguments"
    return Sample(wall / n * 1e6, cpu / n * 1e6)


def _median(samples: list[Sample], field: str) -> float:
    return statistics.median(getattr(s, field) for s in samples)


def _paired(samples: list[Sample], raw: list[Sample]) -> float:
    """The median of the per-round CPU ratios of a loop to the raw loop (each round runs both)."""
    return statistics.median(s.cpu / r.cpu for s, r in zip(samples, raw, strict=True))


def bench_shape(server: ReplayServer, shape: str, n: int, runs: int) -> None:
    url = server.url()
    selector = f"{'text' if shape == 'content' else 'tool'}/{n}"
    want = expected(shape, n)
    loops: dict[str, Callable[[str, str, str], Any]] = {
        "bytes": loop_bytes,
        "raw": loop_raw,
        "litellm": loop_litellm,
        "plugin-litellm": loop_plugin_litellm,
        "hub": loop_hub,
        "plugin-hub": loop_plugin_hub,
    }
    small = selector.replace(str(n), "200")
    for name, loop in loops.items():  # warm-up: imports, connection pools, LiteLLM's first-call setup
        timed(loop, url, small, shape, None if name == "bytes" else expected(shape, 200), 200)
    samples: dict[str, list[Sample]] = {name: [] for name in loops}
    pairs: dict[str, list[tuple[Sample, Sample]]] = {"litellm": [], "hub": []}
    for round_ in range(runs):
        samples["bytes"].append(timed(loop_bytes, url, selector, shape, None, n))
        samples["raw"].append(timed(loop_raw, url, selector, shape, want, n))
        for library in ("litellm", "hub"):
            order = [library, f"plugin-{library}"]
            if round_ % 2:
                order.reverse()
            for name in order:
                samples[name].append(timed(loops[name], url, selector, shape, want, n))
            pairs[library].append((samples[library][-1], samples[f"plugin-{library}"][-1]))
        print(f"  round {round_ + 1}/{runs} done", file=sys.stderr, flush=True)

    from modelplug.retry import RetryPolicy
    from modelplug_inference_client.provider import _READER as hub_reader
    from modelplug_litellm.provider import LiteLLMState
    from modelplug_litellm.provider import _reader as litellm_reader

    lit_reader = litellm_reader(LiteLLMState(model="m", capabilities=modelplug.Capabilities(), retry=RetryPolicy()))

    lit_objects, lit_kept = record_litellm(url, selector)
    hub_objects = record_hub(url, selector)
    isolated_cost = {
        "litellm": isolated(lit_objects, lit_kept, lit_reader.deltas, shape),
        "hub": isolated(hub_objects, [], hub_reader.deltas, shape),
    }

    raw = _median(samples["raw"], "cpu")
    print(f"\n{shape}: {n:,} chunks, {runs} paired runs; medians; CPU = this process's CPU time, all threads")
    print(f"{'loop':<46}{'wall µs/chunk':>14}{'CPU µs/chunk':>14}{'CPU × raw':>11}")
    rows = [
        ("(s) server pace (bytes only)", "bytes"),
        ("(a) raw httpx SSE loop", "raw"),
        ("(c) litellm.completion(stream=True)", "litellm"),
        ("(c+) modelplug-litellm", "plugin-litellm"),
        ("(d) InferenceClient.chat_completion(stream)", "hub"),
        ("(d+) modelplug-inference-client", "plugin-hub"),
    ]
    for label, name in rows:
        cpu = _median(samples[name], "cpu")
        print(f"{label:<46}{_median(samples[name], 'wall'):>14.1f}{cpu:>14.1f}{cpu / raw:>11.2f}")
    print(f"{'plugin − its library (paired medians)':<46}{'Δ wall':>14}{'Δ CPU':>14}{'CPU ratio':>11}{'isolated':>10}")
    for label, library in (("modelplug-litellm − litellm", "litellm"), ("modelplug-inference-client − hub", "hub")):
        wall = statistics.median(plugin.wall - lib.wall for lib, plugin in pairs[library])
        cpu = statistics.median(plugin.cpu - lib.cpu for lib, plugin in pairs[library])
        ratio = statistics.median(plugin.cpu / lib.cpu for lib, plugin in pairs[library])
        print(f"{label:<46}{wall:>14.1f}{cpu:>14.1f}{ratio:>11.3f}{isolated_cost[library]:>10.1f}")
    litellm_over_hub = _median(samples["litellm"], "cpu") / _median(samples["hub"], "cpu")
    print(f"litellm / InferenceClient (CPU): {litellm_over_hub:.2f}×   bar for a plugin: Δ ≤ 10 µs/chunk")


# -- the openai provider (issue 18): its own table, beside the raw loop and the official SDK -----------


def loop_openai_sdk(url: str, selector: str, shape: str) -> str:
    """(o) the official ``openai`` SDK's own streaming loop (one client, as an application keeps it)."""
    parts: list[str] = []
    stream = _openai_sdk(url).chat.completions.create(
        model=selector, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if shape == "content":
            if delta.content:
                parts.append(delta.content)
        elif delta.tool_calls:
            parts.append(delta.tool_calls[0].function.arguments)
    return "".join(parts)


def loop_httpx_sse(url: str, selector: str, shape: str) -> str:
    """(h) the raw loop with httpx-sse's parser in place of the split on blank lines."""
    from httpx_sse import EventSource

    parts: list[str] = []
    with (
        _client().stream(
            "POST", f"{url}/chat/completions", json={"model": selector, "messages": MESSAGES, "stream": True}
        ) as response,
    ):
        for event in EventSource(response).iter_sse():
            if event.data == "[DONE]":
                continue
            choices = json.loads(event.data)["choices"]
            if not choices:
                continue
            delta = choices[0]["delta"]
            if shape == "content":
                if delta.get("content"):
                    parts.append(delta["content"])
            elif delta.get("tool_calls"):
                parts.append(delta["tool_calls"][0]["function"]["arguments"])
    return "".join(parts)


@cache
def _openai_sdk(url: str) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=url, api_key=KEY, max_retries=0)


@cache
def _openai_model(url: str, selector: str) -> modelplug.Model:
    return modelplug.load_model(f"openai:{selector}", base_url=url, api_key=KEY)


def loop_plugin_openai(url: str, selector: str, shape: str) -> str:
    """(o+) modelplug-openai: ``load_model("openai:...")`` once (its pooled client), then ``.stream``."""
    return _plugin_text(_openai_model(url, selector).stream(MESSAGES), shape)


def bench_openai(server: ReplayServer, shape: str, n: int, runs: int) -> None:
    """The ``openai:`` row: CPU per chunk against the raw httpx loop (goal ≤ 1.25×) and the SDK."""
    url = server.url()
    selector = f"{'text' if shape == 'content' else 'tool'}/{n}"
    loops: dict[str, Callable[[str, str, str], Any]] = {
        "raw": loop_raw,
        "openai-sdk": loop_openai_sdk,
        "httpx-sse": loop_httpx_sse,
        "plugin-openai": loop_plugin_openai,
    }
    for loop in loops.values():  # warm-up: imports, connection pools
        timed(loop, url, selector, shape, expected(shape, n), n)
    samples: dict[str, list[Sample]] = {name: [] for name in loops}
    for round_ in range(runs):
        order = list(loops) if round_ % 2 == 0 else list(reversed(loops))
        for name in order:
            samples[name].append(timed(loops[name], url, selector, shape, expected(shape, n), n))
    raw = _median(samples["raw"], "cpu")
    print(f"\nopenai, {shape}: {n:,} chunks, {runs} runs; medians")
    print(f"{'loop':<46}{'wall µs/chunk':>14}{'CPU µs/chunk':>14}{'CPU × raw':>11}{'paired ×':>10}")
    for label, name in (
        ("(a) raw httpx SSE loop", "raw"),
        ("(o) openai SDK chat.completions.create(stream)", "openai-sdk"),
        ("(h) raw httpx + httpx-sse iter_sse", "httpx-sse"),
        ("(o+) modelplug-openai (goal ≤ 1.25× raw)", "plugin-openai"),
    ):
        cpu = _median(samples[name], "cpu")
        paired = _paired(samples[name], samples["raw"])
        print(f"{label:<46}{_median(samples[name], 'wall'):>14.1f}{cpu:>14.1f}{cpu / raw:>11.2f}{paired:>10.2f}")


# -- the async paths (issue 14): one event loop, the libraries' async clients and the plugins' hooks ---


@cache
def _event_loop() -> Any:
    import asyncio

    return asyncio.new_event_loop()


@cache
def _aclient() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=60)


async def _araw(url: str, selector: str, shape: str) -> str:
    parts: list[str] = []
    body = {"model": selector, "messages": MESSAGES, "stream": True}
    async with _aclient().stream("POST", f"{url}/chat/completions", json=body) as response:
        buffer = b""
        async for data in response.aiter_bytes():
            buffer += data
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                payload = event[6:]
                if payload == b"[DONE]":
                    continue
                choices = json.loads(payload)["choices"]
                if not choices:
                    continue
                delta = choices[0]["delta"]
                if shape == "content":
                    if delta.get("content"):
                        parts.append(delta["content"])
                elif delta.get("tool_calls"):
                    parts.append(delta["tool_calls"][0]["function"]["arguments"])
    return "".join(parts)


async def _apieces(chunks: Any, shape: str) -> str:
    parts: list[str] = []
    async for chunk in chunks:
        if chunk.choices:
            piece = _piece(chunk.choices[0].delta, shape)
            if piece:
                parts.append(piece)
    return "".join(parts)


@cache
def _async_openai_sdk(url: str) -> Any:
    from openai import AsyncOpenAI

    return AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)


async def _aopenai_sdk(url: str, selector: str, shape: str) -> str:
    stream = await _async_openai_sdk(url).chat.completions.create(
        model=selector, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    return await _apieces(stream, shape)


async def _alitellm(url: str, selector: str, shape: str) -> str:
    import litellm

    response = await litellm.acompletion(
        model=f"openai/{selector}",
        api_base=url,
        api_key=KEY,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        max_retries=0,
    )
    return await _apieces(response, shape)


async def _ahub(url: str, selector: str, shape: str) -> str:
    from huggingface_hub import AsyncInferenceClient

    async with AsyncInferenceClient(base_url=url, api_key=KEY) as client:
        chunks = await client.chat_completion(
            MESSAGES, model=selector, stream=True, stream_options={"include_usage": True}
        )
        return await _apieces(chunks, shape)


@cache
def _async_model(spec: str, url: str) -> modelplug.Model:
    """A model loaded once per spec (its pooled clients kept, as an application keeps it)."""
    name = "base_url" if not spec.startswith("litellm:") else "api_base"
    options: dict[str, Any] = {name: url, ("token" if spec.startswith("inference-client:") else "api_key"): KEY}
    return modelplug.load_model(spec, **options)


async def _ahook(spec: str, url: str, shape: str) -> str:
    """A plugin's ``agenerate_stream`` hook, its deltas' text joined."""
    from modelplug.testing.http.async_suite import async_stream

    parts: list[str] = []
    saw_usage = False
    async for delta in async_stream(_async_model(spec, url), MESSAGES):
        saw_usage = saw_usage or delta.usage is not None
        if shape == "content":
            if delta.content:
                parts.append(delta.content)
        elif delta.tool_calls and delta.tool_calls[0].arguments:
            parts.append(delta.tool_calls[0].arguments)
    assert saw_usage, "no usage"
    return "".join(parts)


async def _aastream(url: str, selector: str, shape: str) -> str:
    """(Ao++) the core's ``Model.astream`` over modelplug-openai (pipeline and aggregation included)."""
    parts: list[str] = []
    async with _async_model(f"openai:{selector}", url).astream(MESSAGES) as stream:  # type: ignore[attr-defined]
        async for delta in stream:
            if shape == "content":
                if delta.content:
                    parts.append(delta.content)
            elif delta.tool_calls and delta.tool_calls[0].arguments:
                parts.append(delta.tool_calls[0].arguments)
    assert stream.message.usage is not None, "no usage"
    return "".join(parts)


def _sync(coroutine_function: Callable[[str, str, str], Any]) -> Callable[[str, str, str], Any]:
    def run(url: str, selector: str, shape: str) -> Any:
        return _event_loop().run_until_complete(coroutine_function(url, selector, shape))

    run.__name__ = coroutine_function.__name__
    return run


def bench_async(server: ReplayServer, shape: str, n: int, runs: int, openai_only: bool = False) -> None:
    """The async table: each library's async loop and each plugin's ``agenerate_stream`` on one loop
    (``openai_only``: the raw loop, the openai SDK and modelplug-openai only)."""
    url = server.url()
    selector = f"{'text' if shape == 'content' else 'tool'}/{n}"
    loops: dict[str, Callable[[str, str, str], Any]] = {
        "raw": _sync(_araw),
        "openai-sdk": _sync(_aopenai_sdk),
        "plugin-openai": _sync(lambda u, s, sh: _ahook(f"openai:{s}", u, sh)),
        "litellm": _sync(_alitellm),
        "plugin-litellm": _sync(lambda u, s, sh: _ahook(f"litellm:openai/{s}", u, sh)),
        "hub": _sync(_ahub),
        "plugin-hub": _sync(lambda u, s, sh: _ahook(f"inference-client:{s}", u, sh)),
    }
    if hasattr(modelplug.Model, "astream"):
        loops["astream-openai"] = _sync(_aastream)
    if openai_only:
        loops = {name: loop for name, loop in loops.items() if name in ("raw", "openai-sdk") or "openai" in name}
    for loop in loops.values():  # warm-up: imports, connection pools, LiteLLM's first-call setup
        timed(loop, url, selector.replace(str(n), "200"), shape, expected(shape, 200), 200)
    samples: dict[str, list[Sample]] = {name: [] for name in loops}
    for round_ in range(runs):
        order = list(loops) if round_ % 2 == 0 else list(reversed(loops))
        for name in order:
            samples[name].append(timed(loops[name], url, selector, shape, expected(shape, n), n))
        print(f"  async round {round_ + 1}/{runs} done", file=sys.stderr, flush=True)
    raw = _median(samples["raw"], "cpu")
    print(f"\nasync, {shape}: {n:,} chunks, {runs} runs; medians; one event loop")
    print(f"{'loop':<50}{'wall µs/chunk':>14}{'CPU µs/chunk':>14}{'CPU × raw':>11}{'paired ×':>10}{'× library':>11}")
    rows = [
        ("(A) raw httpx.AsyncClient SSE loop", "raw", None),
        ("(Ao) openai SDK AsyncOpenAI (stream)", "openai-sdk", None),
        ("(Ao+) modelplug-openai agenerate_stream (≤1.25×)", "plugin-openai", "openai-sdk"),
        ("(Ao++) modelplug-openai Model.astream", "astream-openai", "plugin-openai"),
        ("(Ac) litellm.acompletion(stream=True)", "litellm", None),
        ("(Ac+) modelplug-litellm agenerate_stream", "plugin-litellm", "litellm"),
        ("(Ad) AsyncInferenceClient.chat_completion", "hub", None),
        ("(Ad+) modelplug-inference-client agenerate_stream", "plugin-hub", "hub"),
    ]
    for label, name, library in rows:
        if name not in samples:
            continue
        cpu = _median(samples[name], "cpu")
        versus = f"{cpu / _median(samples[library], 'cpu'):>11.2f}" if library else f"{'':>11}"
        paired = f"{_paired(samples[name], samples['raw']):>10.2f}"
        print(f"{label:<50}{_median(samples[name], 'wall'):>14.1f}{cpu:>14.1f}{cpu / raw:>11.2f}{paired}{versus}")


def _pin(server: ReplayServer) -> bool:
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    os.sched_setaffinity(server.process.pid, {0})
    os.sched_setaffinity(0, {1})
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shapes", default="content,tool")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--uvicorn", action="store_true", help="use the uvicorn replay server")
    parser.add_argument(
        "--openai-only", action="store_true", help="only the openai: rows (raw, SDK, plugin), sync and async"
    )
    parser.add_argument("--async-only", action="store_true", help="only the async table")
    parser.add_argument("--no-async", action="store_true", help="leave out the async table")
    args = parser.parse_args()
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = False
    server = ReplayServer.start(fast=not args.uvicorn)
    try:
        pinned = not args.no_pin and _pin(server)
        print(
            f"replay server pid {server.process.pid}; {'server on CPU 0, loops on CPU 1' if pinned else 'not pinned'}"
        )
        for shape in args.shapes.split(","):
            if not args.async_only:
                if not args.openai_only:
                    bench_shape(server, shape.strip(), args.chunks, args.runs)
                bench_openai(server, shape.strip(), args.chunks, args.runs)
            if not args.no_async:
                bench_async(server, shape.strip(), args.chunks, args.runs, openai_only=args.openai_only)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
