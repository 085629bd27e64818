"""Core overhead: ``import modelplug`` time and the per-delta cost of aggregation and ChatStream.

Run: ``python bench/bench_core.py [--deltas N] [--runs R]``. Prints medians and ratios; asserts nothing.

- import: wall time of ``python -c "import modelplug"`` minus a bare interpreter, median of R fresh
  processes, next to ``import pluggy, attrs`` (the floor modelplug stands on).
- aggregate: µs per delta for ``StreamAggregator.add`` (content deltas and tool-call fragments), and
  for ``aggregate_chunks`` on raw chunk dicts (wire conversion included).
- stream: µs per delta that ``Model.stream`` adds over iterating the provider's generator directly.
- live ``.message``: µs per delta when ``.message`` is read after every delta (must stay flat in N).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import modelplug
from modelplug import ChatMessageStreamDelta, ToolCallDelta
from modelplug.aggregation import StreamAggregator


def _wall(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bench_import(runs: int) -> None:
    bare = _wall("pass", runs)
    floor = _wall("import pluggy, attrs", runs) - bare
    core = _wall("import modelplug", runs) - bare
    print(f"import pluggy, attrs : {floor:7.1f} ms")
    print(f"import modelplug     : {core:7.1f} ms   (floor + {core - floor:.1f} ms; budget: floor + 15 ms)")


def _per_delta(function: Callable[[], int], repeats: int = 5) -> float:
    best = []
    for _ in range(repeats):
        start = time.perf_counter()
        count = function()
        best.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(best)


def bench_aggregate(n: int) -> None:
    content = [ChatMessageStreamDelta(content=f" t{i % 100:02d}") for i in range(n)]
    tool = [ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, "call_1", "search", '{"q": "'),))]
    tool += [ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, arguments=f"a{i % 100:02d} "),)) for i in range(n)]
    tool.append(ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, arguments='"}'),)))
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": f" t{i % 100:02d}"}, "finish_reason": None}]} for i in range(n)
    ]

    def run(deltas: list[ChatMessageStreamDelta]) -> Callable[[], int]:
        def inner() -> int:
            aggregator = StreamAggregator()
            for delta in deltas:
                aggregator.add(delta)
            aggregator.message  # noqa: B018
            return len(deltas)

        return inner

    def live() -> int:
        aggregator = StreamAggregator()
        for delta in content:
            aggregator.add(delta)
            aggregator.message  # noqa: B018
        return len(content)

    def from_chunks() -> int:
        modelplug.aggregate_chunks(chunks)
        return len(chunks)

    print(f"aggregate content deltas       : {_per_delta(run(content)):6.2f} µs/delta   (N={n})")
    print(f"aggregate tool-call fragments  : {_per_delta(run(tool)):6.2f} µs/delta")
    print(f"aggregate_chunks (wire dicts)  : {_per_delta(from_chunks):6.2f} µs/chunk")
    print(f"read .message after each delta : {_per_delta(live):6.2f} µs/delta")


class _Provider:
    def __init__(self, deltas: list[ChatMessageStreamDelta]) -> None:
        self.deltas = deltas

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True)

    @modelplug.hookimpl
    def generate_stream(self) -> Iterator[ChatMessageStreamDelta]:
        yield from self.deltas


def bench_stream(n: int) -> None:
    deltas = [ChatMessageStreamDelta(content=f" t{i % 100:02d}") for i in range(n)]
    provider = _Provider(deltas)
    modelplug.register_provider("bench", provider, replace=True)
    model = modelplug.load_model("bench:m")

    def raw() -> int:
        parts = [d.content for d in provider.generate_stream()]
        "".join(p or "" for p in parts)
        return n

    def through_modelplug() -> int:
        stream = model.stream("x")
        parts = [d.content for d in stream]
        "".join(p or "" for p in parts)
        stream.message  # noqa: B018
        return n

    floor, ours = _per_delta(raw), _per_delta(through_modelplug)
    print(f"provider generator alone       : {floor:6.2f} µs/delta")
    print(f"Model.stream + aggregate       : {ours:6.2f} µs/delta   (+{ours - floor:.2f} µs/delta)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bench_import(args.runs)
    for n in (args.deltas // 10, args.deltas):
        bench_aggregate(n)
    bench_stream(args.deltas)


if __name__ == "__main__":
    main()
