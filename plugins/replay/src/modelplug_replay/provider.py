"""Hook implementations of the ``replay`` provider."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Final

import attrs

import modelplug
from modelplug.errors import InvalidOptionError, ProviderError
from modelplug.types import Capabilities, ChatMessageStreamDelta
from modelplug.wire import delta_from_chunk, no_choices_error
from modelplug_replay.script import Script, load_script

__all__ = ["ReplayState", "agenerate_stream", "capabilities", "generate_stream", "load", "option_types"]

_DEFAULT_CAPABILITIES = Capabilities(
    streaming=True,
    async_streaming=True,
    tool_calling="native",
    streamed_tool_calls=True,
    usage_in_stream=True,
    stop_sequences=False,
    reasoning=True,
)


#: The model options replay takes (the core takes ``capabilities`` and ``tool_call_format`` out before ``load``).
_OPTIONS: Final = frozenset({"responses", "delay", "case", "loop"})


@attrs.define
class ReplayState:
    """What ``load`` keeps for one replay model."""

    script: Script
    delay: float
    capabilities: Capabilities


@modelplug.hookimpl
def load(model_id: str, options: Mapping[str, Any]) -> ReplayState:
    """Read the script; check the option names and ``delay`` (seconds, ≥ 0).

    Raises:
        InvalidOptionError: an unknown option, a bad ``delay``, a malformed response.
        ModelLoadError: the script file is missing, unreadable or malformed.
    """
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise InvalidOptionError(f"unknown replay option(s) {unknown}; known: {', '.join(sorted(_OPTIONS))}")
    delay = options.get("delay", 0.0)
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay < math.inf:
        raise InvalidOptionError(f"replay option 'delay' must be a finite number of seconds ≥ 0, got {delay!r}")
    return ReplayState(load_script(model_id, options), float(delay), _DEFAULT_CAPABILITIES)


@modelplug.hookimpl
def capabilities(state: ReplayState) -> Capabilities:
    """Streaming and native tool calls (the core applies the ``capabilities`` model option on top)."""
    return state.capabilities


@modelplug.hookimpl
def option_types() -> Mapping[str, type]:
    """Every model option: ``responses`` (list, JSON on the command line), ``delay`` (float seconds),
    ``case`` (str), ``loop`` (bool), ``capabilities`` (dict of field overrides), ``tool_call_format``
    (str, read by the core)."""
    return {
        "responses": list,
        "delay": float,
        "case": str,
        "loop": bool,
        "capabilities": dict,
        "tool_call_format": str,
    }


@modelplug.hookimpl
def generate_stream(model_id: str, state: ReplayState) -> Iterator[ChatMessageStreamDelta]:
    """Play the next scripted response, one delta per chunk, ``delay`` seconds apart."""
    return _play(_next_response(model_id, state), state.delay)


@modelplug.hookimpl
def agenerate_stream(model_id: str, state: ReplayState) -> AsyncIterator[ChatMessageStreamDelta]:
    """The same as ``generate_stream``, natively async: the delay is an ``anyio.sleep`` (without one,
    the loop still runs other tasks between chunks)."""
    return _aplay(_next_response(model_id, state), state.delay)


def _next_response(model_id: str, state: ReplayState) -> list[Mapping[str, Any]]:
    chunks = state.script.next_response()
    if chunks is None:
        raise ProviderError(
            f"replay script {model_id!r} is exhausted after {len(state.script.responses)} response(s); "
            "pass loop=True to start again",
            provider="replay",
        )
    return chunks


def _play(chunks: list[Mapping[str, Any]], delay: float) -> Iterator[ChatMessageStreamDelta]:
    for number, delta in enumerate(_deltas(chunks)):
        if delay and number:
            time.sleep(delay)
        if delta is not None:
            yield delta


async def _aplay(chunks: list[Mapping[str, Any]], delay: float) -> AsyncIterator[ChatMessageStreamDelta]:
    import anyio

    for number, delta in enumerate(_deltas(chunks)):
        if delay and number:
            await anyio.sleep(delay)
        elif number:
            await anyio.lowlevel.checkpoint()
        if delta is not None:
            yield delta


def _deltas(chunks: list[Mapping[str, Any]]) -> Iterator[ChatMessageStreamDelta | None]:
    """One item per chunk: its delta, or ``None`` for a chunk without one (the delay still counts it).

    Raises:
        ProviderError: no chunk had a choice (the no-choices error, as a real server's stream gives).
    """
    any_choice = False
    model = None
    for chunk in chunks:
        if not any_choice:
            any_choice = bool(chunk.get("choices"))
            model = model or chunk.get("model")
        yield delta_from_chunk(chunk)
    if not any_choice:
        raise no_choices_error(model if isinstance(model, str) else None, provider="replay")
