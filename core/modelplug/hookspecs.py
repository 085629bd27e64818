"""Hook specifications: the contract between modelplug and a provider plugin.

A provider is a module (or object) with functions marked ``@modelplug.hookimpl`` and named after
the hooks below, found through the ``modelplug`` entry-point group under its provider name. The
core calls them only through :class:`modelplug._provider.Provider`, for one provider at a time.
``docs/hooks.md`` is the reference (how hooks are called, the shared arguments, each hook); a test
checks it stays in sync.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from modelplug.reserved import ReservedOptions
    from modelplug.toolcalls import ParseResult
    from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions, Tool

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

#: The pluggy project name, also the entry-point group.
PROJECT_NAME = "modelplug"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec(firstresult=True)
def load(model_id: str, options: Mapping[str, Any], reserved: ReservedOptions) -> Any:
    """Prepare ``model_id`` with the model ``options`` and return the provider's state for it.

    Called once by :func:`modelplug.load_model`. Load weights, build a client, check that files
    exist here; raise :class:`~modelplug.errors.ModelLoadError` (or another ``ProviderError``) with
    a clear message when that fails. Optional: without it, ``state`` is a dict of ``options``.

    ``options`` never holds the core's reserved options (``tool_call_format``, ``capabilities``,
    ``price``, ``max_retries``, ``retry_backoff``, ``retry_max_wait``): the core checks them first.
    A provider that needs their values names ``reserved``, a
    :class:`~modelplug.reserved.ReservedOptions` (``reserved.retry``, ``reserved.apply(declared)``).
    """


@hookspec(firstresult=True)
def capabilities(model_id: str, state: Any) -> Capabilities:
    """Declare what the provider can do for this model: a :class:`~modelplug.types.Capabilities`.

    Required. Declarations must be true: streaming is never guessed from the other hooks, and the
    conformance kit checks each declaration.
    """


@hookspec(firstresult=True)
def option_types(model_id: str) -> Mapping[str, type]:
    """Declare the model options the provider takes and their types, e.g. ``{"device": str}``.

    Optional. The command line uses it to convert ``-o key=value`` (``int``, ``float``, ``bool``,
    ``str``) and to say which options exist; :func:`modelplug.load_model` checks that a string,
    number, bool, list or dict given for a declared option has the declared type.
    """


@hookspec(firstresult=True)
def list_models(options: Mapping[str, Any]) -> Sequence[str]:
    """Return the model ids the provider can serve now (the part after ``provider:``).

    Optional. ``modelplug models`` lists them under the provider. ``options`` are model options
    (as for ``load``: ``api_base``, ``api_key``...), empty when none are given; a provider that
    needs a server to answer may ask it, and raise a modelplug error when it cannot.
    """


@hookspec(firstresult=True)
def generate(model_id: str, state: Any, messages: list[ChatMessage], options: GenerationOptions) -> ChatMessage:
    """Generate one complete answer and return it as an assistant :class:`~modelplug.types.ChatMessage`
    (with ``usage`` and ``finish_reason`` when the backend gives them).

    Optional when ``generate_stream`` exists: the core then aggregates the stream.
    Raise a :class:`~modelplug.errors.ProviderError` subclass on failure, keeping the original.
    """


@hookspec(firstresult=True)
def generate_stream(
    model_id: str, state: Any, messages: list[ChatMessage], options: GenerationOptions
) -> Iterator[ChatMessageStreamDelta]:
    """Return an iterator (usually a generator) of :class:`~modelplug.types.ChatMessageStreamDelta`.

    Deltas must be yielded as the backend produces them. Report usage once, or as cumulative
    snapshots (never as increments to be summed). When the consumer stops early the core closes the
    iterator (``close()`` on a generator): stop the backend then, in a ``finally`` block (end the
    generation thread, close the HTTP response, abort the request).
    Only called when ``capabilities`` declares ``streaming=True``.
    """


@hookspec(firstresult=True)
def agenerate_stream(
    model_id: str, state: Any, messages: list[ChatMessage], options: GenerationOptions
) -> AsyncIterator[ChatMessageStreamDelta]:
    """Return an async iterator (usually an ``async def`` generator) of
    :class:`~modelplug.types.ChatMessageStreamDelta`: the native async path of ``generate_stream``.

    The hook itself is called, not awaited: an ``async def`` generator function returns its async
    generator at once. Same rules as ``generate_stream`` (deltas as produced, usage once or as
    cumulative snapshots). When the consumer stops early or is cancelled the core calls
    ``aclose()``: stop the backend then, in a ``finally`` block (close the response, abort the
    request). Never block the event loop. Only called when ``capabilities`` declares
    ``async_streaming=True``; without it the core runs ``generate_stream`` in a worker thread.
    """


@hookspec(firstresult=True)
def parse_tool_calls(
    model_id: str, state: Any, text: str, tools: Sequence[Tool], format: str | None
) -> ParseResult | None:
    """Read tool calls written as text by the model; return a
    :class:`~modelplug.toolcalls.ParseResult` (``content`` and ``tool_calls``), or ``None`` to let
    the core's implementation (tried last, every common open-model format) do it.

    ``format`` is the format name asked for (model option ``tool_call_format``), or ``None`` to
    detect it. Raise :class:`~modelplug.errors.ToolCallParseError` for a call that cannot be read.
    """


@hookspec
def unload(model_id: str, state: Any) -> None:
    """Release what ``load`` acquired for this model: engines, threads, GPU memory, connections.

    Called by :meth:`modelplug.Model.close`. Optional.
    """
