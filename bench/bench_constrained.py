"""Constrained decoding (llguidance) versus the free path, on the embedded model, one run.

Run: ``python bench/bench_constrained.py [--runs 5] [--max-tokens 64]``. Prints medians and ratios;
asserts nothing.

Both sides stream from the same loaded ``transformers:default`` (SmolLM2-135M on the CPU), greedy,
alternating (free, constrained, free, ...) after one warm-up each. Decode tokens/s is
``(completion_tokens - 1) / (end - first delta)``, so the prompt's prefill and the grammar's
one-time setup fall outside it; the setup (building the matcher and the first mask) shows in TTFT.
End-to-end tokens/s (``completion_tokens / total``) is printed too: a forced call's first delta comes
only once the call's name is read, which makes its decode rate look higher than it is.

- **free**: ``"Describe Paris in JSON."`` with no constraint.
- **json_schema**: the same prompt with a ``json_schema`` ``response_format``, every token masked.
- **forced call**: ``"What is 17 * 23?"`` with the calculator and ``tool_choice="required"`` (short:
  the call ends the answer), against the free answer to the same prompt.

A ratio is constrained over free for tokens/s (1.0: the mask costs nothing) and free over
constrained for TTFT.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "country": {"type": "string"},
        "population": {"type": "integer"},
        "landmarks": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["city", "country", "population", "landmarks"],
}


def calculator(expression: str) -> float:
    """Evaluate an arithmetic expression.

    Args:
        expression: the expression, e.g. "2 * 3".
    """
    raise NotImplementedError


def measure(model: Any, prompt: str, **options: Any) -> tuple[float, float, float]:
    """(TTFT s, decode tokens/s, end-to-end tokens/s) of one streamed answer."""
    start = time.perf_counter()
    first = None
    stream = model.stream(prompt, temperature=0.0, **options)
    for delta in stream:
        if first is None and (delta.content or delta.tool_calls):
            first = time.perf_counter()
    end = time.perf_counter()
    tokens = stream.message.usage.completion_tokens
    first = first or end
    return first - start, (tokens - 1) / (end - first) if end > first else 0.0, tokens / (end - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    import modelplug

    model = modelplug.load_model("transformers:default")
    json_format = {"type": "json_schema", "json_schema": {"name": "city", "schema": SCHEMA}}
    pairs = {
        "json_schema": (
            ("Describe Paris in JSON.", {"max_tokens": args.max_tokens}),
            ("Describe Paris in JSON.", {"max_tokens": args.max_tokens, "response_format": json_format}),
        ),
        "forced call": (
            ("What is 17 * 23?", {"max_tokens": args.max_tokens, "tools": [calculator]}),
            ("What is 17 * 23?", {"max_tokens": args.max_tokens, "tools": [calculator], "tool_choice": "required"}),
        ),
    }
    print(f"embedded SmolLM2-135M, greedy, max_tokens={args.max_tokens}, {args.runs} runs (medians)")
    print(f"{'':12} {'decode tok/s free / constrained / ratio':>40}   {'end-to-end tok/s':>26}   {'TTFT':>22}")
    for name, (free, constrained) in pairs.items():
        measure(model, free[0], **free[1])
        measure(model, constrained[0], **constrained[1])
        runs: dict[str, list[tuple[float, float, float]]] = {"free": [], "constrained": []}
        for _ in range(args.runs):
            runs["free"].append(measure(model, free[0], **free[1]))
            runs["constrained"].append(measure(model, constrained[0], **constrained[1]))
        ttft = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
        rate = {k: statistics.median(r[1] for r in v) for k, v in runs.items()}
        e2e = {k: statistics.median(r[2] for r in v) for k, v in runs.items()}
        print(
            f"{name:12} {rate['free']:22.1f} {rate['constrained']:8.1f} {rate['constrained'] / rate['free']:8.2f}"
            f"   {e2e['free']:10.1f} {e2e['constrained']:7.1f} {e2e['constrained'] / e2e['free']:7.2f}"
            f"   {ttft['free'] * 1000:7.0f}ms {ttft['constrained'] * 1000:6.0f}ms"
            f" {ttft['free'] / ttft['constrained']:5.2f}"
        )
    model.close()


if __name__ == "__main__":
    main()
