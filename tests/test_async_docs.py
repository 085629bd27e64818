"""docs/async.md's Starlette example, and its FastAPI variant, run: they stream a model's answer as
server-sent events (on the replay provider instead of the embedded model)."""

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


def example(name: str = "sse-app") -> str:
    page = PAGE.read_text(encoding="utf-8")
    found = re.search(rf"<!-- test: {name} -->\n```python\n(.*?)^```$", page, re.S | re.M)
    assert found is not None, f"docs/async.md has no <!-- test: {name} --> block"
    return found.group(1)


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
def test_the_sse_example_streams_the_answer(fresh_plugins: None, framework: str) -> None:
    pytest.importorskip("sse_starlette")
    httpx = pytest.importorskip("httpx")
    from httpx_sse import aconnect_sse

    code = example()
    if framework == "fastapi":
        pytest.importorskip("fastapi")
        code += "\n" + example("sse-fastapi")
    assert SPEC in code
    namespace: dict[str, Any] = {}
    replayed = code.replace(SPEC, 'modelplug.load_model("replay:docs", responses=["Hello from the docs."])')
    exec(compile(replayed, str(PAGE), "exec"), namespace)
    model: modelplug.Model = namespace["model"]
    assert type(namespace["app"]).__module__.startswith(framework)  # the app served is that framework's

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
