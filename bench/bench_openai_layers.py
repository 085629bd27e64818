"""Where the ``openai:`` provider's time per chunk goes, layer by layer, in memory.

Run: ``taskset -c 1 python bench/bench_openai_layers.py [--shape tool|content] [--chunks 10000] [--runs 9]``.
Prints medians and asserts nothing; touches nothing but 127.0.0.1.

The network reads of one real stream (``text/N`` or ``tool/N`` from the fast replay server,
:mod:`modelplug.testing.http.fast_server`, one read per SSE event) are recorded once, then replayed
from memory through, in CPU time of this process per chunk:

- raw: the raw loop of ``bench/bench_http_plugins.py`` (split on blank lines, ``json.loads``, dict look-ups);
- provider: the provider's generator (``_deltas``: SSE decoding, JSON, the core's chunk reader);
- + retry: the same behind the chat-client kit's retried start (``open_stream``);
- + ChatStream: the same behind ``ChatStream`` and the aggregation (what ``Model.stream`` returns).

Each line's "over raw" is what that much of the path costs beyond the raw loop: the network, httpx
and the server are left out, so the differences are exact where the end-to-end bench is noisy.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from modelplug._stream import ChatStream  # noqa: E402
from modelplug.chat_client import open_stream  # noqa: E402
from modelplug.retry import RetryPolicy  # noqa: E402
from modelplug.testing.http.processes import ReplayServer  # noqa: E402
from modelplug.types import ChatMessageStreamDelta  # noqa: E402


def record(shape: str, n: int) -> list[bytes]:
    """The network reads (``iter_bytes()``) of one ``text/N`` or ``tool/N`` stream."""
    server = ReplayServer.start(fast=True)
    try:
        body = {
            "model": f"{'text' if shape == 'content' else 'tool'}/{n}",
            "messages": [{"role": "user", "content": "Count."}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        with httpx.Client() as client, client.stream("POST", f"{server.url()}/chat/completions", json=body) as response:
            return list(response.iter_bytes())
    finally:
        server.stop()


class _Recorded:
    """Enough of an ``httpx.Response`` for the provider's generator: the recorded reads."""

    def __init__(self, reads: list[bytes]) -> None:
        self._reads = reads
        self.request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
        self.extensions: dict[str, Any] = {}

    def iter_bytes(self) -> Iterator[bytes]:
        return iter(self._reads)

    def close(self) -> None:
        pass


def raw_loop(reads: list[bytes], shape: str) -> str:
    parts: list[str] = []
    buffer = b""
    for data in reads:
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


def _text(deltas: Iterator[ChatMessageStreamDelta], shape: str) -> str:
    parts: list[str] = []
    for delta in deltas:
        if shape == "content":
            if delta.content:
                parts.append(delta.content)
        elif delta.tool_calls and delta.tool_calls[0].arguments:
            parts.append(delta.tool_calls[0].arguments)
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shape", default="tool", choices=["tool", "content"])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    from modelplug_openai.provider import _deltas

    reads, shape, n = record(args.shape, args.chunks), args.shape, args.chunks

    def start() -> tuple[Callable[[], object], Iterator[ChatMessageStreamDelta]]:
        return (lambda: None), _deltas(_Recorded(reads))  # type: ignore[arg-type]

    def provider() -> str:
        return _text(start()[1], shape)

    def retried() -> str:
        return _text(open_stream(RetryPolicy(), start, provider="openai", model="m"), shape)  # type: ignore[arg-type]

    def chat_stream() -> str:
        deltas = open_stream(RetryPolicy(), start, provider="openai", model="m")  # type: ignore[arg-type]
        stream = ChatStream(deltas, provider="openai", model_id="m")
        text = _text(stream, shape)
        stream.message  # noqa: B018 (the aggregate is part of the work)
        return text

    loops: dict[str, Callable[[], str]] = {
        "raw": lambda: raw_loop(reads, shape),
        "provider": provider,
        "+ retry": retried,
        "+ ChatStream": chat_stream,
    }
    want = loops["raw"]()
    samples: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.runs):  # interleaved, so that a busy moment hits every loop alike
        for name, loop in loops.items():
            gc.collect()
            began = time.process_time()
            got = loop()
            samples[name].append((time.process_time() - began) / n * 1e6)
            assert got == want, f"{name} received other text"
    raw = statistics.median(samples["raw"])
    print(f"{shape}: {n:,} chunks, {len(reads):,} reads, {args.runs} runs; CPU µs per chunk, medians")
    print(f"{'layer':<16}{'µs/chunk':>10}{'over raw':>10}")
    for name, values in samples.items():
        value = statistics.median(values)
        print(f"{name:<16}{value:>10.2f}{value - raw:>10.2f}")


if __name__ == "__main__":
    main()
