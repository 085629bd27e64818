"""docs/async.md's Starlette example runs: it streams a model's answer as server-sent events
(on the replay provider instead of the embedded model)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

import modelplug
from tests.wheels import ROOT

PAGE = ROOT / "docs" / "async.md"
SPEC = 'modelplug.load_model("transformers:default")'


def example() -> str:
    found = re.search(r"<!-- test: sse-app -->\n```python\n(.*?)^```$", PAGE.read_text(encoding="utf-8"), re.S | re.M)
    assert found is not None, "docs/async.md has no <!-- test: sse-app --> block"
    return found.group(1)


def test_the_sse_example_streams_the_answer(fresh_plugins: None) -> None:
    pytest.importorskip("sse_starlette")
    httpx = pytest.importorskip("httpx")
    from httpx_sse import aconnect_sse

    code = example()
    assert SPEC in code
    namespace: dict[str, Any] = {}
    replayed = code.replace(SPEC, 'modelplug.load_model("replay:docs", responses=["Hello from the docs."])')
    exec(compile(replayed, str(PAGE), "exec"), namespace)
    model: modelplug.Model = namespace["model"]

    async def main() -> list[tuple[str, Any]]:
        transport = httpx.ASGITransport(app=namespace["app"])
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://docs") as client,
            aconnect_sse(client, "GET", "/chat", params={"q": "hi"}) as source,
        ):
            return [(event.event, json.loads(event.data)) async for event in source.aiter_sse()]

    try:
        events = asyncio.run(main())
    finally:
        model.close()
    assert "".join(data["content"] for kind, data in events if kind == "delta") == "Hello from the docs."
    assert events[-1][0] == "done"
