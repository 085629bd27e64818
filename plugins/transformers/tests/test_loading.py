"""Loading: what a model id names, options, devices, and hub ids without network (fast: no model)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import modelplug
from modelplug.errors import InvalidOptionError, ModelLoadError
from modelplug_transformers.loading import Source, resolve_source


def test_resolve_source(tmp_path: Path) -> None:
    assert resolve_source("default") == Source("embedded", "default")
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    assert resolve_source(str(checkpoint)) == Source("folder", str(checkpoint))
    gguf = tmp_path / "weights" / "model.Q4.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF")
    assert resolve_source(str(gguf)) == Source("gguf", str(gguf.parent), "model.Q4.gguf")
    assert resolve_source(str(gguf.parent)) == Source("gguf", str(gguf.parent), "model.Q4.gguf")
    assert resolve_source("HuggingFaceTB/SmolLM2-135M-Instruct") == Source("hub", "HuggingFaceTB/SmolLM2-135M-Instruct")


def test_resolve_source_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no such file or folder"):
        resolve_source(str(tmp_path / "missing"))
    with pytest.raises(ModelLoadError, match="no such file or folder"):
        resolve_source("./missing-model.gguf")
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        resolve_source(str(tmp_path))
    (tmp_path / "a.gguf").write_bytes(b"")
    (tmp_path / "b.gguf").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="gguf_file"):
        resolve_source(str(tmp_path))
    assert resolve_source(str(tmp_path), "b.gguf") == Source("gguf", str(tmp_path), "b.gguf")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ModelLoadError, match=r"not a \.gguf file"):
        resolve_source(str(tmp_path / "notes.txt"))


def test_unknown_model_option() -> None:
    with pytest.raises(InvalidOptionError, match="devcie"):
        modelplug.load_model("transformers:default", devcie="cpu")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_tokens": -1}, "max_tokens"),
        ({"temperature": -0.5}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": 0}, "top_k"),
        ({"repetition_penalty": float("nan")}, "repetition_penalty"),
    ],
)
def test_bad_generation_defaults_fail_before_the_model_loads(options: dict[str, object], match: str) -> None:
    # max_tokens=-1 loaded the whole model, then every generate() failed with max_new_tokens' message.
    with pytest.raises(InvalidOptionError, match=match):
        modelplug.load_model("transformers:default", **options)


def test_bad_device_and_dtype() -> None:
    with pytest.raises(InvalidOptionError, match="device"):
        modelplug.load_model("transformers:default", device="quantum")
    with pytest.raises(InvalidOptionError, match="dtype"):
        modelplug.load_model("transformers:default", dtype="int3")


def test_cuda_without_cuda_is_a_clear_error() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ModelLoadError, match=r"device='cuda'.*CUDA is not available"):
        modelplug.load_model("transformers:default", device="cuda")


def test_hub_id_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as caught:
        modelplug.load_model("transformers:modelplug-tests/not-a-real-model")
    message = str(caught.value)
    assert "HF_HUB_OFFLINE" in message and "not in the local Hugging Face cache" in message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_hub_id_without_network_fails_fast(tmp_path: Path) -> None:
    """No HF_HUB_OFFLINE, but the hub cannot be reached: an error saying so, not a hang (the timeout only guards)."""
    env = {k: v for k, v in os.environ.items() if k not in {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"}}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", HF_HOME=str(tmp_path / "hf"))
    code = (
        "import modelplug\n"
        "try:\n"
        "    modelplug.load_model('transformers:modelplug-tests/not-a-real-model')\n"
        "except modelplug.ModelLoadError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "cannot be reached" in out.stdout and "no network" in out.stdout, out.stderr


def test_package_import_is_lazy() -> None:
    code = (
        "import sys, modelplug, modelplug_transformers\n"
        "info = {p.name: p for p in modelplug.list_providers()}['transformers']\n"
        "from modelplug._provider import Provider\n"
        "Provider.get('transformers').option_types('default')\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_option_types() -> None:
    from modelplug_transformers import option_types

    types = option_types()
    assert types["device"] is str and types["progress"] is bool and types["max_tokens"] is int
    assert types["temperature"] is float


@pytest.mark.gpu
@pytest.mark.slow
def test_cuda_when_present() -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    with modelplug.load_model("transformers:default", device="cuda") as model:
        assert model.state.device == "cuda"
        assert next(model.state.model.parameters()).is_cuda
        with model.stream("What is the capital of France?") as stream:
            text = "".join(delta.content or "" for delta in stream)
        assert "Paris" in text and stream.message.usage.completion_tokens > 0


@pytest.mark.slow
def test_tool_call_format_reaches_the_loaded_model() -> None:
    # The core takes tool_call_format out of the options before load (a reserved option); the
    # provider reads it from `reserved`, so the constrained decoder writes calls in that format.
    with modelplug.load_model("transformers:default", tool_call_format="llama3_json") as model:
        assert model.state.tool_call_format == "llama3_json"
        assert model.capabilities.tool_call_format == "llama3_json"
