"""Finding and loading a causal language model: the embedded one, a folder, a GGUF file or a hub id.

``transformers:<model id>`` is tried as ``default``, a ``.gguf`` file, a checkpoint folder, then a
Hugging Face Hub id (the local cache first; downloaded unless ``HF_HUB_OFFLINE`` is set). Only this
module and :mod:`modelplug_transformers.generation` import torch and transformers, when called.

Details: docs/providers/transformers.md, "How a model id is read".
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from modelplug.errors import InvalidOptionError, ModelLoadError
from modelplug_transformers.decoding import skipped_token_ids
from modelplug_transformers.progress import quiet_transformers, status
from modelplug_transformers.templates import TemplateInfo, inspect_template

__all__ = ["DTYPES", "LoadedModel", "Source", "load_model", "resolve_source"]

#: Names accepted by the ``dtype`` option, and the torch dtype attribute each stands for.
DTYPES: Final = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "auto": "auto",
}
#: Seconds to wait for the hub before calling it unreachable.
HUB_TIMEOUT_S: Final = 10.0
_PROVIDER: Final = "transformers"


@attrs.frozen
class Source:
    """Where the weights come from. ``kind`` is ``"embedded"``, ``"folder"``, ``"gguf"`` or ``"hub"``;
    ``location`` is a folder path or a hub id; ``gguf_file`` names the GGUF file inside it, if any."""

    kind: str
    location: str
    gguf_file: str | None = None


@attrs.define
class LoadedModel:
    """What ``load`` keeps for one model: the torch module, its tokenizer and what was learnt about them.

    Attributes:
        model: the ``PreTrainedModel`` (``None`` once unloaded).
        tokenizer: its tokenizer.
        source: where it came from.
        device: the torch device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
        context_length: the model's maximum positions, in tokens, when the config says.
        eos_token_ids: token ids that end a generation.
        skipped_token_ids: ids the decoder leaves out of the text: every special token but the
            markers the tool-call parser reads for the model's format
            (:func:`~modelplug_transformers.decoding.skipped_token_ids`), worked out once here.
        template: what the chat template can do (:class:`~modelplug_transformers.templates.TemplateInfo`).
        defaults: generation defaults from the model options (``max_tokens``, ``temperature``, ...).
        tool_call_format: the ``tool_call_format`` option, when given.
        load_s: seconds the load took (conversion included).
    """

    model: Any
    tokenizer: Any
    source: Source
    device: str
    context_length: int | None
    eos_token_ids: frozenset[int]
    template: TemplateInfo
    defaults: Mapping[str, Any] = attrs.field(factory=dict)
    skipped_token_ids: frozenset[int] | None = None
    tool_call_format: str | None = None
    load_s: float = 0.0


def _looks_like_path(model_id: str) -> bool:
    return model_id.startswith(("/", "./", "../", "~", ".\\")) or model_id.endswith(".gguf") or os.path.isabs(model_id)


def resolve_source(model_id: str, gguf_file: str | None = None) -> Source:
    """Decide what ``model_id`` names (see the module docstring).

    Raises:
        ModelLoadError: a path that does not exist, or a folder with neither ``config.json`` nor a
            GGUF file.
    """
    if model_id == "default":
        return Source("embedded", "default")
    path = Path(model_id).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelLoadError(
                f"{model_id!r} is a file but not a .gguf file; give a model folder, a .gguf file or a hub id",
                provider=_PROVIDER,
            )
        return Source("gguf", str(path.parent), path.name)
    if path.is_dir():
        if gguf_file:
            if not (path / gguf_file).is_file():
                raise ModelLoadError(f"no GGUF file {gguf_file!r} in the folder {model_id!r}", provider=_PROVIDER)
            return Source("gguf", str(path), gguf_file)
        if (path / "config.json").is_file():
            return Source("folder", str(path))
        ggufs = sorted(p.name for p in path.glob("*.gguf"))
        if len(ggufs) == 1:
            return Source("gguf", str(path), ggufs[0])
        detail = f"; it holds several GGUF files, choose one with -o gguf_file=NAME: {ggufs}" if ggufs else ""
        raise ModelLoadError(
            f"the folder {model_id!r} holds no Transformers model (no config.json){detail}", provider=_PROVIDER
        )
    if _looks_like_path(model_id):
        raise ModelLoadError(f"no such file or folder: {model_id!r}", provider=_PROVIDER)
    return Source("hub", model_id, gguf_file)


def _torch_device(torch: Any, value: Any) -> str:
    if value is None or value == "":
        return "cpu"
    if not isinstance(value, str):
        raise InvalidOptionError(f"transformers option 'device' must be a string like 'cpu' or 'cuda', got {value!r}")
    name = value.strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as error:
        raise InvalidOptionError(f"transformers option 'device': {value!r} is not a torch device ({error})") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = f"torch {torch.__version__}" + (
                " has no CUDA support" if torch.version.cuda is None else " sees no GPU"
            )
            raise ModelLoadError(
                f"device={value!r} was asked for, but CUDA is not available ({build}); "
                "use device='cpu' (the default), or install a CUDA build of torch on a machine with a GPU",
                provider=_PROVIDER,
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ModelLoadError(f"device={value!r}: only {count} CUDA device(s) are visible", provider=_PROVIDER)
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ModelLoadError(f"device={value!r} was asked for, but MPS is not available here", provider=_PROVIDER)
    return str(device)


def _torch_dtype(torch: Any, value: Any, device: str) -> Any:
    if value is None or value == "":
        return torch.float32 if device == "cpu" else "auto"
    name = DTYPES.get(str(value).strip().lower()) if isinstance(value, str) else None
    if name is None:
        raise InvalidOptionError(f"transformers option 'dtype' must be one of {sorted(DTYPES)}, got {value!r}")
    return name if name == "auto" else getattr(torch, name)


def _hub_offline() -> bool:
    flags = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"))
    if any(flag and flag.strip().upper() in {"1", "ON", "YES", "TRUE"} for flag in flags):
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _hub_cached(repo_id: str, filename: str, revision: str | None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, filename, revision=revision)
    except ValueError as error:  # not a valid repo id
        raise ModelLoadError(
            f"{repo_id!r} is neither a local file or folder nor a valid Hugging Face Hub id ({error})",
            provider=_PROVIDER,
            original=error,
        ) from error
    return isinstance(found, str)


def _check_hub(repo_id: str, revision: str | None) -> None:
    """Fail fast and clearly when ``repo_id`` cannot be downloaded (offline, unreachable, unknown)."""
    if _hub_offline():
        raise ModelLoadError(
            f"{repo_id!r} is not a local file or folder, and it is not in the local Hugging Face cache; "
            "HF_HUB_OFFLINE is set, so it cannot be downloaded. Give a local folder or .gguf file, "
            "or unset HF_HUB_OFFLINE on a machine with network access",
            provider=_PROVIDER,
        )
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        HfApi().model_info(repo_id, revision=revision, timeout=HUB_TIMEOUT_S)
    except GatedRepoError as error:
        raise ModelLoadError(
            f"{repo_id!r} is gated on the Hugging Face Hub: accept its terms on the hub and log in (`hf auth login`)",
            provider=_PROVIDER,
            original=error,
        ) from error
    except RepositoryNotFoundError as error:
        raise ModelLoadError(
            f"{repo_id!r} is not a local file or folder, and the Hugging Face Hub has no model of that name "
            "(or it is private: log in with `hf auth login`)",
            provider=_PROVIDER,
            original=error,
        ) from error
    except RevisionNotFoundError as error:
        raise ModelLoadError(
            f"{repo_id!r} has no revision {revision!r} on the Hugging Face Hub", provider=_PROVIDER, original=error
        ) from error
    except Exception as error:
        raise ModelLoadError(
            f"{repo_id!r} is not a local file or folder and not in the local Hugging Face cache, and the hub "
            f"({constants.ENDPOINT}) cannot be reached to download it: no network? ({type(error).__name__}: {error}). "
            "Give a local folder or .gguf file, or download it first on a machine with network access",
            provider=_PROVIDER,
            original=error,
        ) from error


def load_model(model_id: str, options: Mapping[str, Any], defaults: Mapping[str, Any]) -> LoadedModel:
    """Load ``model_id`` with the model ``options`` (``device``, ``dtype``, ``gguf_file``, ``revision``,
    ``trust_remote_code``, ``progress``, ``tool_call_format``); ``defaults`` are the generation defaults.

    Raises:
        ModelLoadError: missing files or wheel, an unreachable hub, an unavailable device, or
            Transformers failing to load the model (the original exception is kept).
        InvalidOptionError: a bad ``device`` or ``dtype``.
    """
    import time

    started = time.perf_counter()
    progress = options.get("progress")
    show = None if progress is None else bool(progress)
    source = resolve_source(model_id, options.get("gguf_file"))
    revision = options.get("revision")
    import torch

    device = _torch_device(torch, options.get("device"))
    dtype = _torch_dtype(torch, options.get("dtype"), device)
    local_only = True
    if source.kind == "embedded":
        from modelplug_transformers.embedded import converted_model_dir

        source = Source("embedded", str(converted_model_dir(progress=None if progress is None else bool(progress))))
    with status(f"Loading transformers:{model_id}", show=show) as step:
        if source.kind == "hub":
            step("looking in the Hugging Face cache")
            if not _hub_cached(source.location, source.gguf_file or "config.json", revision):
                step("asking the Hugging Face Hub")
                _check_hub(source.location, revision)
                local_only = False
        step(f"reading {source.location}" + (f" ({source.gguf_file})" if source.gguf_file else ""))
        model, tokenizer = _from_pretrained(source, device, dtype, revision, local_only, options)
    config = model.config
    context = getattr(config, "max_position_embeddings", None)
    eos_ids = _eos_ids(model, tokenizer)
    template = inspect_template(tokenizer)
    tool_call_format = options.get("tool_call_format") or None
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        source=source,
        device=device,
        context_length=context if isinstance(context, int) and context > 0 else None,
        eos_token_ids=eos_ids,
        template=template,
        defaults=dict(defaults),
        # the special tokens the parser reads for the model's format stay in the text
        skipped_token_ids=skipped_token_ids(tokenizer, eos_ids, tool_call_format or template.tool_call_format),
        tool_call_format=tool_call_format,
        load_s=time.perf_counter() - started,
    )


def _from_pretrained(
    source: Source, device: str, dtype: Any, revision: str | None, local_only: bool, options: Mapping[str, Any]
) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"local_files_only": local_only}
    if source.gguf_file:
        kwargs["gguf_file"] = source.gguf_file
    if revision:
        kwargs["revision"] = revision
    if options.get("trust_remote_code"):
        kwargs["trust_remote_code"] = True
    quiet = quiet_transformers() if local_only else contextlib.nullcontext()  # downloads keep their bars
    try:
        with quiet:
            tokenizer: Any = AutoTokenizer.from_pretrained(source.location, **kwargs)
            model: Any = AutoModelForCausalLM.from_pretrained(source.location, dtype=dtype, **kwargs)
    except Exception as error:
        raise ModelLoadError(
            f"Transformers could not load {source.location!r}"
            + (f" ({source.gguf_file})" if source.gguf_file else "")
            + f": {type(error).__name__}: {error}",
            provider=_PROVIDER,
            original=error,
        ) from error
    try:
        model.to(device)
    except Exception as error:
        raise ModelLoadError(
            f"could not move {source.location!r} to {device}: {type(error).__name__}: {error}",
            provider=_PROVIDER,
            original=error,
        ) from error
    model.eval()
    return model, tokenizer


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    ids: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(v for v in value if isinstance(v, int))
    return frozenset(ids)
