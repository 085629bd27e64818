"""Core overhead: ``import modelplug`` time and the per-delta cost of aggregation and ChatStream.

Run: ``python bench/bench_core.py [--deltas N] [--runs R]``. Prints medians and ratios; asserts nothing.

- import: wall time of ``python -c "import modelplug"`` minus a bare interpreter, median of R fresh
  processes, next to ``import pluggy, attrs`` (the floor modelplug stands on).
- aggregate: µs per delta for ``StreamAggregator.add`` (content deltas and tool-call fragments), and
  for ``aggregate_chunks`` on raw chunk dicts (wire conversion included).
- stream: µs per delta that ``Model.stream`` adds over iterating the provider's generator directly.
- live ``.message``: µs per delta when ``.message`` is read after every delta, at 10k, 100k and 300k
  deltas, for content and for tool-call arguments, with the growth ratio 300k/10k (goal ≤ 1.3).
- reader: µs of CPU per chunk (medians of 7 alternating pairs) of the one chunk reader
  (``modelplug.wire.delta_from_chunk``) on chunk dicts
  and on client objects (``types.SimpleNamespace`` trees read with ``attribute_getter``), for content
  and tool-call chunks. The same script runs on an older checkout (``PYTHONPATH=<old>/core``), where
  it measures the two readers of then (``delta_from_chunk`` and ``client_wire.delta_from_fields``).

``--live-only`` / ``--reader-only`` / ``--stream-only`` run just those parts. The stream part runs
for a provider with ``tool_calling="none"`` and one with ``"text"`` (which gets the core's
reasoning split at the start of the answer, tools or not).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import modelplug
from modelplug import ChatMessageStreamDelta, ToolCallDelta
from modelplug._aggregation import StreamAggregator


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


def bench_live(sizes: tuple[int, ...] = (10_000, 100_000, 300_000)) -> None:
    """µs per delta of ``add`` + a ``.message`` read after every delta, and the growth ratio."""
    results: dict[str, list[float]] = {"content": [], "reasoning": [], "tool-call arguments": []}
    for n in sizes:
        content = [ChatMessageStreamDelta(content=f" t{i % 100:02d}") for i in range(n)]
        reasoning = [ChatMessageStreamDelta(reasoning_content=f" t{i % 100:02d}") for i in range(n)]
        tool = [ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, "call_1", "search", '{"q": "'),))]
        tool += [ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, arguments=f"a{i % 100:02d} "),)) for i in range(n)]
        for name, deltas in (("content", content), ("reasoning", reasoning), ("tool-call arguments", tool)):

            def live(deltas: list[ChatMessageStreamDelta] = deltas) -> int:
                aggregator = StreamAggregator()
                for delta in deltas:
                    aggregator.add(delta)
                    aggregator.message  # noqa: B018
                return len(deltas)

            results[name].append(_per_delta(live, repeats=3))
    header = "".join(f"{n:>10,}" for n in sizes)
    print(f"live .message read after each delta (µs/delta) {header}   ratio {sizes[-1]:,}/{sizes[0]:,}")
    for name, costs in results.items():
        row = "".join(f"{c:10.2f}" for c in costs)
        print(f"  {name:<45} {row}   {costs[-1] / costs[0]:5.2f}")


def _objects(value: Any) -> Any:
    if isinstance(value, dict):
        return types.SimpleNamespace(**{k: _objects(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_objects(v) for v in value]
    return value


def _readers() -> tuple[str, Callable[[Any], Any], Callable[[Any], Any]]:
    """``(label, read a dict, read an object)`` for the checkout on ``sys.path``."""
    from modelplug import wire

    if hasattr(wire, "attribute_getter"):
        getter = wire.attribute_getter
        return "one reader (wire.delta_from_chunk)", wire.delta_from_chunk, lambda c: wire.delta_from_chunk(c, getter)
    from modelplug.client_wire import delta_from_fields  # type: ignore[import-not-found]  # before issue 11

    def get(obj: Any, name: str) -> Any:
        return getattr(obj, name, None)

    return (
        "two readers (delta_from_chunk, delta_from_fields)",
        wire.delta_from_chunk,
        lambda c: delta_from_fields(c, get),
    )


def _cpu_per_delta(function: Callable[[], int]) -> float:
    start = time.thread_time()
    count = function()
    return (time.thread_time() - start) / count * 1e6


def bench_reader(n: int = 50_000, pairs: int = 7) -> None:
    """µs of CPU per chunk of the chunk reader, dicts and objects in ``pairs`` alternating pairs (medians)."""
    label, read_dict, read_object = _readers()
    content = [
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": f" t{i % 100}"}, "finish_reason": None}],
        }
        for i in range(n)
    ]
    tool = [
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": f"a{i % 100} "}}]},
                    "finish_reason": None,
                }
            ],
        }
        for i in range(n)
    ]
    print(f"chunk reader, µs/chunk: {label}")
    for name, chunks in (("content chunk", content), ("tool-call chunk", tool)):
        objects = [_objects(c) for c in chunks]

        def dicts(chunks: list[Any] = chunks) -> int:
            for chunk in chunks:
                read_dict(chunk)
            return len(chunks)

        def objs(objects: list[Any] = objects) -> int:
            for chunk in objects:
                read_object(chunk)
            return len(objects)

        dict_costs, object_costs = [], []
        for _ in range(pairs):  # alternating pairs, in this thread's CPU time (steadier on a busy machine)
            dict_costs.append(_cpu_per_delta(dicts))
            object_costs.append(_cpu_per_delta(objs))
        ratio = statistics.median(o / d for o, d in zip(object_costs, dict_costs, strict=True))
        print(
            f"  {name:<16} dicts {statistics.median(dict_costs):5.2f}   objects {statistics.median(object_costs):5.2f}"
            f"   objects/dicts (paired) {ratio:4.2f}"
        )


class _Provider:
    def __init__(self, deltas: list[ChatMessageStreamDelta], tool_calling: str = "none") -> None:
        self.deltas = deltas
        self.tool_calling = tool_calling

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True, tool_calling=self.tool_calling)

    @modelplug.hookimpl
    def generate_stream(self) -> Iterator[ChatMessageStreamDelta]:
        yield from self.deltas


def bench_stream(n: int, tool_calling: str = "none") -> None:
    """``tool_calling="text"``: a provider that renders prompts (Transformers, vLLM's text mode),
    streamed without tools: the core still reads a reasoning span at the start of the answer."""
    deltas = [ChatMessageStreamDelta(content=f" t{i % 100:02d}") for i in range(n)]
    provider = _Provider(deltas, tool_calling)
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
    print(f"provider generator alone       : {floor:6.2f} µs/delta   (tool_calling={tool_calling!r}, no tools)")
    print(f"Model.stream + aggregate       : {ours:6.2f} µs/delta   (+{ours - floor:.2f} µs/delta)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--live-only", action="store_true", help="only the live .message reads")
    parser.add_argument("--reader-only", action="store_true", help="only the chunk reader, dicts and objects")
    parser.add_argument("--stream-only", action="store_true", help="only Model.stream, native and text providers")
    args = parser.parse_args()
    if args.reader_only:
        bench_reader()
        return
    if args.stream_only:
        bench_stream(args.deltas)
        bench_stream(args.deltas, "text")
        return
    bench_live()
    if args.live_only:
        return
    bench_reader()
    bench_import(args.runs)
    for n in (args.deltas // 10, args.deltas):
        bench_aggregate(n)
    bench_stream(args.deltas)
    bench_stream(args.deltas, "text")


if __name__ == "__main__":
    main()
