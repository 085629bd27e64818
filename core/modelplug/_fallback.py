"""Fallback chains: a model that tries the next one when one fails before answering.

:class:`FallbackModel` wraps loaded models (``load_model([...])``, or an alias's ``fallback``). A
call goes to the first model; the next is tried only when one fails *before its first delta* with
a connection error, a timeout, a 5xx, a 429 (after the provider's own retries), or a
:class:`~modelplug.errors.CapabilityError` for what the request needs (tools, images,
``response_format``: a model that does not declare ``structured_output`` is passed over when a
later one does). After the first delta there is no switch (the output would be duplicated): the
error is raised with the partial answer on its ``.message``. ``generate()`` shows nothing before it
returns, so it also moves on when such an error ends an answer midway. The answer's ``message.model``
names the model that answered; the ``generation`` log event lists the failed attempts.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final

from modelplug._astream import AsyncChatStream
from modelplug._model import Model
from modelplug._stream import FALLBACK_ATTEMPTS, ChatStream
from modelplug.errors import (
    CapabilityError,
    InvalidOptionError,
    ModelplugError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions, Usage
from modelplug.wire import messages_from_input

__all__ = ["FALLBACK_ERRORS", "AsyncFallbackStream", "FallbackModel", "FallbackStream"]

#: The failures (before the first delta) after which the next model of a chain is tried.
FALLBACK_ERRORS: Final = (ProviderConnectionError, ProviderTimeoutError, ServerError, RateLimitError, CapabilityError)


def _needs_structured_output(options: Mapping[str, Any]) -> bool:
    response_format = options.get("response_format")
    return isinstance(response_format, Mapping) and response_format.get("type") not in (None, "text")


class FallbackModel(Model):
    """Models tried in order (see the module docstring). Its ``provider``, ``model_id``, ``options``
    and ``capabilities`` are the first model's; ``models`` holds them all; ``name`` is the alias, or
    ``None``. Closing it closes every model.
    """

    __slots__ = ("models", "name")

    def __init__(self, models: Sequence[Model], *, name: str | None = None) -> None:
        if not models:
            raise InvalidOptionError("a fallback chain needs at least one model")
        first = models[0]
        super().__init__(first.provider, first.model_id, first.state, first.options, contract=first.contract)
        self.models: tuple[Model, ...] = tuple(models)
        self.name = name
        self.defaults = first.defaults
        self.price = first.price

    @property
    def capabilities(self) -> Capabilities:
        """The first model's capabilities."""
        return self.models[0].capabilities

    def _skip(self, index: int, options: Mapping[str, Any]) -> CapabilityError | None:
        """Why model ``index`` is passed over before it is called (declared capabilities), or ``None``."""
        model = self.models[index]
        if (
            _needs_structured_output({**model.defaults, **options})
            and not model.capabilities.structured_output
            and any(later.capabilities.structured_output for later in self.models[index + 1 :])
        ):
            return CapabilityError(
                f"{model.spec!r} declares no structured_output for response_format",
                provider=model.provider,
                capability="structured_output",
            )
        return None

    def generate(self, messages: Any, **options: Any) -> ChatMessage:
        """:meth:`Model.generate` on the first model that answers (see the module docstring).

        Raises:
            ModelplugError: the last model's error when every model failed (``attempts`` on it
                lists them all), or the error of a model that failed otherwise.
        """
        attempts: list[dict[str, Any]] = []
        for index, model in enumerate(self.models):
            try:
                skipped = self._skip(index, options)
                if skipped is not None:
                    raise skipped
                token = FALLBACK_ATTEMPTS.set(tuple(attempts))
                try:
                    message = model.generate(messages, **options)
                finally:
                    FALLBACK_ATTEMPTS.reset(token)
            except FALLBACK_ERRORS as error:
                attempts.append({"model": model.spec, "error": type(error).__name__})
                if index == len(self.models) - 1:
                    _fail(error, attempts)
                continue
            return message
        raise AssertionError("unreachable")  # pragma: no cover

    def stream(self, messages: Any, *, allow_fallback: bool = False, **options: Any) -> ChatStream:
        """A :class:`FallbackStream`: :meth:`Model.stream` on the first model whose first delta arrives.

        Raises:
            InvalidOptionError: bad messages or options (at once, as :meth:`Model.stream` does);
                the models' own errors come while iterating.
        """
        self._check_request(messages, options)
        return FallbackStream(self, messages, allow_fallback=allow_fallback, options=options)

    def _check_request(self, messages: Any, options: Mapping[str, Any]) -> None:
        """Refuse bad messages or options before any model is asked (``InvalidOptionError``)."""
        if self._closed:
            raise InvalidOptionError(f"model {self.spec!r} is closed")
        messages_from_input(messages)
        try:
            GenerationOptions.from_kwargs({**self.defaults, **options})
        except (TypeError, ValueError) as error:
            if isinstance(error, ModelplugError):
                raise
            raise InvalidOptionError(f"invalid generation option: {error}") from error

    async def agenerate(self, messages: Any, **options: Any) -> ChatMessage:
        """:meth:`generate` for async code (:meth:`Model.agenerate` on each model in turn).

        Raises:
            The errors of :meth:`generate`.
        """
        attempts: list[dict[str, Any]] = []
        for index, model in enumerate(self.models):
            try:
                skipped = self._skip(index, options)
                if skipped is not None:
                    raise skipped
                token = FALLBACK_ATTEMPTS.set(tuple(attempts))
                try:
                    return await model.agenerate(messages, **options)
                finally:
                    FALLBACK_ATTEMPTS.reset(token)
            except FALLBACK_ERRORS as error:
                attempts.append({"model": model.spec, "error": type(error).__name__})
                if index == len(self.models) - 1:
                    _fail(error, attempts)
        raise AssertionError("unreachable")  # pragma: no cover

    def astream(self, messages: Any, *, allow_fallback: bool = False, **options: Any) -> AsyncChatStream:
        """An :class:`AsyncFallbackStream`: :meth:`Model.astream` on the first model whose first delta arrives.

        Raises:
            InvalidOptionError: as :meth:`stream`.
        """
        self._check_request(messages, options)
        return AsyncFallbackStream(self, messages, allow_fallback=allow_fallback, options=options)

    def close(self) -> None:
        """Close every model of the chain (the first error is raised after all were tried)."""
        if self._closed:
            return
        self._closed = True
        failure: BaseException | None = None
        for model in self.models:
            try:
                model.close()
            except Exception as error:
                failure = failure or error
        if failure is not None:
            raise failure

    @property
    def spec(self) -> str:
        """The alias, or the specs of the chain joined with ``|``."""
        return self.name or " | ".join(model.spec for model in self.models)

    def __repr__(self) -> str:
        return f"FallbackModel({[model for model in self.models]!r})"


def _fail(error: ModelplugError, attempts: list[dict[str, Any]]) -> Any:
    error.attempts = attempts  # type: ignore[attr-defined]
    tried = ", ".join(f"{a['model']} ({a['error']})" for a in attempts)
    error.add_note(f"every model of the fallback chain failed: {tried}")
    raise error


class _AnsweringModelView:
    """What a fallback stream, sync or async, reports: the answering model's stream so far."""

    __slots__ = ()
    _current: ChatStream | AsyncChatStream | None

    @property
    def message(self) -> ChatMessage:
        """The answering model's message so far (an empty assistant message before one answers)."""
        return self._current.message if self._current is not None else ChatMessage(role="assistant")

    @property
    def usage(self) -> Usage | None:
        """The answering model's usage so far."""
        return self._current.usage if self._current is not None else None

    @property
    def finish_reason(self) -> str | None:
        """The answering model's finish reason, once sent."""
        return self._current.finish_reason if self._current is not None else None


class FallbackStream(_AnsweringModelView, ChatStream):
    """The stream of a :class:`FallbackModel`: the stream of the first model that yields a delta.

    ``provider`` and ``model_id`` name the model answering (the first model's until one does);
    ``message``, ``usage`` and ``finish_reason`` are that model's stream's; ``attempts`` lists the
    models that failed before it.
    """

    __slots__ = ("_allow", "_chain", "_current", "_messages", "_options")

    def __init__(
        self, chain: FallbackModel, messages: Any, *, allow_fallback: bool, options: Mapping[str, Any]
    ) -> None:
        super().__init__(iter(()), provider=chain.provider, model_id=chain.model_id, price=chain.price)
        self._chain = chain
        self._messages = messages
        self._allow = allow_fallback
        self._options = options
        self._current: ChatStream | None = None

    def __next__(self) -> ChatMessageStreamDelta:
        if self._finished:
            raise StopIteration
        delta = self._first() if self._current is None else self._next(self._current)
        if self.ttft_s is None and (delta.content or delta.reasoning_content or delta.tool_calls):
            self.ttft_s = time.perf_counter() - self._start
        return delta

    def _first(self) -> ChatMessageStreamDelta:
        models = self._chain.models
        for index, model in enumerate(models):
            stream: ChatStream | None = None
            try:
                skipped = self._chain._skip(index, self._options)
                if skipped is not None:
                    raise skipped
                token = FALLBACK_ATTEMPTS.set(tuple(self.attempts))
                try:
                    stream = model.stream(self._messages, allow_fallback=self._allow, **self._options)
                finally:
                    FALLBACK_ATTEMPTS.reset(token)
                delta = next(stream)
            except StopIteration:  # an empty answer is an answer
                self._answer(stream)
                self._end("ok")
                raise
            except FALLBACK_ERRORS as error:
                if stream is not None:
                    stream.close()
                self.attempts.append({"model": model.spec, "error": type(error).__name__})
                if index == len(models) - 1:
                    self.error = error
                    self._end("error")
                    _fail(error, self.attempts)
                continue
            except BaseException as error:
                self._answer(stream)
                self.error = error if isinstance(error, Exception) else None
                self._end("error" if isinstance(error, Exception) else "cancelled")
                raise
            self._answer(stream)
            return delta
        raise AssertionError("unreachable")  # pragma: no cover

    def _answer(self, stream: ChatStream | None) -> None:
        if stream is not None:
            self._current = stream
            self.provider = stream.provider
            self.model_id = stream.model_id

    def _next(self, stream: ChatStream) -> ChatMessageStreamDelta:
        try:
            return next(stream)
        except StopIteration:
            self._end("ok")
            raise
        except BaseException as error:
            if isinstance(error, Exception):
                error.message = stream.message  # type: ignore[attr-defined]  # the partial answer: nothing is lost
                self.error = error
                self._end("error")
            else:
                self._end("cancelled")
            raise

    def close(self) -> None:
        """Stop the stream and the answering model's backend."""
        if not self._finished:
            self._end("cancelled")

    def _end(self, outcome: str) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self.outcome = outcome
        self.duration_s = time.perf_counter() - self._start
        if self._current is not None:
            self._current.close()  # logs the generation event, with the failed attempts

    def _finish(self, outcome: str) -> bool:
        ended = not self._finished
        self._end(outcome)
        return ended


async def _no_deltas() -> AsyncIterator[ChatMessageStreamDelta]:
    return
    yield  # an async generator that yields nothing


class AsyncFallbackStream(_AnsweringModelView, AsyncChatStream):
    """The async stream of a :class:`FallbackModel` (as :class:`FallbackStream`, for ``async for``)."""

    __slots__ = ("_allow", "_chain", "_current", "_messages", "_options")

    def __init__(
        self, chain: FallbackModel, messages: Any, *, allow_fallback: bool, options: Mapping[str, Any]
    ) -> None:
        super().__init__(_no_deltas(), provider=chain.provider, model_id=chain.model_id, price=chain.price)
        self._source_closed = True  # no source of its own: each model's stream closes its own
        self._chain = chain
        self._messages = messages
        self._allow = allow_fallback
        self._options = options
        self._current: AsyncChatStream | None = None

    async def __anext__(self) -> ChatMessageStreamDelta:
        if self._finished:
            raise StopAsyncIteration
        delta = await (self._first() if self._current is None else self._next_of(self._current))
        if self.ttft_s is None and (delta.content or delta.reasoning_content or delta.tool_calls):
            self.ttft_s = time.perf_counter() - self._start
        return delta

    async def _first(self) -> ChatMessageStreamDelta:
        models = self._chain.models
        for index, model in enumerate(models):
            stream: AsyncChatStream | None = None
            try:
                skipped = self._chain._skip(index, self._options)
                if skipped is not None:
                    raise skipped
                token = FALLBACK_ATTEMPTS.set(tuple(self.attempts))
                try:
                    stream = model.astream(self._messages, allow_fallback=self._allow, **self._options)
                finally:
                    FALLBACK_ATTEMPTS.reset(token)
                delta = await stream.__anext__()
            except StopAsyncIteration:  # an empty answer is an answer
                self._answer(stream)
                await self._end("ok")
                raise
            except FALLBACK_ERRORS as error:
                if stream is not None:
                    await stream.aclose()
                self.attempts.append({"model": model.spec, "error": type(error).__name__})
                if index == len(models) - 1:
                    self.error = error
                    await self._end("error")
                    _fail(error, self.attempts)
                continue
            except BaseException as error:  # another error, or cancellation: no switch
                self._answer(stream)
                self.error = error if isinstance(error, Exception) else None
                await self._end("error" if isinstance(error, Exception) else "cancelled")
                raise
            self._answer(stream)
            return delta
        raise AssertionError("unreachable")  # pragma: no cover

    def _answer(self, stream: AsyncChatStream | None) -> None:
        if stream is not None:
            self._current = stream
            self.provider = stream.provider
            self.model_id = stream.model_id

    async def _next_of(self, stream: AsyncChatStream) -> ChatMessageStreamDelta:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            await self._end("ok")
            raise
        except BaseException as error:
            if isinstance(error, Exception):
                error.message = stream.message  # type: ignore[attr-defined]  # the partial answer: nothing is lost
                self.error = error
                await self._end("error")
            else:
                await self._end("cancelled")
            raise

    async def aclose(self) -> None:
        """Stop the stream and the answering model's backend."""
        await self._end("cancelled")

    async def _end(self, outcome: str) -> None:
        self._mark(outcome)
        if self._current is not None:
            await self._current.aclose()  # idempotent; logs the generation event, with the failed attempts

    def _mark(self, outcome: str) -> bool:
        with self._lock:
            if self._finished:
                return False
            self._finished = True
        self.outcome = outcome
        self.duration_s = time.perf_counter() - self._start
        return True

    def _finish(self, outcome: str) -> bool:
        return self._mark(outcome)  # the answering model's stream logs the generation event
