"""Hook implementations of the ``transformers`` provider.

torch and transformers are imported by ``load`` (and the modules it uses), never at import time,
so listing plugins stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, Final

import modelplug
from modelplug.errors import InvalidOptionError, ModelplugError, ProviderError
from modelplug.reserved import ReservedOptions
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions

__all__ = ["MODEL_OPTIONS", "capabilities", "generate", "generate_stream", "load", "option_types", "unload"]

_PROVIDER: Final = "transformers"

#: The model options ``load`` takes, and their types (for ``modelplug run -o key=value``).
MODEL_OPTIONS: Final[Mapping[str, type]] = {
    "device": str,
    "dtype": str,
    "tool_call_format": str,
    "progress": bool,
    "gguf_file": str,
    "revision": str,
    "trust_remote_code": bool,
    # generation defaults, used when a call does not give them
    "max_tokens": int,
    "temperature": float,
    "top_p": float,
    "top_k": int,
    "repetition_penalty": float,
}
_GENERATION_DEFAULTS: Final = frozenset({"max_tokens", "temperature", "top_p", "top_k", "repetition_penalty"})


@modelplug.hookimpl
def load(model_id: str, options: Mapping[str, Any], reserved: ReservedOptions) -> Any:
    """Load the model (see :mod:`modelplug_transformers.loading` for what ``model_id`` may name).

    Raises:
        InvalidOptionError: an unknown model option, or a bad ``device`` / ``dtype``.
        ModelLoadError: missing files or wheel (with the install command), an unreachable hub,
            CUDA asked for but absent, or Transformers failing to load.
    """
    unknown = sorted(set(options) - set(MODEL_OPTIONS))
    if unknown:
        raise InvalidOptionError(
            f"unknown transformers model option(s) {unknown}; known: {', '.join(sorted(MODEL_OPTIONS))}"
        )
    defaults = {k: v for k, v in options.items() if k in _GENERATION_DEFAULTS and v is not None}
    _check_defaults(defaults)
    from modelplug_transformers.loading import load_model

    # tool_call_format is the core's (reserved): it never arrives in options
    return load_model(model_id, {**options, "tool_call_format": reserved.tool_call_format}, defaults)


def _check_defaults(defaults: Mapping[str, Any]) -> None:
    """Check the generation defaults before the (slow) load, with the rules of the call options.

    Raises:
        InvalidOptionError: ``max_tokens`` or ``top_k`` is not a positive int, ``temperature`` or
            ``top_p`` is out of range, ``repetition_penalty`` is not a number > 0.
    """
    standard = {k: v for k, v in defaults.items() if k in ("max_tokens", "temperature", "top_p")}
    try:
        GenerationOptions(**standard)
    except (TypeError, ValueError) as error:
        raise InvalidOptionError(f"transformers model option: {error}") from error
    top_k = defaults.get("top_k")
    if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k <= 0):
        raise InvalidOptionError(f"transformers model option 'top_k' must be a positive int, got {top_k!r}")
    penalty = defaults.get("repetition_penalty")
    if penalty is not None and (
        not isinstance(penalty, (int, float)) or isinstance(penalty, bool) or not 0 < penalty < math.inf
    ):
        raise InvalidOptionError(
            f"transformers model option 'repetition_penalty' must be a number > 0, got {penalty!r}"
        )


@modelplug.hookimpl
def capabilities(state: Any) -> Capabilities:
    """Streaming, usage in the stream, stop sequences, tool calls written as text, and
    grammar-constrained decoding (``response_format``; forced tool calls in the formats of
    :data:`~modelplug_transformers.constrained.FORCED_FORMATS`).

    The tool-call format is the ``tool_call_format`` option, else the one detected from the chat
    template, else ``"hermes"`` for templates that ignore tools (the system-prompt fallback asks for it).
    """
    from modelplug_transformers.constrained import FORCED_FORMATS

    fmt = _format(state)
    return Capabilities(
        streaming=True,
        tool_calling="text",
        tool_call_format=fmt,
        usage_in_stream=True,
        stop_sequences=True,
        structured_output=True,
        forced_tool_choice=(fmt or "hermes") in FORCED_FORMATS,
    )


@modelplug.hookimpl
def list_models() -> list[str]:
    """``default``: the embedded SmolLM2-135M-Instruct (any other id is a Hugging Face model id or a local folder)."""
    return ["default"]


@modelplug.hookimpl
def option_types() -> Mapping[str, type]:
    """The model options and their types: :data:`MODEL_OPTIONS`."""
    return dict(MODEL_OPTIONS)


def _prepare(
    state: Any, messages: list[ChatMessage], options: GenerationOptions
) -> tuple[list[int], Any, Any, str]:
    """The prompt's ids, the ``GenerationConfig``, the grammar constraint (or ``None``) of one call,
    and the reasoning-span opener the prompt ends in (``""`` if none; see
    :func:`modelplug_transformers.templates.open_reasoning_span`)."""
    from modelplug_transformers.constrained import constraint_for
    from modelplug_transformers.generation import generation_config
    from modelplug_transformers.templates import open_reasoning_span, render_messages

    if state.model is None:
        raise ProviderError("the model was unloaded", provider=_PROVIDER)
    prompt = render_messages(state.tokenizer, state.template, messages, options.tools, options.tool_choice)
    config = generation_config(state, options, len(prompt))
    opening = open_reasoning_span(state.tokenizer, prompt, _format(state))
    return prompt, config, constraint_for(state, options, _format(state), len(prompt)), opening


def _format(state: Any) -> str | None:
    return state.tool_call_format or state.template.tool_call_format


@modelplug.hookimpl
def generate(state: Any, messages: list[ChatMessage], options: GenerationOptions) -> ChatMessage:
    """Generate the whole answer in the calling thread (same code path and text as the stream).

    When the chat template ends the prompt inside a reasoning span (``<think>``, as Qwen3's and
    DeepSeek-R1's do), the answer starts with that opener, so that the text the core's tool-call
    parser reads opens the span the model closes (its reasoning goes to ``reasoning_content``).
    """
    from modelplug_transformers.generation import run

    prompt, config, constraint, opening = _prepare(state, messages, options)
    pieces: list[str] = [opening] if opening else []
    try:
        outcome = run(state, prompt, config, options.stop, pieces.append, seed=options.seed, constraint=constraint)
    except ModelplugError:
        raise
    except Exception as error:
        raise ProviderError(
            f"generation failed: {type(error).__name__}: {error}", provider=_PROVIDER, original=error
        ) from error
    return ChatMessage(
        role="assistant", content="".join(pieces), usage=outcome.usage, finish_reason=outcome.finish_reason
    )


@modelplug.hookimpl
def generate_stream(
    state: Any, messages: list[ChatMessage], options: GenerationOptions
) -> Iterator[ChatMessageStreamDelta]:
    """Stream the answer from a worker thread (started on the first ``next()``, joined on close).

    The prompt is rendered here, so template and option errors raise before any thread starts.
    A reasoning span the prompt leaves open comes first, as in :func:`generate`.
    """
    from modelplug_transformers.generation import stream

    prompt, config, constraint, opening = _prepare(state, messages, options)
    return stream(state, prompt, config, options.stop, seed=options.seed, constraint=constraint, opening=opening)


@modelplug.hookimpl
def unload(state: Any) -> None:
    """Drop the model and tokenizer; free the GPU's cached memory when the model was on one."""
    from modelplug_transformers.constrained import forget

    device = getattr(state, "device", "cpu")
    forget(state)
    state.model = None
    state.tokenizer = None
    if str(device).startswith("cuda"):
        import gc

        import torch

        gc.collect()
        torch.cuda.empty_cache()
