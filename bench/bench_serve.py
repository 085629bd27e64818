"""What ``modelplug serve`` costs: per chunk, and in requests per second; with Ray, 1 vs 2 replicas.

Run: ``python bench/bench_serve.py [--chunks 10000] [--runs 5] [--seconds 4] [--no-ray]``.
Prints medians and ratios; asserts nothing. Needs the ``serve`` extra and httpx (``--no-ray``
without the ``ray`` extra); touches nothing but 127.0.0.1.

Every measure streams the same recorded chunks: the replay provider playing a JSONL file of N
content chunks (4 characters each), a finish chunk and a usage chunk.

- *in process*: ``Model.stream(...)`` of that replay model iterated in this process (no HTTP).
- *modelplug serve*: ``python -m modelplug serve`` (a subprocess) serving that model; this process
  reads the SSE lines with httpx (``iter_lines``, no JSON decoding: the client is the same for both
  servers and as cheap as can be).
- *raw relay*: a bare Starlette app (a subprocess) that writes the same chunk dicts as
  ``data: <json>`` events from a ``StreamingResponse``: the floor of an SSE relay in Python.

Per chunk: wall time at the client, and the server process's CPU time (``/proc/<pid>/stat``), per
chunk, median of ``--runs`` streams after one warm-up. Requests per second: answers of 20 chunks,
1, 16 and 64 clients (asyncio + ``httpx.AsyncClient``) each sending streamed requests back to back
for ``--seconds``. Ray: the same app on a local Ray instance (2 CPUs, dashboard off), with 1 then 2
replicas (0.5 CPU each), at 16 and 64 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from modelplug.testing.http.processes import free_port  # noqa: E402

HELLO = [{"role": "user", "content": "hi"}]


def chunk_lines(n: int) -> list[Any]:
    """N content chunks, a finish chunk, a usage chunk and ``[DONE]``."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "bench"}
    chunks: list[Any] = [
        {**base, "choices": [{"index": 0, "delta": {"content": f" t{i % 100:02d}"}, "finish_reason": None}]}
        for i in range(n)
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({**base, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": n, "total_tokens": n + 3}})
    chunks.append("[DONE]")
    return chunks


def write_script(n: int) -> Path:
    path = Path(tempfile.mkdtemp(prefix="modelplug-bench-serve-")) / f"text{n}.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in chunk_lines(n)), encoding="utf-8")
    return path


# -- the raw relay (run as a subprocess: ``bench_serve.py --raw-relay PORT FILE``) -----------------


def raw_relay(port: int, script: Path) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    chunks = [json.loads(line) for line in script.read_text().splitlines() if line.strip()]

    async def events() -> Any:
        for chunk in chunks:
            text = chunk if isinstance(chunk, str) else json.dumps(chunk, ensure_ascii=False, separators=(",", ":"))
            yield f"data: {text}\n\n"

    async def chat(request: Request) -> Response:
        await request.body()
        return StreamingResponse(events(), media_type="text/event-stream")

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/health", health)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- servers -----------------------------------------------------------------------------------------


class Server:
    def __init__(self, command: list[str], port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server {command} did not start")
            time.sleep(0.1)

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def modelplug_server(script: Path) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "modelplug", "serve", "-m", f"replay:{script}", "--name", "bench"]
    command += ["-o", "loop=true", "--port", str(port), "--max-concurrency", "256"]
    return Server(command, port)


def relay_server(script: Path) -> Server:
    port = free_port()
    return Server([sys.executable, __file__, "--raw-relay", str(port), str(script)], port)


# -- measures ----------------------------------------------------------------------------------------


def stream_once(client: httpx.Client, url: str, n: int) -> None:
    body = {"model": "bench", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}
    count = 0
    with client.stream("POST", url + "/v1/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                count += 1
    assert count >= n, f"{count} chunks, expected at least {n}"


def per_chunk_http(server: Server, n: int, runs: int) -> tuple[float, float]:
    """Median (wall µs, server CPU µs) per chunk."""
    walls, cpus = [], []
    with httpx.Client(timeout=120) as client:
        stream_once(client, server.url, n)  # warm-up
        for _ in range(runs):
            cpu = server.cpu_s()
            start = time.perf_counter()
            stream_once(client, server.url, n)
            walls.append((time.perf_counter() - start) / n * 1e6)
            cpus.append((server.cpu_s() - cpu) / n * 1e6)
    return statistics.median(walls), statistics.median(cpus)


def per_chunk_in_process(script: Path, n: int, runs: int) -> float:
    import modelplug

    with modelplug.load_model(f"replay:{script}", loop=True) as model:
        model.stream(HELLO).until_done()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            message = model.stream(HELLO).until_done()
            times.append((time.perf_counter() - start) / n * 1e6)
            assert message.usage is not None and message.usage.completion_tokens == n
    return statistics.median(times)


async def _throughput(url: str, clients: int, seconds: float) -> float:
    body = {"model": "bench", "messages": HELLO, "stream": True}
    done = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def worker(deadline: float) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with client.stream("POST", url + "/v1/chat/completions", json=body) as response:
                    if response.status_code != 200:
                        raise RuntimeError(f"status {response.status_code}: {(await response.aread())[:200]!r}")
                    async for _ in response.aiter_lines():
                        pass
                done += 1

        await asyncio.gather(*(worker(time.perf_counter() + 0.5) for _ in range(clients)))  # warm-up
        done = 0
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + seconds) for _ in range(clients)))
        return done / (time.perf_counter() - start)


def throughput(url: str, clients: int, seconds: float) -> float:
    return asyncio.run(_throughput(url, clients, seconds))


def ray_throughput(script: Path, levels: list[int], seconds: float) -> dict[int, dict[int, float]]:
    import ray
    from ray import serve

    from modelplug.serve.models import ModelEntry
    from modelplug.serve.ray import APP_NAME, RayOptions, application, start_ray

    port = free_port()
    start_ray(host="127.0.0.1", port=port, num_cpus=2)
    results: dict[int, dict[int, float]] = {}
    try:
        entries = [ModelEntry("bench", f"replay:{script}", {"loop": True})]
        for replicas in (1, 2):
            options = RayOptions(num_replicas=replicas, replica_cpus=0.5)
            serve.run(application(entries, ray_options=options, max_concurrency=256), name=APP_NAME, route_prefix="/")
            url = f"http://127.0.0.1:{port}"
            results[replicas] = {level: throughput(url, level, seconds) for level in levels}
    finally:
        serve.shutdown()
        ray.shutdown()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--raw-relay", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_relay:
        raw_relay(int(args.raw_relay[0]), Path(args.raw_relay[1]))
        return
    n = args.chunks
    script, short = write_script(n), write_script(20)
    print(f"# modelplug serve: per chunk ({n} chunks, median of {args.runs}) and requests/s\n")
    in_process = per_chunk_in_process(script, n, args.runs)
    rows: dict[str, tuple[float, float]] = {}
    for name, start in (("modelplug serve", modelplug_server), ("raw Starlette relay", relay_server)):
        server = start(script)
        try:
            rows[name] = per_chunk_http(server, n, args.runs)
        finally:
            server.stop()
    print("| path | wall µs/chunk (client) | server CPU µs/chunk |")
    print("|---|---|---|")
    print(f"| replay provider in process (`Model.stream`) | {in_process:.1f} | — |")
    for name, (wall, cpu) in rows.items():
        print(f"| {name} | {wall:.1f} | {cpu:.1f} |")
    serve_wall, serve_cpu = rows["modelplug serve"]
    raw_wall, raw_cpu = rows["raw Starlette relay"]
    print(
        f"\nserve / raw relay: wall {serve_wall / raw_wall:.2f}x, server CPU {serve_cpu / raw_cpu:.2f}x; "
        f"serve / in process: wall {serve_wall / in_process:.1f}x\n"
    )
    levels = [1, 16, 64]
    print("| clients | modelplug serve req/s | raw relay req/s | ratio |")
    print("|---|---|---|---|")
    servers = {name: start(short) for name, start in (("serve", modelplug_server), ("raw", relay_server))}
    try:
        for level in levels:
            ours = throughput(servers["serve"].url, level, args.seconds)
            raw = throughput(servers["raw"].url, level, args.seconds)
            print(f"| {level} | {ours:.0f} | {raw:.0f} | {ours / raw:.2f} |")
    finally:
        for server in servers.values():
            server.stop()
    if args.no_ray:
        return
    print("\n| Ray Serve, clients | 1 replica req/s | 2 replicas req/s | 2 / 1 |")
    print("|---|---|---|---|")
    ray_levels = [16, 64]
    results = ray_throughput(short, ray_levels, args.seconds)
    for level in ray_levels:
        one, two = results[1][level], results[2][level]
        print(f"| {level} | {one:.0f} | {two:.0f} | {two / one:.2f} |")


if __name__ == "__main__":
    main()
