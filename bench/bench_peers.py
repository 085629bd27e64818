"""modelplug against a peer, smolagents, on the same loopback streams: µs per chunk, ratios to a raw loop.

Run: ``python bench/bench_peers.py [--sizes 2000,20000] [--runs 3] [--shapes content,tool]
[--live-cap content:20000,tool:2000] [--slow-s 30] [--no-pin]``. Prints medians and ratios;
asserts nothing. Needs huggingface_hub, httpx and the ``inference-client`` plugin; smolagents and
openai for (e) and (f), which are skipped with a message when smolagents cannot be imported.
LiteLLM, the other peer, is measured by ``bench_http_plugins.py``. Touches nothing but 127.0.0.1.

The server, the streams, the raw loop, the InferenceClient loop and the timing come from
``bench_http_plugins.py`` (:mod:`modelplug.testing.http.fast_server`: each whole response pre-rendered and
sent at once, one HTTP chunk per SSE event, so the client is the bottleneck; server pinned to CPU 0,
loops to CPU 1). *content*: N deltas of 4 characters; *tool*: one call whose arguments come in N
fragments; each stream ends with a finish chunk, a usage chunk and ``[DONE]``. Clients are built
before the clock starts; a run goes from the request to the last chunk, GC on, and checks the text
(or the arguments) it received.

Loops:

- (a) raw httpx SSE loop: ``iter_bytes()``, split on blank lines, ``json.loads`` (the floor).
- (d) ``huggingface_hub.InferenceClient.chat_completion(stream=True)``: the library (m) wraps.
- (m0) modelplug: ``load_model("inference-client:…").stream(...)``, iterated, ``.message`` once
  at the end: (d) plus the plugin's chunk mapping, ``ChatStream`` and aggregation.
- (m) the same, reading ``stream.message`` after every delta, as a live view that shows the
  answer so far does.
- (e) smolagents: ``OpenAIServerModel.generate_stream`` (the openai SDK underneath), all deltas
  kept, one ``agglomerate_stream_deltas`` at the end (what its agents do after a step).
- (f) smolagents, ``agglomerate_stream_deltas`` over the deltas so far after every delta (what
  its live view does per delta). Its cost per delta grows with N, so it runs only up to the
  ``--live-cap`` for each shape (above it the cell says how long it would take at least), and a
  cell whose first run took over ``--slow-s`` seconds is not repeated.

Every library run is paired with a run of (a) next to it (the order alternates), so drifts in load
hit both; the tables give each loop's median wall µs/chunk and the median of the paired ratios to
(a), then what each adds over (a), and what modelplug adds over (d) (differences of those medians).
Last, how each loop's µs/chunk at the largest N compares with the smallest: flat means ≈ 1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from typing import Any

import bench_http_plugins as http  # the server, the streams, the raw and hub loops, the timing
from bench_http_plugins import KEY, MESSAGES, Sample, expected, loop_hub, loop_raw, timed

import modelplug
from modelplug.testing.http.processes import ReplayServer

Loop = Callable[[str, str, str], str]
LABELS = {
    "hub": "(d) InferenceClient.chat_completion",
    "modelplug-bare": "(m0) modelplug inference-client, deltas only",
    "modelplug": "(m) modelplug inference-client + .message/delta",
    "smol-end": "(e) smolagents generate_stream + 1 agglomerate",
    "smol-live": "(f) smolagents agglomerate after every delta",
}


def _text_of(message: Any, shape: str) -> str:
    """The content, or the first tool call's arguments as JSON text, of a modelplug message."""
    if shape == "content":
        return str(message.content)
    return json.dumps(message.tool_calls[0].arguments)


def make_modelplug(url: str, selector: str, live: bool = True) -> Loop:
    model = modelplug.load_model(f"inference-client:{selector}", base_url=url, token=KEY)

    def loop_modelplug_bare(url: str, selector: str, shape: str) -> str:
        with model.stream(MESSAGES) as stream:
            for _delta in stream:
                pass
            return _text_of(stream.message, shape)

    def loop_modelplug(url: str, selector: str, shape: str) -> str:
        with model.stream(MESSAGES) as stream:
            for _delta in stream:
                stream.message  # noqa: B018 (the live view's read of the answer so far)
            return _text_of(stream.message, shape)

    return loop_modelplug if live else loop_modelplug_bare


def _smol_text(message: Any, shape: str) -> str:
    if shape == "content":
        return str(message.content)
    return str(message.tool_calls[0].function.arguments)


def make_smolagents(url: str, selector: str, live: bool) -> Loop:
    from smolagents import OpenAIServerModel
    from smolagents.models import agglomerate_stream_deltas

    model = OpenAIServerModel(
        model_id=selector, api_base=url, api_key=KEY, client_kwargs={"max_retries": 0}, retry=False
    )

    def loop_smolagents_end(url: str, selector: str, shape: str) -> str:
        deltas = list(model.generate_stream(MESSAGES))
        return _smol_text(agglomerate_stream_deltas(deltas), shape)

    def loop_smolagents_live(url: str, selector: str, shape: str) -> str:
        deltas: list[Any] = []
        message = None
        for delta in model.generate_stream(MESSAGES):
            deltas.append(delta)
            message = agglomerate_stream_deltas(deltas)
        return _smol_text(message, shape)

    return loop_smolagents_live if live else loop_smolagents_end


class Cell:
    """The runs of one shape at one N: per loop, its samples and its (raw, loop) pairs."""

    def __init__(self) -> None:
        self.samples: dict[str, list[Sample]] = {}
        self.pairs: dict[str, list[tuple[Sample, Sample]]] = {}
        self.skipped: dict[str, str] = {}

    def add(self, name: str, raw: Sample, sample: Sample) -> None:
        self.samples.setdefault("raw", []).append(raw)
        self.samples.setdefault(name, []).append(sample)
        self.pairs.setdefault(name, []).append((raw, sample))

    def wall(self, name: str) -> float:
        return statistics.median(s.wall for s in self.samples[name])

    def ratio(self, name: str) -> float:
        return statistics.median(s.wall / r.wall for r, s in self.pairs[name])

    def added(self, name: str) -> float:
        return statistics.median(s.wall - r.wall for r, s in self.pairs[name])


def _run(loop: Loop, url: str, selector: str, shape: str, n: int) -> Sample:
    """One timed run; ``timed`` checks the text (or, decoded, the arguments) the loop returns."""
    return timed(loop, url, selector, shape, expected(shape, n), n)


def bench_cell(
    url: str, shape: str, n: int, runs: int, names: list[str], live_cap: int, slow_s: float, cells: dict[Any, Cell]
) -> Cell:
    selector = f"{'text' if shape == 'content' else 'tool'}/{n}"
    makers: dict[str, Callable[[str], Loop]] = {
        "hub": lambda _selector: loop_hub,
        "modelplug-bare": lambda selector: make_modelplug(url, selector, live=False),
        "modelplug": lambda selector: make_modelplug(url, selector),
        "smol-end": lambda selector: make_smolagents(url, selector, live=False),
        "smol-live": lambda selector: make_smolagents(url, selector, live=True),
    }
    cell = Cell()
    if "smol-live" in names and n > live_cap:
        cell.skipped["smol-live"] = _estimate(cells, shape, n, live_cap)
    loops = {name: makers[name](selector) for name in names if name not in cell.skipped}
    small = selector.replace(str(n), "200")
    _run(loop_raw, url, small, shape, 200)  # warm-up: imports, pools, first-call setup
    for name in loops:
        _run(makers[name](small), url, small, shape, 200)
    for round_ in range(runs):
        order = list(loops)
        order = order[round_ % len(order) :] + order[: round_ % len(order)]
        for position, name in enumerate(order):
            if name == "smol-live" and cell.samples.get(name) and cell.samples[name][0].wall * n / 1e6 > slow_s:
                continue
            raw_first = (round_ + position) % 2 == 0
            if raw_first:
                raw = _run(loop_raw, url, selector, shape, n)
            sample = _run(loops[name], url, selector, shape, n)
            if not raw_first:
                raw = _run(loop_raw, url, selector, shape, n)
            cell.add(name, raw, sample)
        print(f"  {shape} N={n:,}: round {round_ + 1}/{runs} done", file=sys.stderr, flush=True)
    return cell


def _estimate(cells: dict[Any, Cell], shape: str, n: int, cap: int) -> str:
    """A lower bound for (f) at N from the largest N it ran at: its extra over (e) grows at least as N²."""
    ran = [(m, cell) for (s, m), cell in cells.items() if s == shape and "smol-live" in cell.samples]
    if not ran:
        return f"not run (N > --live-cap {cap:,})"
    m, cell = max(ran, key=lambda item: item[0])
    extra_s = (cell.wall("smol-live") - cell.wall("smol-end")) * m / 1e6
    bound = extra_s * (n / m) ** 2
    return f"not run (N > --live-cap {cap:,}); at N={m:,} it added {extra_s:.1f} s over (e), so ≥ {bound / 60:.0f} min"


def report(cells: dict[tuple[str, int], Cell], names: list[str], skipped_note: str | None) -> None:
    keys = list(cells)
    header = "".join(f"{f'{s} {n:,}':>24}" for s, n in keys)
    print("\nwall µs/chunk (median) · ratio to (a) (median of pairs)")
    print(f"{'loop':<50}{header}")
    row = "".join(f"{cells[k].wall('raw'):>24.1f}" for k in keys)
    print(f"{'(a) raw httpx SSE loop':<50}{row}")
    for name in names:
        cols = []
        for key in keys:
            cell = cells[key]
            if name in cell.samples:
                cols.append(f"{cell.wall(name):,.1f} · {cell.ratio(name):.2f}× (k={len(cell.pairs[name])})")
            else:
                cols.append("not run")
        print(f"{LABELS[name]:<50}" + "".join(f"{c:>24}" for c in cols))
    print("\nadded over (a), wall µs/chunk (median of paired differences)")
    print(f"{'loop':<50}{header}")
    for name in names:
        cols = [f"{cells[k].added(name):,.1f}" if name in cells[k].samples else "—" for k in keys]
        print(f"{LABELS[name]:<50}" + "".join(f"{c:>24}" for c in cols))
    cols = [f"{cells[k].added('modelplug') - cells[k].added('hub'):,.1f}" for k in keys]
    print(f"{'(m) − (d): the plugin, the core and .message reads':<50}" + "".join(f"{c:>24}" for c in cols))
    cols = [f"{cells[k].added('modelplug-bare') - cells[k].added('hub'):,.1f}" for k in keys]
    print(f"{'(m0) − (d): the plugin and the core':<50}" + "".join(f"{c:>24}" for c in cols))
    for key in keys:
        for name, note in cells[key].skipped.items():
            print(f"{LABELS[name]}, {key[0]} {key[1]:,}: {note}")
    print("\nflatness: µs/chunk at the largest N / at the smallest N (≈ 1: linear total)")
    for shape in dict.fromkeys(s for s, _ in keys):
        sizes = sorted(n for s, n in keys if s == shape)
        low, high = cells[(shape, sizes[0])], cells[(shape, sizes[-1])]
        parts = [f"(a) {high.wall('raw') / low.wall('raw'):.2f}"]
        for name in names:
            if name in low.samples and name in high.samples:
                parts.append(f"{name} {high.wall(name) / low.wall(name):.2f}")
        print(f"  {shape} {sizes[0]:,} → {sizes[-1]:,}: " + ", ".join(parts))
    if skipped_note:
        print(skipped_note)


def _caps(text: str) -> dict[str, int]:
    return {shape: int(n) for shape, _, n in (item.partition(":") for item in text.split(",") if item)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="2000,20000", help="comma-separated numbers of chunks")
    parser.add_argument("--runs", type=int, default=3, help="paired runs per cell (median)")
    parser.add_argument("--shapes", default="content,tool")
    parser.add_argument("--live-cap", default="content:20000,tool:2000", help="largest N for (f), per shape")
    parser.add_argument("--slow-s", type=float, default=30.0, help="an (f) run longer than this is not repeated")
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = False  # it refuses even loopback requests offline
    names = ["hub", "modelplug-bare", "modelplug"]
    skipped_note = None
    try:
        import smolagents

        names += ["smol-end", "smol-live"]
        print(f"smolagents {smolagents.__version__}")
    except ImportError as error:
        skipped_note = f"(e) and (f) skipped: smolagents is not importable ({error}); pip install smolagents openai"
        print(skipped_note)
    caps = _caps(args.live_cap)
    server = ReplayServer.start(fast=True)
    cells: dict[tuple[str, int], Cell] = {}
    try:
        pinned = not args.no_pin and http._pin(server)
        print(f"fast server pid {server.process.pid}; {'server on CPU 0, loops on CPU 1' if pinned else 'not pinned'}")
        for shape in (s.strip() for s in args.shapes.split(",")):
            for n in sorted(int(s) for s in args.sizes.split(",")):
                cells[(shape, n)] = bench_cell(
                    server.url(), shape, n, args.runs, names, caps.get(shape, 10**9), args.slow_s, cells
                )
    finally:
        server.stop()
    report(cells, names, skipped_note)


if __name__ == "__main__":
    main()
