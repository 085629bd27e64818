"""The agent's live view on a long run: µs per delta must stay flat as the run grows.

Run: ``python bench/bench_agent_view.py [--sizes 1000,10000,100000] [--runs R]``. Prints medians;
asserts nothing.

A synthetic agent run of N model deltas (reasoning, text, and tool-call argument fragments, as a
streaming tool-calling model sends them) is shown through :class:`modelplug.cli.agent_view.AgentView`
on the real :class:`~modelplug.cli.display.LiveView` (a rich ``Live`` region on a 100×40 terminal that
discards its output, refreshed 30 times a second, which is more often than the default 8), on the
plain-text view, and as JSON lines. Two shapes: *many steps* (200 deltas per step, so N/200 steps,
each with a tool call, an observation and a statistics line) and *long steps* (10 steps of N/10
deltas: long messages). ``events only`` is the floor (iterating the prebuilt events). ``agent``
is the whole path end to end: a replay model streaming the same run through ``ToolCallingAgent``
(aggregation, tool calls, memory) into the live view.

Flat means: the µs/delta of a view does not grow with N (the ratio column stays at or below 1; at
N = 1,000 the fixed cost of starting and stopping the live region, up to one refresh period, still
shows). Measured on the 2-core dev machine (shared, load ≈ 4): live 11.6 µs/delta at N = 10,000
and 11.4 at N = 100,000 (500 steps); the whole path, replay model and agent included, 13.4 and 12.6.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

import modelplug
from modelplug.agents import (
    ActionStepEnd,
    FinalAnswer,
    ModelDelta,
    ModelOutput,
    StepStart,
    ToolCallComplete,
    ToolCallingAgent,
    ToolResult,
    tool,
)
from modelplug.cli.agent_view import AgentView, JsonEventsView
from modelplug.cli.display import LiveView
from modelplug.cli.plain import PlainView
from modelplug.types import ChatMessage, ChatMessageStreamDelta, ToolCall, ToolCallDelta, Usage


class _Sink:
    """A terminal that throws its output away."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def _step_deltas(step: int, count: int) -> list[ChatMessageStreamDelta]:
    """``count`` deltas of one step: 10% reasoning, 70% text (words; some bold, a paragraph every 40),
    20% tool-call arguments."""
    reasoning = count // 10
    arguments = count // 5
    text = count - reasoning - arguments - 1
    deltas = [ChatMessageStreamDelta(reasoning_content=f" r{i % 100:02d}") for i in range(reasoning)]
    deltas += [
        ChatMessageStreamDelta(
            content=f" **t{i % 100:02d}**"
            if i % 17 == 0
            else f" t{i % 100:02d}.\n\n"
            if i % 40 == 0
            else f" t{i % 100:02d}"
        )
        for i in range(text)
    ]
    deltas.append(ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, f"call_{step}", "search", '{"q": "'),)))
    deltas += [
        ChatMessageStreamDelta(tool_calls=(ToolCallDelta(0, arguments=f"a{i % 100:02d} "),)) for i in range(arguments)
    ]
    return deltas


def synthetic_run(total: int, per_step: int) -> list[Any]:
    """The events of an agent run with ``total`` deltas, ``per_step`` per step."""
    events: list[Any] = []
    steps = max(total // per_step, 1)
    usage = Usage()
    for step in range(1, steps + 1):
        deltas = _step_deltas(step, per_step)
        events.append(StepStart(step, "action"))
        events.extend(ModelDelta(step, "action", d) for d in deltas)
        call = ToolCall(f"call_{step}", "search", {"q": "x"})
        step_usage = Usage(1000 + step, per_step)
        usage = usage + step_usage
        events.append(
            ModelOutput(step, "action", ChatMessage(content="(aggregate)", tool_calls=[call], usage=step_usage))
        )
        events.append(ToolCallComplete(step, call))
        events.append(ToolResult(step, call, f"result {step}: " + "lorem ipsum " * 20))
        events.append(ActionStepEnd(step, "action", step_usage, 0.05, 0.5, 1, step == steps))
    events.append(FinalAnswer("done", steps, usage))
    return events


def _deltas_in(events: list[Any]) -> int:
    return sum(1 for e in events if type(e) is ModelDelta)


def _live_view() -> AgentView:
    console = Console(file=_Sink(), force_terminal=True, width=100, height=40, color_system="truecolor")  # type: ignore[arg-type]
    stats = Console(file=_Sink(), force_terminal=True, width=100)  # type: ignore[arg-type]
    return AgentView(
        LiveView(console, stats_console=stats, refresh_per_second=30, redirect=False), live=True, max_steps=10**6
    )


def _plain_view() -> AgentView:
    sink: Any = _Sink()
    return AgentView(PlainView(sink, sink, show_stats=True), live=False, err=sink, show_stats=True)


def _json_view() -> JsonEventsView:
    sink: Any = _Sink()
    return JsonEventsView(sink)


def _time_view(events: list[Any], make: Callable[[], Any] | None) -> float:
    start = time.perf_counter()
    if make is None:
        for event in events:
            type(event)
    else:
        with make() as view:
            for event in events:
                view.handle(event)
    return time.perf_counter() - start


def _median_us(events: list[Any], make: Callable[[], Any] | None, runs: int) -> float:
    n = _deltas_in(events)
    return statistics.median(_time_view(events, make) for _ in range(runs)) / n * 1e6


@tool
def search(q: str) -> str:
    """Search."""
    return "lorem ipsum " * 20


def _agent_run(total: int, per_step: int) -> float:
    """µs per delta of replay model → ToolCallingAgent(stream_outputs=True) → live view."""
    steps = max(total // per_step, 1)
    responses: list[Any] = []
    for step in range(1, steps + 1):
        chunks = []
        for delta in _step_deltas(step, per_step):
            body: dict[str, Any] = {}
            if delta.reasoning_content:
                body["reasoning_content"] = delta.reasoning_content
            if delta.content:
                body["content"] = delta.content
            if delta.tool_calls:
                d = delta.tool_calls[0]
                body["tool_calls"] = [
                    {"index": 0, **({"id": d.id, "type": "function"} if d.id else {}), "function": {
                        **({"name": d.name} if d.name else {}), "arguments": d.arguments}}
                ]  # fmt: skip
            chunks.append({"choices": [{"index": 0, "delta": body}]})
        chunks[-1]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] += '"}'
        chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        chunks.append({"choices": [], "usage": {"prompt_tokens": 1000 + step, "completion_tokens": per_step}})
        responses.append(chunks)
    responses.append("The answer.")
    model = modelplug.load_model("replay:bench", responses=responses)
    agent = ToolCallingAgent(model, [search], stream_outputs=True, max_steps=steps + 1)
    start = time.perf_counter()
    deltas = 0
    with _live_view() as view:
        for event in agent.run("Find it.", stream=True):
            deltas += type(event) is ModelDelta
            view.handle(event)
    return (time.perf_counter() - start) / deltas * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated numbers of deltas")
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (median)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    views: list[tuple[str, Callable[[], Any] | None]] = [
        ("events only", None),
        ("plain", _plain_view),
        ("json lines", _json_view),
        ("live", _live_view),
    ]
    for shape, per_step_of in (("many steps", lambda n: 200), ("long steps", lambda n: max(n // 10, 10))):
        print(f"\n{shape}: µs per delta (median of {args.runs}); ratio = µs at N / µs at N={sizes[0]}")
        print(f"{'N':>8} {'steps':>6} " + " ".join(f"{name:>12}" for name, _ in views) + f" {'agent+live':>12}")
        first: dict[str, float] = {}
        for n in sizes:
            per_step = per_step_of(n)
            events = synthetic_run(n, per_step)
            cells = {name: _median_us(events, make, args.runs) for name, make in views}
            cells["agent+live"] = statistics.median(_agent_run(n, per_step) for _ in range(max(1, args.runs // 2)))
            first = first or dict(cells)
            steps = max(n // per_step, 1)
            print(
                f"{n:>8} {steps:>6} " + " ".join(f"{cells[k]:>6.2f} ×{cells[k] / first[k]:<4.2f}" for k in cells),
                flush=True,
            )
    print(json.dumps({"note": "flat = ratio near 1.0 for every view"}))


if __name__ == "__main__":
    main()
