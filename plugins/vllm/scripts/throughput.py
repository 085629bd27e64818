"""Throughput of modelplug-vllm streaming (sync and async) against vLLM's own offline ``LLM.chat`` and async engine.

Usage::

    python plugins/vllm/scripts/throughput.py MODEL [--streams N] [--max-tokens T] [--repeats R]
                                                    [--engine-options JSON]

Three sides get the same model, engine options, chat prompt and sampling (greedy, ``ignore_eos`` so
every request makes exactly T tokens), one engine at a time (each is shut down before the next
starts):

- ``LLM.chat``: vLLM's offline API (``vllm.LLM``), which batches the requests it is given;
- ``AsyncLLM``: vLLM's async engine driven by plain asyncio (``RequestOutputKind.DELTA``), what the
  plugin runs on; the difference to it is the plugin's own overhead;
- ``modelplug``: ``model.stream(...)`` iterated to the end, one thread per request;
- ``astream``: ``model.astream(...)`` (the native async path, ``agenerate_stream``) on the same loaded
  model, every request a task on one event loop (no threads), with the worst lag of that loop (how
  late a 5 ms sleeper woke up) while they ran.

Runs, after one warm-up request each: ``single`` (one request) and ``batch`` (N concurrent
requests). Each is repeated R times (default 3) and the median is kept. Prints generated tokens per
second of wall time, and the ratios modelplug / LLM.chat, modelplug / AsyncLLM and astream /
AsyncLLM, as a table and as one JSON line. Token counts are vLLM's ``len(token_ids)``, and the
streams' reported usage for modelplug.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import modelplug
from modelplug_vllm.engine import release_accelerator_memory

CONVERSATION = [{"role": "user", "content": "Tell me a long story about a lighthouse keeper."}]


def measure(run: Callable[[int], int], streams: int, repeats: int) -> dict[str, float]:
    """Median tok/s of ``run(count)`` (which returns the tokens generated) for 1 and ``streams`` requests."""
    results = {}
    for name, count in (("single", 1), ("batch", streams)):
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            tokens = run(count)
            rates.append(tokens / (time.perf_counter() - start))
        results[name] = statistics.median(rates)
    return results


def bench_llm(model: str, options: dict[str, Any], streams: int, max_tokens: int, repeats: int) -> dict[str, float]:
    """vLLM's offline ``LLM.chat``: all requests in one call."""
    from vllm import LLM, SamplingParams

    llm = LLM(model=model, **options)
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, ignore_eos=True)

    def run(count: int) -> int:
        outputs = llm.chat([CONVERSATION] * count, params, use_tqdm=False)
        return sum(len(o.outputs[0].token_ids) for o in outputs)

    try:
        llm.chat([CONVERSATION], SamplingParams(temperature=0.0, max_tokens=8), use_tqdm=False)
        return measure(run, streams, repeats)
    finally:
        engine_core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if engine_core is not None and hasattr(engine_core, "shutdown"):
            engine_core.shutdown()
        llm = None
        gc.collect()
        release_accelerator_memory()


def bench_async(model: str, options: dict[str, Any], streams: int, max_tokens: int, repeats: int) -> dict[str, float]:
    """vLLM's async engine with DELTA outputs, driven by asyncio (no modelplug), one task per request."""
    from vllm import AsyncEngineArgs, SamplingParams
    from vllm.sampling_params import RequestOutputKind

    from modelplug_vllm import compat

    async def main() -> dict[str, float]:
        engine = compat.async_engine_class().from_engine_args(AsyncEngineArgs(model=model, **options))
        tokenizer = engine.get_tokenizer()
        if asyncio.iscoroutine(tokenizer):
            tokenizer = await tokenizer
        text = tokenizer.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True)
        prompt = {"prompt_token_ids": tokenizer.encode(text, add_special_tokens=False)}
        params = SamplingParams(
            temperature=0.0, max_tokens=max_tokens, ignore_eos=True, output_kind=RequestOutputKind.DELTA
        )
        numbers = iter(range(10**9))

        async def one(limit: SamplingParams) -> int:
            tokens = 0
            async for output in engine.generate(prompt, limit, request_id=f"bench-{next(numbers)}"):
                tokens += len(output.outputs[0].token_ids)
            return tokens

        try:
            await one(SamplingParams(temperature=0.0, max_tokens=8, output_kind=RequestOutputKind.DELTA))
            results = {}
            for name, count in (("single", 1), ("batch", streams)):
                rates = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    tokens = sum(await asyncio.gather(*(one(params) for _ in range(count))))
                    rates.append(tokens / (time.perf_counter() - start))
                results[name] = statistics.median(rates)
            return results
        finally:
            engine.shutdown()

    try:
        return asyncio.run(main())
    finally:
        gc.collect()
        release_accelerator_memory()


def _consume(model: modelplug.Model, max_tokens: int, out: list[int]) -> None:
    with model.stream(CONVERSATION, temperature=0.0, max_tokens=max_tokens, ignore_eos=True) as stream:
        for _ in stream:
            pass
    out.append(stream.usage.completion_tokens if stream.usage else 0)


async def _aconsume(model: modelplug.Model, max_tokens: int) -> int:
    stream = model.astream(CONVERSATION, temperature=0.0, max_tokens=max_tokens, ignore_eos=True)
    async with stream:
        async for _ in stream:
            pass
    return stream.usage.completion_tokens if stream.usage else 0


def _arun(model: modelplug.Model, count: int, max_tokens: int, lags: list[float]) -> int:
    """``count`` astreams as tasks on one new event loop; appends that loop's worst lag (seconds) to ``lags``."""

    async def main() -> int:
        loop = asyncio.get_running_loop()
        worst = 0.0

        async def tick() -> None:
            nonlocal worst
            while True:
                start = loop.time()
                await asyncio.sleep(0.005)
                worst = max(worst, loop.time() - start - 0.005)

        ticker = asyncio.create_task(tick())
        try:
            return sum(await asyncio.gather(*(_aconsume(model, max_tokens) for _ in range(count))))
        finally:
            ticker.cancel()
            lags.append(worst)

    return asyncio.run(main())


def bench_modelplug(
    model: str, options: dict[str, Any], streams: int, max_tokens: int, repeats: int
) -> tuple[dict[str, float], dict[str, float], float]:
    """modelplug-vllm on one loaded model: streams with one thread per request, then astreams on one
    event loop. Returns (sync tok/s, async tok/s, the async loop's worst lag in seconds)."""
    loaded = modelplug.load_model(f"vllm:{model}", **options)

    def run(count: int) -> int:
        counts: list[int] = []
        threads = [threading.Thread(target=_consume, args=(loaded, max_tokens, counts)) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(counts)

    lags: list[float] = []
    try:
        _consume(loaded, 8, [])
        sync = measure(run, streams, repeats)
        _arun(loaded, 1, 8, [])
        asynchronous = measure(lambda count: _arun(loaded, count, max_tokens, lags), streams, repeats)
        return sync, asynchronous, max(lags)
    finally:
        loaded.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="model folder or hub id")
    parser.add_argument("--streams", type=int, default=16, help="concurrent requests of the batch run (default 16)")
    parser.add_argument("--max-tokens", type=int, default=256, help="tokens per request (default 256)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement; the median is kept")
    parser.add_argument("--engine-options", default="{}", help="JSON object of engine options for every side")
    args = parser.parse_args()
    options = json.loads(args.engine_options)
    sizes = (args.streams, args.max_tokens, args.repeats)
    llm = bench_llm(args.model, options, *sizes)
    raw = bench_async(args.model, options, *sizes)
    plug, aplug, worst_lag = bench_modelplug(args.model, options, *sizes)
    report: dict[str, Any] = {
        "model": args.model,
        "engine_options": options,
        "max_tokens": args.max_tokens,
        "astream_worst_loop_lag_ms": worst_lag * 1000,
    }
    header = f"{'run':<7} {'requests':>8} {'LLM.chat tok/s':>15} {'AsyncLLM tok/s':>15} {'modelplug tok/s':>16}"
    print(f"\n{header} {'astream tok/s':>14} {'vs LLM.chat':>12} {'vs AsyncLLM':>12} {'astream vs AsyncLLM':>20}")
    for name, count in (("single", 1), ("batch", args.streams)):
        vs_llm, vs_raw, async_vs_raw = plug[name] / llm[name], plug[name] / raw[name], aplug[name] / raw[name]
        report[name] = {
            "requests": count,
            "llm_chat_tok_s": llm[name],
            "async_llm_tok_s": raw[name],
            "modelplug_tok_s": plug[name],
            "astream_tok_s": aplug[name],
            "ratio_vs_llm_chat": vs_llm,
            "ratio_vs_async_llm": vs_raw,
            "astream_ratio_vs_async_llm": async_vs_raw,
        }
        rates = f"{llm[name]:>15.1f} {raw[name]:>15.1f} {plug[name]:>16.1f} {aplug[name]:>14.1f}"
        print(f"{name:<7} {count:>8} {rates} {vs_llm:>12.2f} {vs_raw:>12.2f} {async_vs_raw:>20.2f}")
    print(f"astream: worst event-loop lag {worst_lag * 1000:.1f} ms over every run")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
