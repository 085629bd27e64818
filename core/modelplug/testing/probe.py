"""A hook-wrapper plugin that watches a provider from the outside while the kit runs.

:class:`CallProbe` is registered in modelplug's plugin manager next to the providers. It wraps the
``generate``, ``generate_stream`` and ``agenerate_stream`` hooks of every provider (pluggy wrappers
are cross-cutting, so dispatch still runs only the provider under test), records each call, and
wraps the iterator that ``generate_stream`` returns in a :class:`StreamProbe` (``agenerate_stream``:
an :class:`AsyncStreamProbe`). That lets the kit tell, without knowing the
provider, whether the provider was called at all, whether its stream ran to the end, and whether
closing the stream really closed the provider's generator.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any, Final

from modelplug import _plugins as plugins
from modelplug.hookspecs import hookimpl
from modelplug.types import ChatMessage, ChatMessageStreamDelta

__all__ = ["AsyncStreamProbe", "CallProbe", "StreamProbe"]

_PLUGIN_PREFIX: Final = "modelplug.testing.probe"


class StreamProbe:
    """Wraps the iterator a provider's ``generate_stream`` returned.

    Attributes:
        inner: the provider's object, unchanged (usually a generator).
        deltas: how many deltas the provider yielded.
        exhausted: the provider's iterator ran to its end.
        close_called: the core called :meth:`close`.
        close_error: what the provider's ``close()`` raised, if anything (a generator that yields
            again after ``close()`` raises ``RuntimeError: generator ignored GeneratorExit``).
    """

    __slots__ = ("_iterator", "close_called", "close_error", "deltas", "exhausted", "inner")

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._iterator: Iterator[ChatMessageStreamDelta] = iter(inner)
        self.deltas = 0
        self.exhausted = False
        self.close_called = False
        self.close_error: BaseException | None = None

    def __iter__(self) -> StreamProbe:
        return self

    def __next__(self) -> ChatMessageStreamDelta:
        try:
            delta = next(self._iterator)
        except StopIteration:
            self.exhausted = True
            raise
        self.deltas += 1
        return delta

    @property
    def closeable(self) -> bool:
        """The provider returned something the core can stop: a generator or an iterator with ``close()``."""
        return callable(getattr(self.inner, "close", None))

    @property
    def is_generator(self) -> bool:
        """The provider returned a generator (its state can be inspected)."""
        return inspect.isgenerator(self.inner)

    @property
    def generator_state(self) -> str | None:
        """``inspect.getgeneratorstate`` of the provider's generator (``"GEN_CLOSED"`` once it has
        ended), or ``None`` when the provider did not return a generator."""
        if not inspect.isgenerator(self.inner):
            return None
        return inspect.getgeneratorstate(self.inner)

    def close(self) -> None:
        """Close the provider's iterator (what the core does when the consumer stops early)."""
        self.close_called = True
        close = getattr(self.inner, "close", None)
        if not callable(close):
            return
        try:
            close()
        except BaseException as error:
            self.close_error = error
            raise


class AsyncStreamProbe:
    """Wraps the async iterator a provider's ``agenerate_stream`` returned.

    Attributes:
        inner: the provider's object, unchanged (usually an async generator).
        deltas: how many deltas the provider yielded.
        exhausted: the provider's iterator ran to its end.
        aclose_called: the core called :meth:`aclose`.
        close_error: what the provider's ``aclose()`` raised, if anything.
    """

    __slots__ = ("aclose_called", "close_error", "deltas", "exhausted", "inner")

    def __init__(self, inner: AsyncIterator[ChatMessageStreamDelta]) -> None:
        self.inner = inner
        self.deltas = 0
        self.exhausted = False
        self.aclose_called = False
        self.close_error: BaseException | None = None

    def __aiter__(self) -> AsyncStreamProbe:
        return self

    async def __anext__(self) -> ChatMessageStreamDelta:
        try:
            delta = await self.inner.__anext__()
        except StopAsyncIteration:
            self.exhausted = True
            raise
        self.deltas += 1
        return delta

    @property
    def closeable(self) -> bool:
        """The provider returned something the core can stop: an async generator or an iterator with ``aclose()``."""
        return callable(getattr(self.inner, "aclose", None))

    @property
    def finished(self) -> bool | None:
        """Whether the provider's async generator has ended (closed or exhausted); ``None`` when the
        provider did not return an async generator."""
        if not inspect.isasyncgen(self.inner):
            return None
        return self.inner.ag_frame is None

    async def aclose(self) -> None:
        """Close the provider's async iterator (what the core does when the consumer stops early)."""
        self.aclose_called = True
        aclose = getattr(self.inner, "aclose", None)
        if not callable(aclose):
            return
        try:
            await aclose()
        except BaseException as error:
            self.close_error = error
            raise


class CallProbe:
    """Records the provider hooks called while installed; wraps every stream in a :class:`StreamProbe`.

    Use it as a context manager (``with CallProbe() as probe:``) or call :meth:`install` and
    :meth:`uninstall`. The kit's ``conformance_probe`` fixture does this around every check.

    Attributes:
        calls: ``(hook name, model_id)`` for each ``generate`` / ``generate_stream`` /
            ``agenerate_stream`` call, in order.
        streams: the :class:`StreamProbe` of each ``generate_stream`` call, in order.
        astreams: the :class:`AsyncStreamProbe` of each ``agenerate_stream`` call, in order.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.streams: list[StreamProbe] = []
        self.astreams: list[AsyncStreamProbe] = []
        self._manager: Any = None
        self._name = f"{_PLUGIN_PREFIX}-{id(self):x}"

    def reset(self) -> None:
        """Forget the calls and streams recorded so far."""
        self.calls.clear()
        self.streams.clear()
        self.astreams.clear()

    def install(self) -> CallProbe:
        """Register the probe in modelplug's plugin manager (discovering plugins first if needed)."""
        if self._manager is None:
            manager = plugins.get_plugin_manager()
            manager.register(self, name=self._name)
            self._manager = manager
        return self

    def uninstall(self) -> None:
        """Unregister the probe. Safe to call more than once."""
        manager, self._manager = self._manager, None
        if manager is not None and manager.get_plugin(self._name) is not None:
            manager.unregister(name=self._name)

    def __enter__(self) -> CallProbe:
        return self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    @hookimpl(wrapper=True)
    def generate(self, model_id: str) -> Generator[None, ChatMessage, ChatMessage]:
        self.calls.append(("generate", model_id))
        return (yield)

    @hookimpl(wrapper=True)
    def generate_stream(self, model_id: str) -> Generator[None, Any, Any]:
        self.calls.append(("generate_stream", model_id))
        result = yield
        if result is None:
            return None
        probe = StreamProbe(result)
        self.streams.append(probe)
        return probe

    @hookimpl(wrapper=True)
    def agenerate_stream(self, model_id: str) -> Generator[None, Any, Any]:
        self.calls.append(("agenerate_stream", model_id))
        result = yield
        if result is None or not hasattr(type(result), "__anext__"):
            return result  # the core reports the broken contract
        probe = AsyncStreamProbe(result)
        self.astreams.append(probe)
        return probe
