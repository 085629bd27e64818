"""The async path's cost: ``Model.astream`` over a raw ``httpx.AsyncClient`` SSE loop on the same stream.

Run: ``python bench/bench_async.py [--chunks 2000] [--runs 5] [--concurrency 1,64,256] [--peers] [--no-pin]``.
Prints medians and ratios; asserts nothing. Needs httpx, starlette and uvicorn (``--peers``: litellm and
huggingface_hub too); touches nothing but 127.0.0.1.

The stream is ``text/N`` of :mod:`modelplug.testing.http.fast_server` (N content chunks of 4 characters,
a finish chunk, a usage chunk, ``[DONE]``), sent pre-rendered by a server in its own process, pinned to
CPU 0, while this process is pinned to CPU 1 (``--no-pin`` leaves scheduling alone).

Per-delta cost, one stream at a time on one event loop (wall and CPU time of this process per chunk):

- (a) raw httpx: ``AsyncClient.stream("POST")``, ``aiter_bytes()``, split on blank lines, ``json.loads``.
- (m) ``load_model("openai:...").astream(...)``: the ``openai`` provider's native async path when it
  declares ``async_streaming``, else its sync path in the core's worker thread (the table says which),
  plus the core (wire reader, ``AsyncChatStream``, aggregation into ``.message``). Goal: (m) ≤ 1.25× (a).
- (s) for reference, ``Model.stream`` (the sync path) on the same stream.
- ``--peers``: ``litellm.acompletion(stream=True)`` and ``AsyncInferenceClient.chat_completion(stream=True)``
  beside the ``litellm`` and ``inference-client`` providers' ``astream``.

Throughput: ``--concurrency`` streams at once on one loop (each of N/4 chunks), chunks per second of
(a) and (m), and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.pop("HF_HUB_OFFLINE", None)  # huggingface_hub refuses even loopback requests offline

import httpx  # noqa: E402

import modelplug  # noqa: E402
from modelplug.testing.http.processes import ReplayServer  # noqa: E402

KEY = "sk-bench-0000000000"
MESSAGES = [{"role": "user", "content": "Count."}]


def expected(n: int) -> str:
    return "".join(f" t{i % 100:02d}" for i in range(n))


# -- the loops: each returns the text it received ------------------------------------------------


async def raw_httpx(client: httpx.AsyncClient, url: str, selector: str) -> str:
    parts: list[str] = []
    body = {"model": selector, "messages": MESSAGES, "stream": True}
    async with client.stream("POST", f"{url}/chat/completions", json=body) as response:
        buffer = b""
        async for data in response.aiter_bytes():
            buffer += data
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                payload = event[6:]
                if payload == b"[DONE]":
                    continue
                choices = json.loads(payload)["choices"]
                if choices and choices[0]["delta"].get("content"):
                    parts.append(choices[0]["delta"]["content"])
    return "".join(parts)


async def model_astream(model: modelplug.Model) -> str:
    parts: list[str] = []
    async with model.astream(MESSAGES) as stream:
        async for delta in stream:
            if delta.content:
                parts.append(delta.content)
    text = "".join(parts)
    assert stream.message.content == text and stream.message.usage is not None, "aggregate differs"
    return text


def model_stream(model: modelplug.Model) -> str:
    parts: list[str] = []
    with model.stream(MESSAGES) as stream:
        for delta in stream:
            if delta.content:
                parts.append(delta.content)
    return "".join(parts)


async def litellm_raw(url: str, selector: str) -> str:
    import litellm

    parts: list[str] = []
    response = await litellm.acompletion(
        model=f"openai/{selector}", api_base=url, api_key=KEY, messages=MESSAGES, stream=True, max_retries=0
    )
    async for chunk in response:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    return "".join(parts)


async def hub_raw(client: Any, selector: str) -> str:
    parts: list[str] = []
    async for chunk in await client.chat_completion(MESSAGES, model=selector, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    return "".join(parts)


# -- measuring -----------------------------------------------------------------------------------


def _timed(run: Callable[[], Any]) -> tuple[float, float, Any]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def per_chunk(
    loops: dict[str, Callable[[], Any]], runs: int, chunks: int, text: str
) -> dict[str, tuple[float, float]]:
    """Median wall and CPU µs per chunk of each loop (rounds alternate the order; one warm-up each)."""
    for run in loops.values():
        assert run() == text, "warm-up got the wrong text"
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in loops}
    names = list(loops)
    for number in range(runs):
        for name in names if number % 2 == 0 else reversed(names):
            wall, cpu, got = _timed(loops[name])
            assert got == text, f"{name} got the wrong text"
            samples[name].append((wall, cpu))
    return {
        name: (
            statistics.median(w for w, _ in values) / chunks * 1e6,
            statistics.median(c for _, c in values) / chunks * 1e6,
        )
        for name, values in samples.items()
    }


def _print_table(title: str, results: dict[str, tuple[float, float]], base: str) -> None:
    print(f"\n{title}")
    print(f"  {'loop':<44} {'wall µs/chunk':>14} {'CPU µs/chunk':>13} {'wall ×':>7} {'CPU ×':>7}")
    base_wall, base_cpu = results[base]
    for name, (wall, cpu) in results.items():
        print(f"  {name:<44} {wall:>14.1f} {cpu:>13.1f} {wall / base_wall:>7.2f} {cpu / base_cpu:>7.2f}")


def throughput(loop: asyncio.AbstractEventLoop, make: Callable[[], Awaitable[str]], count: int, chunks: int) -> float:
    """Chunks per second with ``count`` streams at once on ``loop`` (median of 3)."""

    async def many() -> list[str]:
        return await asyncio.gather(*(make() for _ in range(count)))

    rates = []
    for _ in range(3):
        wall, _, texts = _timed(lambda: loop.run_until_complete(many()))
        assert len(texts) == count and len(set(texts)) == 1
        rates.append(count * chunks / wall)
    return statistics.median(rates)


def _pin(server: ReplayServer) -> bool:
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    os.sched_setaffinity(server.process.pid, {0})
    os.sched_setaffinity(0, {1})
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", default="1,64,256")
    parser.add_argument("--peers", action="store_true", help="also litellm.acompletion and AsyncInferenceClient")
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    chunks, text = args.chunks, expected(args.chunks)
    selector = f"text/{chunks}"
    server = ReplayServer.start(fast=True)
    try:
        pinned = not args.no_pin and _pin(server)
        url = server.url()
        loop = asyncio.new_event_loop()
        client = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=None))
        model = modelplug.load_model(f"openai:{selector}", base_url=url, api_key=KEY, max_retries=0)
        route = "native agenerate_stream" if model.capabilities.async_streaming else "generate_stream in a thread"
        loops: dict[str, Callable[[], Any]] = {
            "(a) raw httpx.AsyncClient SSE loop": lambda: loop.run_until_complete(raw_httpx(client, url, selector)),
            f"(m) openai astream ({route})": lambda: loop.run_until_complete(model_astream(model)),
            "(s) openai stream (sync, reference)": lambda: model_stream(model),
        }
        version = sys.version.split()[0]
        print(f"bench_async: {chunks} chunks per stream, {args.runs} runs, pinned={pinned}, python {version}")
        results = per_chunk(loops, args.runs, chunks, text)
        _print_table("per-delta cost, one stream at a time", results, "(a) raw httpx.AsyncClient SSE loop")
        ratio = results[f"(m) openai astream ({route})"][1] / results["(a) raw httpx.AsyncClient SSE loop"][1]
        print(f"  astream / raw httpx (CPU): {ratio:.2f}x (goal <= 1.25x)")

        if args.peers:
            from huggingface_hub import AsyncInferenceClient

            hub = AsyncInferenceClient(base_url=url, api_key=KEY)
            lite = modelplug.load_model(f"litellm:openai/{selector}", api_base=url, api_key=KEY)
            ic = modelplug.load_model(f"inference-client:{selector}", base_url=url, token=KEY)
            peers: dict[str, Callable[[], Any]] = {
                "(c) litellm.acompletion(stream=True)": lambda: loop.run_until_complete(litellm_raw(url, selector)),
                "(c+) litellm astream": lambda: loop.run_until_complete(model_astream(lite)),
                "(d) AsyncInferenceClient.chat_completion": lambda: loop.run_until_complete(hub_raw(hub, selector)),
                "(d+) inference-client astream": lambda: loop.run_until_complete(model_astream(ic)),
            }
            peer_results = per_chunk(peers, args.runs, chunks, text)
            _print_table("peers, one stream at a time", peer_results, "(c) litellm.acompletion(stream=True)")
            for raw, plugged in (("(c)", "(c+)"), ("(d)", "(d+)")):
                raw_cpu = next(v[1] for k, v in peer_results.items() if k.startswith(raw + " "))
                plug_cpu = next(v[1] for k, v in peer_results.items() if k.startswith(plugged + " "))
                print(f"  {plugged} / {raw} (CPU): {plug_cpu / raw_cpu:.2f}x")

        small = max(chunks // 4, 10)
        small_selector = f"text/{small}"
        small_model = modelplug.load_model(f"openai:{small_selector}", base_url=url, api_key=KEY, max_retries=0)
        print(f"\nthroughput, streams of {small} chunks at once on one event loop (chunks/s, median of 3)")
        print(f"  {'streams':>8} {'(a) raw httpx':>14} {'(m) astream':>12} {'(m)/(a)':>8}")
        for count in (int(c) for c in args.concurrency.split(",")):
            raw_rate = throughput(loop, lambda: raw_httpx(client, url, small_selector), count, small)
            model_rate = throughput(loop, lambda: model_astream(small_model), count, small)
            print(f"  {count:>8} {raw_rate:>14.0f} {model_rate:>12.0f} {model_rate / raw_rate:>8.2f}")
        loop.run_until_complete(client.aclose())
        loop.close()
        model.close()
        small_model.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
