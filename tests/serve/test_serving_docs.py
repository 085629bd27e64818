"""docs/serving.md's "From modelplug" example runs: the ``openai`` provider streams from a real
``modelplug serve`` app on 127.0.0.1 (serving the replay provider instead of the embedded model)."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

import pytest

from tests.serve.conftest import Serve, replay
from tests.wheels import ROOT

pytest.importorskip("modelplug_openai", reason="needs the openai plugin")

PAGE = ROOT / "docs" / "serving.md"
URL = "http://127.0.0.1:8000/v1"


def example() -> str:
    page = PAGE.read_text(encoding="utf-8")
    found = re.search(r"<!-- test: serve-client -->\n```python\n(.*?)^```$", page, re.S | re.M)
    assert found is not None, "docs/serving.md has no <!-- test: serve-client --> block"
    return found.group(1)


def test_the_modelplug_client_example_streams_from_a_served_model(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code = example()
    assert URL in code
    name = re.search(r'load_model\("openai:([^"]+)"', code)
    assert name is not None, "the example loads no openai: model"
    answer = {"content": "Paris is the capital.", "usage": {"prompt_tokens": 7, "completion_tokens": 5}}
    base = serve({name.group(1): replay([answer])})
    namespace: dict[str, Any] = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code.replace(URL, f"{base}/v1"), str(PAGE), "exec"), namespace)
    namespace["model"].close()
    text, _, usage = printed.getvalue().partition("Usage(")
    assert text == "Paris is the capital.\n"  # the streamed line is ended before the usage
    assert usage.endswith(")\n")
    assert "prompt_tokens=7, completion_tokens=5" in usage
