"""``ChatStream``: the object :meth:`modelplug.Model.stream` returns.

Iterate it for :class:`~modelplug.types.ChatMessageStreamDelta` values; read :attr:`ChatStream.message`
for the aggregate so far, at any time (after an error too: nothing already received is lost).
Closing it, leaving its ``with`` block, or breaking out of the loop and dropping it stops the
backend: the provider's generator is closed, which ends its generation thread, closes its HTTP
response or aborts its request.

The module also holds :func:`run_pipeline`, which drives a :class:`~modelplug._pipeline.DeltaPipeline`
(stop emulation, text tool calls) over a provider's deltas, and the one-delta fallback.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from modelplug._aggregation import StreamAggregator
from modelplug._pipeline import DeltaPipeline
from modelplug.errors import (
    InvalidOptionError,
    ModelplugError,
    PluginContractError,
    ToolCallParseError,
    wrap_provider_exception,
)
from modelplug.log import get_logger, info_enabled
from modelplug.types import ChatMessage, ChatMessageStreamDelta, ToolCallDelta, Usage

if TYPE_CHECKING:
    from modelplug._cost import Price

__all__ = ["FALLBACK_ATTEMPTS", "ChatStream", "StreamRecord", "message_to_deltas", "run_pipeline"]

#: The attempts a fallback chain made before the model now called (:mod:`modelplug._fallback` sets
#: it around each call); the ``generation`` log event records them.
FALLBACK_ATTEMPTS: contextvars.ContextVar[tuple[dict[str, Any], ...]] = contextvars.ContextVar(
    "modelplug_fallback_attempts", default=()
)


class StreamRecord:
    """What :class:`ChatStream` and :class:`~modelplug._astream.AsyncChatStream` share: the aggregate so
    far, the checks on each delta, the timings, the outcome and the one ``generation`` log event.

    Attributes:
        provider: the provider name.
        model_id: the model id within the provider.
        error: the error that ended the stream, or ``None``.
        outcome: ``"ok"``, ``"error"`` or ``"cancelled"`` once the stream has ended, else ``None``.
        ttft_s: seconds from the request to the first delta with text or a tool call (``None`` before).
        duration_s: seconds from the request to the end of the stream (``None`` while it runs).
        attempts: with a fallback chain, the models tried before this one and how each failed
            (``[{"model": spec, "error": class name}]``), recorded in the ``generation`` log event.
    """

    __slots__ = (
        "__weakref__",
        "_aggregator",
        "_finished",
        "_hook",
        "_lock",
        "_start",
        "attempts",
        "duration_s",
        "error",
        "model_id",
        "outcome",
        "provider",
        "ttft_s",
    )

    def __init__(
        self, *, provider: str, model_id: str, hook: str = "generate_stream", price: Price | None = None
    ) -> None:
        self._hook = hook  # named in contract errors about the deltas
        self._aggregator = StreamAggregator()
        self._start = time.perf_counter()
        self._finished = False
        self._lock = threading.Lock()
        self.provider = provider
        self.model_id = model_id
        self.error: BaseException | None = None
        self.ttft_s: float | None = None
        self.duration_s: float | None = None
        self.outcome: str | None = None
        self.attempts: list[dict[str, Any]] = list(FALLBACK_ATTEMPTS.get())
        self._aggregator.model = f"{provider}:{model_id}"
        self._aggregator.pricing = functools.partial(_cost_of, provider, model_id, price=price)

    def _accept(self, delta: object) -> ChatMessageStreamDelta:
        """Check ``delta`` (one value the source yielded) and add it to the aggregate.

        Raises:
            PluginContractError: not a ``ChatMessageStreamDelta``, or a malformed one (the stream is
                then finished with outcome ``"error"``).
        """
        if not isinstance(delta, ChatMessageStreamDelta):
            failure = PluginContractError(
                f"provider {self.provider!r}: {self._hook} must yield modelplug.ChatMessageStreamDelta values, "
                f"got {type(delta).__name__}: {delta!r:.80}",
                provider=self.provider,
                hook=self._hook,
            )
            self._fail(failure)
            raise failure
        try:
            self._aggregator.add(delta)
        except InvalidOptionError as error:
            failure = PluginContractError(
                f"provider {self.provider!r} yielded a malformed delta: {error}",
                provider=self.provider,
                hook=self._hook,
            )
            self._fail(failure)
            raise failure from error
        if self.ttft_s is None and (delta.content or delta.reasoning_content or delta.tool_calls):
            self.ttft_s = time.perf_counter() - self._start
        return delta

    def _failure(self, error: Exception) -> ModelplugError:
        """Record ``error`` (raised by the source) as the end of the stream; returns what to raise:
        a modelplug error unchanged, anything else as the provider's failure (``raise ... from error``)."""
        if isinstance(error, ModelplugError):
            failure = error
        else:
            failure = wrap_provider_exception(self.provider, error, "during the stream")
        self._fail(failure)
        return failure

    def _fail(self, error: BaseException) -> None:
        self.error = error
        self._finish("error")

    @property
    def message(self) -> ChatMessage:
        """The assistant message aggregated from the deltas received so far, marked with the model
        (``provider:model``) and its cost (:func:`modelplug._cost.cost_of`, once usage is known)."""
        return self._aggregator.message

    @property
    def usage(self) -> Usage | None:
        """The last usage reported so far (``None`` when none yet)."""
        return self._aggregator.usage

    @property
    def finish_reason(self) -> str | None:
        """The finish reason, once the backend sent it."""
        return self._aggregator.finish_reason

    @property
    def closed(self) -> bool:
        """Whether the stream has ended (exhausted, failed or closed)."""
        return self._finished

    def _close_source(self) -> None:
        """Stop the source (called once, by :meth:`_finish`)."""

    def _finish(self, outcome: str) -> bool:
        """End the stream with ``outcome``: close the source, log the ``generation`` event. Returns
        whether this call ended it (``False``: it had already ended)."""
        with self._lock:  # the iterating thread and a closing thread may both get here
            if self._finished:
                return False
            self._finished = True
        self.outcome = outcome
        self.duration_s = time.perf_counter() - self._start
        self._close_source()
        usage = self._aggregator.usage
        get_logger().info(
            "generation",
            provider=self.provider,
            model=self.model_id,
            stream=True,
            ttft_s=self.ttft_s,
            duration_s=self.duration_s,
            usage=None if usage is None else [usage.prompt_tokens, usage.completion_tokens, usage.total_tokens],
            cost=self.message.cost if info_enabled() else None,
            outcome=outcome,
            error=None if self.error is None else type(self.error).__name__,
            **({"attempts": self.attempts} if self.attempts else {}),
        )
        return True


class ChatStream(StreamRecord):
    """A live stream of deltas from one generation (attributes: see :class:`StreamRecord`)."""

    __slots__ = ("_iterator",)

    def __init__(
        self, deltas: Iterator[ChatMessageStreamDelta], *, provider: str, model_id: str, price: Price | None = None
    ) -> None:
        super().__init__(provider=provider, model_id=model_id, price=price)
        self._iterator = deltas
        if type(deltas) is _Piped:
            deltas.stream = self

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> ChatMessageStreamDelta:
        if self._finished:
            raise StopIteration
        try:
            delta: object = next(self._iterator)  # checked below: providers are not always typed
        except StopIteration:
            self._finish("ok")
            raise
        except ModelplugError as error:
            self._fail(error)
            raise
        except Exception as error:
            raise self._failure(error) from error
        except BaseException:  # KeyboardInterrupt, SystemExit: stop the backend, keep the partial answer
            self.close()
            raise
        if self.closed:  # closed from another thread while the provider was producing this delta
            self._close_source()  # the provider is no longer executing: now it can be closed
            raise StopIteration
        return self._accept(delta)

    def until_done(self) -> ChatMessage:
        """Consume the rest of the stream and return the complete message."""
        for _ in self:
            pass
        return self.message

    def close(self) -> None:
        """Stop the stream and the backend behind it. Safe to call more than once, and from another
        thread than the one iterating: then a provider iterator with a thread-safe ``close()`` (an
        HTTP response) is closed at once, also under the core's stop and tool-call pipeline, which
        ends a stalled read; a generator is closed as soon as it hands over the delta it is
        producing (it cannot be closed while it runs). The iterating loop ends."""
        if self._finished:
            return
        self._finish("cancelled")

    def _close_source(self) -> None:
        close = getattr(self._iterator, "close", None)
        if close is None:
            return
        try:
            close()
        except ValueError as error:
            if "already executing" not in str(error):  # else: another thread is inside; it closes on return
                get_logger().warning("stream_close_failed", provider=self.provider, error=repr(error))
        except Exception as error:  # a provider failing while it cleans up must not hide the answer
            get_logger().warning("stream_close_failed", provider=self.provider, error=repr(error))

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_finished", True):
            with contextlib.suppress(Exception):
                self.close()

    def __repr__(self) -> str:
        state = self.outcome or "open"
        return f"<ChatStream {self.provider}:{self.model_id} {state}>"


def _cost_of(provider: str, model_id: str, usage: Usage, *, price: Price | None) -> float | None:
    from modelplug._cost import cost_of

    return cost_of(provider, model_id, usage, price)


def message_to_deltas(message: ChatMessage) -> Iterator[ChatMessageStreamDelta]:
    """The one-delta form of a complete message (the documented fallback of ``stream()`` for
    providers that declare no streaming)."""
    import json

    calls = tuple(
        ToolCallDelta(
            index=i,
            id=c.id,
            name=c.name,
            arguments=c.raw_arguments if c.arguments is None else json.dumps(c.arguments, ensure_ascii=False),
        )
        for i, c in enumerate(message.tool_calls)
    )
    yield ChatMessageStreamDelta(
        content=message.text or None,
        reasoning_content=message.reasoning_content,
        tool_calls=calls,
        usage=message.usage,
        finish_reason=message.finish_reason,
    )


def _close(iterator: Iterator[Any]) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


class _Piped(Iterator[ChatMessageStreamDelta]):
    """The pipeline's generator over ``source``, with a ``close()`` that reaches the source even while
    another thread is inside the generator (a generator cannot be closed while it runs): the source's
    own thread-safe ``close()`` then ends a stalled read at once, as it does without a pipeline."""

    __slots__ = ("_piped", "_reader", "_source", "stream")

    def __init__(self, source: Iterator[ChatMessageStreamDelta]) -> None:
        self._source = source
        self._piped: Iterator[ChatMessageStreamDelta] = iter(())
        #: What ``__next__`` reads: the pipeline's generator, or the source itself once the pipeline
        #: has turned inactive (nothing held: the rest passes through without a generator step)
        self._reader = self._piped
        #: The ChatStream reading this, which then reads the source itself (set by ChatStream)
        self.stream: ChatStream | None = None

    def __next__(self) -> ChatMessageStreamDelta:
        return next(self._reader)

    def pass_through(self) -> None:
        """From the next delta on, the source is read directly (by the stream, when there is one):
        the pipeline holds nothing and changes nothing any more."""
        self._reader = self._source
        if self.stream is not None:
            self.stream._iterator = self._source

    def close(self) -> None:
        """Close the pipeline and the source (from any thread)."""
        if self._reader is self._source:  # passing through: the source is what may be executing
            _close(self._source)  # "already executing": the caller closes again once the read returns
            _close(self._piped)
            return
        try:
            _close(self._piped)
        except ValueError as error:
            if "already executing" not in str(error):
                raise
            try:  # another thread reads: close the source under it; the pipeline closes when it returns
                _close(self._source)
            except ValueError as inner:
                if "already executing" not in str(inner):  # a plain generator source: it closes on return
                    raise
            raise


def run_pipeline(
    deltas: Iterator[ChatMessageStreamDelta], pipeline: DeltaPipeline, *, drain_after_stop: bool = False
) -> Iterator[ChatMessageStreamDelta]:
    """Push ``deltas`` through ``pipeline`` (:class:`modelplug._pipeline.DeltaPipeline`), closing the
    source as soon as a stop sequence is reached (or, with ``drain_after_stop``, reading it to its
    end for the usage it reports last, as ``generate()`` does) and when the consumer stops; the
    returned iterator's ``close()`` reaches the source from any thread.

    A :class:`~modelplug.errors.ToolCallParseError` loses nothing: the source is drained first (usage,
    finish reason), the deltas still recoverable are yielded, then the error is raised.
    """
    piped = _Piped(deltas)
    piped._piped = piped._reader = _piped(deltas, pipeline, drain_after_stop, piped)
    return piped


def _piped(
    deltas: Iterator[ChatMessageStreamDelta], pipeline: DeltaPipeline, drain_after_stop: bool, owner: _Piped
) -> Iterator[ChatMessageStreamDelta]:
    handed_over = False
    try:
        for delta in deltas:
            out = pipeline.feed(delta)
            if out and not pipeline.active:  # e.g. the reasoning split is over: the rest is the source's
                yield from out[:-1]
                owner.pass_through()
                handed_over = True  # the source is closed by its reader from now on
                yield out[-1]  # never resumed
                return
            yield from out
            if pipeline.stopped and not drain_after_stop:
                _close(deltas)
                break
        try:
            out = pipeline.finish()
        except ToolCallParseError as error:
            yield from error.deltas
            raise
        yield from out
    finally:
        if not handed_over:
            _close(deltas)
