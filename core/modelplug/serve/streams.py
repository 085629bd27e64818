"""The one place the server gets a model's deltas: :func:`open_stream`, over :meth:`modelplug.Model.astream`.

A provider's native ``agenerate_stream`` runs on the server's loop; a sync-only provider's
``generate_stream`` runs in the core's worker thread (:mod:`modelplug._bridges`), which hands deltas to
the loop in batches (the loop is woken only when it waits). Closing the stream (``aclose()``, also
when the request is cancelled) stops the backend: see ``docs/async.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from modelplug._model import Model
    from modelplug.types import ChatMessage, ChatMessageStreamDelta, Usage

__all__ = ["ServedStream", "open_stream"]


class ServedStream(Protocol):
    """What the server needs of a stream: async iteration over deltas, the aggregate, ``aclose``
    (an :class:`~modelplug._astream.AsyncChatStream`)."""

    def __aiter__(self) -> ServedStream: ...

    async def __anext__(self) -> ChatMessageStreamDelta: ...

    @property
    def message(self) -> ChatMessage: ...

    @property
    def usage(self) -> Usage | None: ...

    async def aclose(self) -> None: ...


async def open_stream(model: Model, messages: Sequence[ChatMessage], options: Mapping[str, Any]) -> ServedStream:
    """Start streaming ``model``'s answer to ``messages`` with keyword ``options`` (as for
    :meth:`modelplug.Model.astream`, with the one-delta fallback allowed for providers that do not
    stream).

    Raises:
        InvalidOptionError, CapabilityError: bad options (here); the provider's errors
            (``ProviderError``) are raised by the first ``__anext__``.
    """
    return model.astream(list(messages), allow_fallback=True, **options)
