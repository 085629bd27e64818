"""Native async providers that never give the event loop a turn, or stall (each case runs in a
subprocess, so a hang or a spinning loop cannot outlive its test; a known fault is an xfail with
its reason)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROVIDERS = textwrap.dedent("""
    import asyncio, threading, time
    import modelplug
    from modelplug.types import Capabilities, ChatMessageStreamDelta as D

    class Endless:  # yields forever without ever awaiting: the consumer's task never suspends
        @modelplug.hookimpl
        def capabilities(self):
            return Capabilities(async_streaming=True)

        @modelplug.hookimpl
        async def agenerate_stream(self, messages, options):
            while True:
                yield D(content="x")

    class Stalls:  # one delta, then waits forever (a server that stops sending)
        @modelplug.hookimpl
        def capabilities(self):
            return Capabilities(async_streaming=True)

        @modelplug.hookimpl
        async def agenerate_stream(self, messages, options):
            yield D(content="first")
            await asyncio.Event().wait()

    modelplug.register_provider("endless", Endless())
    modelplug.register_provider("stalls", Stalls())
""")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-c", PROVIDERS + textwrap.dedent(code)], capture_output=True, text=True, timeout=10
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the process hung (killed after 10 s)")


def test_a_timeout_ends_agenerate_over_a_provider_that_never_awaits() -> None:
    result = _run("""
        async def main():
            try:
                await asyncio.wait_for(modelplug.load_model("endless:m").agenerate("hi"), 1)
            except (TimeoutError, asyncio.TimeoutError):
                print("timed out")
        asyncio.run(main())
    """)
    assert "timed out" in result.stdout, result.stderr[-2000:]


def test_a_timeout_ends_astream_over_a_provider_that_never_awaits() -> None:
    result = _run("""
        async def main():
            stream = modelplug.load_model("endless:m").astream("hi")
            try:
                async with asyncio.timeout(1):
                    async for _ in stream:
                        pass
            except TimeoutError:
                print("timed out with", len(stream.message.content or ""), "characters kept")
        asyncio.run(main())
    """)
    assert "timed out with" in result.stdout, result.stderr[-2000:]
    assert "timed out with 0 characters" not in result.stdout


def test_close_from_another_thread_ends_a_sync_stream_over_a_stalled_async_provider() -> None:
    result = _run("""
        stream = modelplug.load_model("stalls:m").stream("hi")
        seen = []
        reader = threading.Thread(target=lambda: seen.extend(stream), daemon=True)
        reader.start()
        time.sleep(0.5)
        stream.close()
        reader.join(5)
        print("ended" if not reader.is_alive() else "still blocked", stream.message.content)
        time.sleep(0.5)
        print("loop threads left:", sum(t.name != "MainThread" and t.is_alive() for t in threading.enumerate()))
        import os, sys; sys.stdout.flush(); os._exit(0)  # os._exit skips the flush a piped stdout needs
    """)
    assert "ended first" in result.stdout, result.stdout + result.stderr[-2000:]
    assert "loop threads left: 0" in result.stdout  # the shared loop thread ends with its last stream
