"""Throughput of modelplug-vllm streaming against vLLM's own offline ``LLM.chat`` / ``LLM.generate``.

Usage::

    python plugins/vllm/scripts/throughput.py MODEL [--streams N] [--max-tokens T] [--engine-options JSON]

Both sides get the same model, engine options, chat prompt and sampling (greedy, ``ignore_eos`` so
every request makes exactly T tokens), one engine at a time (the first is shut down before the
second starts). Measured, after one warm-up request each:

- ``single``: one request; vLLM ``LLM.chat([conversation])`` against iterating one
  ``model.stream(...)`` (time to the last delta);
- ``batch``: N concurrent requests; vLLM ``LLM.chat([conversation] * N)`` (it batches them) against N
  threads each iterating its own ``model.stream(...)`` on the one engine.

Prints generated tokens per second of wall time for both and the ratio modelplug / vLLM, as a
table and as one JSON line (``{"single": {...}, "batch": {...}}``). Token counts are vLLM's own
(``len(token_ids)``) on the vLLM side and the stream's reported usage on the modelplug side.
"""

from __future__ import annotations

import argparse
import gc
import json
import threading
import time
from typing import Any

import modelplug
from modelplug_vllm.engine import release_accelerator_memory

CONVERSATION = [{"role": "user", "content": "Tell me a long story about a lighthouse keeper."}]


def bench_vllm(model: str, options: dict[str, Any], streams: int, max_tokens: int) -> dict[str, float]:
    """tok/s of vLLM's offline ``LLM.chat`` for one request and for ``streams`` batched requests."""
    from vllm import LLM, SamplingParams

    llm = LLM(model=model, **options)
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, ignore_eos=True)
    try:
        llm.chat([CONVERSATION], SamplingParams(temperature=0.0, max_tokens=8), use_tqdm=False)
        results = {}
        for name, count in (("single", 1), ("batch", streams)):
            start = time.perf_counter()
            outputs = llm.chat([CONVERSATION] * count, params, use_tqdm=False)
            elapsed = time.perf_counter() - start
            tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
            results[name] = tokens / elapsed
            results[f"{name}_tokens"] = tokens
        return results
    finally:
        engine_core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if engine_core is not None and hasattr(engine_core, "shutdown"):
            engine_core.shutdown()
        del llm
        gc.collect()
        release_accelerator_memory()


def _consume(model: modelplug.Model, max_tokens: int, out: list[int]) -> None:
    with model.stream(CONVERSATION, temperature=0.0, max_tokens=max_tokens, ignore_eos=True) as stream:
        for _ in stream:
            pass
    out.append(stream.usage.completion_tokens if stream.usage else 0)


def bench_modelplug(model: str, options: dict[str, Any], streams: int, max_tokens: int) -> dict[str, float]:
    """tok/s of modelplug-vllm streams: one stream, then ``streams`` concurrent streams (threads)."""
    loaded = modelplug.load_model(f"vllm:{model}", **options)
    try:
        _consume(loaded, 8, [])
        results = {}
        for name, count in (("single", 1), ("batch", streams)):
            counts: list[int] = []
            threads = [threading.Thread(target=_consume, args=(loaded, max_tokens, counts)) for _ in range(count)]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - start
            results[name] = sum(counts) / elapsed
            results[f"{name}_tokens"] = sum(counts)
        return results
    finally:
        loaded.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="model folder or hub id")
    parser.add_argument("--streams", type=int, default=16, help="concurrent requests of the batch run (default 16)")
    parser.add_argument("--max-tokens", type=int, default=256, help="tokens per request (default 256)")
    parser.add_argument("--engine-options", default="{}", help="JSON object of engine options for both sides")
    args = parser.parse_args()
    options = json.loads(args.engine_options)
    vllm = bench_vllm(args.model, options, args.streams, args.max_tokens)
    plug = bench_modelplug(args.model, options, args.streams, args.max_tokens)
    report: dict[str, Any] = {"model": args.model, "engine_options": options, "max_tokens": args.max_tokens}
    print(f"\n{'run':<8} {'requests':>8} {'vLLM LLM.chat tok/s':>20} {'modelplug stream tok/s':>23} {'ratio':>6}")
    for name, count in (("single", 1), ("batch", args.streams)):
        ratio = plug[name] / vllm[name] if vllm[name] else float("nan")
        report[name] = {"requests": count, "vllm_tok_s": vllm[name], "modelplug_tok_s": plug[name], "ratio": ratio}
        print(f"{name:<8} {count:>8} {vllm[name]:>20.1f} {plug[name]:>23.1f} {ratio:>6.2f}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
