"""``import modelplug`` stays light: no backend, no logging or display library."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "torch",
    "transformers",
    "litellm",
    "vllm",
    "huggingface_hub",
    "openai",
    "httpx",
    "structlog",
    "rich",
    "click",
    "cattrs",
    # modelplug serve (the serve and ray extras)
    "starlette",
    "uvicorn",
    "sse_starlette",
    "ray",
)


def _modules_after(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_import_modelplug_imports_no_heavy_module() -> None:
    assert not _modules_after("import modelplug") & set(HEAVY)


def test_listing_plugins_imports_no_backend() -> None:
    loaded = _modules_after("import modelplug; modelplug.list_providers()")
    assert not loaded & {"torch", "transformers", "litellm", "vllm", "huggingface_hub", "openai"}


def test_public_functions_are_not_shadowed_by_submodules() -> None:
    code = (
        "import modelplug._model, modelplug._stream, modelplug._plugins, modelplug.tools, modelplug;"
        "import inspect;"
        "bad = [n for n in modelplug.__all__ if inspect.ismodule(getattr(modelplug, n))];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
