"""Hook implementations of the ``example`` provider, in the usual order: load, capabilities,
option_types, generate_stream, agenerate_stream, unload. ``generate`` is left to the core, which aggregates the stream.

The ``# --8<--`` comments mark the sections that docs/writing-a-plugin.md shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import modelplug
from modelplug.errors import InvalidOptionError, ModelLoadError
from modelplug.stops import StopFilter
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions, Usage
from modelplug_example.markov import MarkovChain, tokenize

__all__ = ["agenerate_stream", "capabilities", "generate_stream", "load", "option_types", "unload"]

#: ``max_tokens`` when the request gives none (a greedy chain can loop forever).
DEFAULT_MAX_TOKENS = 200


# --8<-- [start:load]
@modelplug.hookimpl
def load(model_id: str, options: Mapping[str, Any]) -> MarkovChain:
    """Train the chain: ``example:default`` on the bundled text, ``example:<path>`` on a text file.

    Raises:
        InvalidOptionError: an unknown option (a typo must not pass silently), or ``order`` is not
            an int from 1 to 4.
        ModelLoadError: the text file is missing, unreadable or empty.
    """
    unknown = sorted(set(options) - {"order"})
    if unknown:
        raise InvalidOptionError(f"unknown example option(s) {unknown}; the only one is 'order'")
    order = options.get("order", 2)
    if not isinstance(order, int) or isinstance(order, bool) or not 1 <= order <= 4:
        raise InvalidOptionError(f"example option 'order' must be an int from 1 to 4, got {order!r}")
    if model_id == "default":
        path = Path(str(resources.files("modelplug_example") / "data" / "corpus.txt"))
    else:
        path = Path(model_id).expanduser()
    try:
        return MarkovChain(path, order)
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"cannot train on {model_id!r}: {error}", provider="example", original=error) from error


# --8<-- [end:load]


# --8<-- [start:capabilities]
@modelplug.hookimpl
def capabilities() -> Capabilities:
    """Streams token by token (sync and natively async), reports usage in the stream, honours stop
    sequences; no tools."""
    return Capabilities(streaming=True, async_streaming=True, usage_in_stream=True, stop_sequences=True)


# --8<-- [end:capabilities]


# --8<-- [start:option_types]
@modelplug.hookimpl
def option_types() -> Mapping[str, type]:
    """``order``: how many tokens of context the chain uses (1 to 4, default 2)."""
    return {"order": int}


# --8<-- [end:option_types]


# --8<-- [start:generate_stream]
def _prompt(messages: list[ChatMessage]) -> str:
    return "\n".join(f"{m.role}: {m.text}" for m in messages)


@modelplug.hookimpl
def generate_stream(
    state: MarkovChain, messages: list[ChatMessage], options: GenerationOptions
) -> Iterator[ChatMessageStreamDelta]:
    """Yield one delta per token, then a last delta with the finish reason and the usage.

    ``temperature`` 0 is greedy (the default is 1); ``seed`` makes sampling repeatable.
    ``completion_tokens`` counts every token generated, including those cut by a stop sequence.
    """
    prompt = _prompt(messages)
    temperature = 1.0 if options.temperature is None else options.temperature
    limit = options.max_tokens or DEFAULT_MAX_TOKENS
    return _stream(state, prompt, temperature, options.seed, limit, options.stop)


def _stream(
    chain: MarkovChain, prompt: str, temperature: float, seed: int | None, limit: int, stop: tuple[str, ...]
) -> Iterator[ChatMessageStreamDelta]:
    cutter = StopFilter(stop)
    finish_reason = "stop"
    generated = 0
    for token in chain.generate(prompt, temperature, seed):
        if generated == limit:
            finish_reason = "length"
            break
        generated += 1
        text = cutter.feed(token.lstrip() if generated == 1 else token)
        if text:
            yield ChatMessageStreamDelta(content=text)
        if cutter.stopped:
            break
    rest = cutter.flush()
    if rest:
        yield ChatMessageStreamDelta(content=rest)
    usage = Usage(prompt_tokens=len(tokenize(prompt)), completion_tokens=generated)
    yield ChatMessageStreamDelta(finish_reason=finish_reason, usage=usage)


# --8<-- [end:generate_stream]


# --8<-- [start:agenerate_stream]
@modelplug.hookimpl
def agenerate_stream(
    state: MarkovChain, messages: list[ChatMessage], options: GenerationOptions
) -> AsyncIterator[ChatMessageStreamDelta]:
    """The same deltas as ``generate_stream``, for async callers: the chain is fast, plain Python, so
    this runs it on the event loop and lets other tasks run after every token."""
    prompt = _prompt(messages)
    temperature = 1.0 if options.temperature is None else options.temperature
    limit = options.max_tokens or DEFAULT_MAX_TOKENS
    return _astream(_stream(state, prompt, temperature, options.seed, limit, options.stop))


async def _astream(deltas: Iterator[ChatMessageStreamDelta]) -> AsyncIterator[ChatMessageStreamDelta]:
    import anyio

    try:
        for delta in deltas:
            yield delta
            await anyio.lowlevel.checkpoint()  # never hold the loop for a whole answer
    finally:  # closed early (aclose, cancellation): stop the chain too
        close = getattr(deltas, "close", None)
        if close is not None:
            close()


# --8<-- [end:agenerate_stream]


# --8<-- [start:unload]
@modelplug.hookimpl
def unload(state: MarkovChain) -> None:
    """Nothing to release: the chain is plain Python data, freed with the model."""


# --8<-- [end:unload]
