"""The ``Model`` facade users hold: built by :func:`modelplug.load_model` (:mod:`modelplug._load`),
then ``generate`` or ``stream`` (from async code ``agenerate`` or ``astream``: the same checks and
post-processing, see ``docs/async.md``).

Every call goes to its provider's hook implementations only, and gets what every provider gets for
free (``docs/hooks.md``, "What the core does for every provider"): messages as a string, dicts or
:class:`~modelplug.types.ChatMessage` objects; ``generate`` derived from ``generate_stream``;
sync and async callers bridged both ways (:mod:`modelplug._bridges`); stop sequences and text
tool calls handled by the core where the provider declares it does not; one ``generation`` log
event per call (:mod:`modelplug.log`).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from modelplug._cost import Price, cost_of
from modelplug._pipeline import DeltaPipeline, split_reasoning
from modelplug._provider import Provider
from modelplug._stream import FALLBACK_ATTEMPTS, ChatStream, message_to_deltas, run_pipeline
from modelplug.errors import (
    CapabilityError,
    HookNotImplementedError,
    InvalidOptionError,
    ModelClosedError,
    ModelplugError,
    ToolCallParseError,
)
from modelplug.log import get_logger
from modelplug.reserved import ReservedOptions
from modelplug.secrets import RedactedDict, redact, redact_mapping, release_secret
from modelplug.stops import cut_at_stop
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions, check_tool_choice
from modelplug.wire import messages_from_input

if TYPE_CHECKING:
    from modelplug._astream import AsyncChatStream

__all__ = ["Model"]


def _with_defaults(defaults: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` over ``defaults`` (a call's option wins; the ``extra`` dicts are merged)."""
    merged = {**defaults, **options}
    if isinstance(defaults.get("extra"), Mapping) and isinstance(options.get("extra"), Mapping):
        merged["extra"] = {**defaults["extra"], **options["extra"]}
    return merged


def _has_images(messages: list[ChatMessage]) -> bool:
    """Whether a message carries a non-text content part (``image_url``, ``input_image``, ``image``)."""
    for message in messages:
        if isinstance(message.content, (list, tuple)):
            for part in message.content:
                kind = part.get("type") if isinstance(part, Mapping) else getattr(part, "type", None)
                if isinstance(kind, str) and "image" in kind:
                    return True
    return False


class Model:
    """A loaded model of one provider. Build it with :func:`modelplug.load_model`.

    Thread-safe as far as the provider is: the facade itself keeps no per-call state.
    Use it as a context manager, or call :meth:`close`, to release the provider's resources.
    """

    __slots__ = (
        "_capabilities",
        "_closed",
        "_open_lock",
        "_open_streams",
        "_reserved",
        "_secrets",
        "contract",
        "defaults",
        "model_id",
        "options",
        "price",
        "provider",
        "state",
    )

    def __init__(
        self,
        provider: str,
        model_id: str,
        state: Any,
        options: Mapping[str, Any] | None = None,
        *,
        contract: Provider | None = None,
        reserved: ReservedOptions | None = None,
    ) -> None:
        self.provider = provider
        #: The :class:`~modelplug._provider.Provider` every hook call of this model goes through,
        #: bound to the provider registered when the model was built.
        self.contract = contract if contract is not None else Provider.get(provider)
        self.model_id = model_id
        self.state = state
        self.options: Mapping[str, Any] = RedactedDict(options or {})
        #: The reserved options (:mod:`modelplug.reserved`), checked; read from ``options`` when not given.
        self._reserved = reserved or ReservedOptions.from_options(self.options, provider=provider)
        self._capabilities: Capabilities | None = None
        self._closed = False
        # The sync streams not yet ended, closed by close() (a weak set: a dropped stream is not kept).
        self._open_streams: weakref.WeakSet[ChatStream] = weakref.WeakSet()
        self._open_lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()  # registered by load_model, released by close
        #: Generation defaults (an alias's ``temperature``, ``max_tokens``, ...): a call's own options win.
        self.defaults: Mapping[str, Any] = {}
        #: Prices per million tokens that override the price database (the ``price`` option).
        self.price: Price | None = self._reserved.price

    @property
    def spec(self) -> str:
        """``"provider:model_id"``."""
        return f"{self.provider}:{self.model_id}"

    @property
    def capabilities(self) -> Capabilities:
        """What the provider declares for this model (its ``capabilities`` hook, asked once)."""
        if self._capabilities is None:
            self._capabilities = self._reserved.apply(self.contract.capabilities(self.model_id, self.state))
        return self._capabilities

    def _prepare(self, messages: Any, options: Mapping[str, Any]) -> tuple[list[Any], GenerationOptions]:
        if self._closed:
            raise ModelClosedError(f"model {self.spec!r} is closed")
        if self.defaults:
            options = _with_defaults(self.defaults, options)
        try:
            generation = GenerationOptions.from_kwargs(options)
            check_tool_choice(generation)
        except (TypeError, ValueError) as error:
            if isinstance(error, ModelplugError):
                raise
            raise InvalidOptionError(f"invalid generation option: {error}") from error
        if generation.tools and self.capabilities.tool_calling == "none":
            raise CapabilityError(
                f"provider {self.provider!r} declares no tool calling for {self.model_id!r} "
                "(capabilities.tool_calling='none'); call without tools",
                provider=self.provider,
                capability="tool_calling",
            )
        messages_ = messages_from_input(messages)
        if not self.capabilities.vision and _has_images(messages_):
            raise CapabilityError(
                f"provider {self.provider!r} declares no image input for {self.model_id!r} "
                "(capabilities.vision=False); send text only",
                provider=self.provider,
                capability="vision",
            )
        return messages_, generation

    def _answered(self, message: ChatMessage) -> ChatMessage:
        """``message`` marked with the model that answered and its cost (:mod:`modelplug._cost`)."""
        return attrs.evolve(
            message, model=self.spec, cost=cost_of(self.provider, self.model_id, message.usage, self.price)
        )

    def _backend_options(self, generation: GenerationOptions) -> GenerationOptions:
        """Leave out what the backend does not take and the core emulates (``stop``)."""
        if generation.stop and not self.capabilities.stop_sequences:
            return attrs.evolve(generation, stop=())
        return generation

    def generate(self, messages: Any, **options: Any) -> ChatMessage:
        """Generate a complete answer.

        Args:
            messages: a string (one user message), a message dict / :class:`ChatMessage`, or a list of them.
            **options: generation options (``max_tokens``, ``temperature``, ``top_p``, ``seed``,
                ``stop``, ``tools``, ``tool_choice``, ``response_format``); anything else is passed
                to the provider in ``GenerationOptions.extra``.

        Returns:
            The assistant :class:`ChatMessage`, with ``usage`` and ``finish_reason`` when known, and
            ``tool_calls`` (read from the text for providers that write calls as text).

        Raises:
            InvalidOptionError: bad messages or options.
            CapabilityError: tools given to a provider without tool calling.
            ProviderError: the backend failed (subclasses say how).
            ToolCallParseError: the model wrote a tool call that cannot be read (the raw text is kept on it).
        """
        messages_, generation = self._prepare(messages, options)
        backend = self._backend_options(generation)
        if self.contract.implements("generate"):
            message = self._generate_hook(messages_, backend)
        elif self._streams():
            # The same pipeline as stream(): stops and text tool calls give the same answer both ways;
            # a provider with its own parse_tool_calls gets it on the whole text, in _complete.
            stream = self._pipeline_stream(
                self._stream_deltas(messages_, backend),
                generation,
                text_tool_calls=not self._own_parser(),
                drain_after_stop=True,  # generate() reports the usage the backend sends after the stop
            )
            try:
                message = stream.until_done()
            except ToolCallParseError as error:
                _keep_answer(error, stream.message)
                raise
            if not self._own_parser():
                return message
        else:
            raise self._no_generation_hook()
        return self._complete(message, generation, backend)

    async def agenerate(self, messages: Any, **options: Any) -> ChatMessage:
        """:meth:`generate` for async code: same arguments, answer and errors, without blocking the loop.

        The provider's native ``agenerate_stream`` when it declares ``async_streaming``, else its
        ``generate_stream`` in a worker thread (aggregated, as :meth:`generate` does), else its
        ``generate`` in a worker thread. Cancelling the awaiting task stops the backend (the stream is
        closed) and raises ``CancelledError``; only a provider with nothing but ``generate`` runs on
        to the end in its thread.

        Raises:
            The errors of :meth:`generate`.
        """
        messages_, generation = self._prepare(messages, options)
        backend = self._backend_options(generation)
        if self.capabilities.async_streaming or self.contract.implements("generate_stream"):
            own_parser = self._own_parser()
            stream = self._astream_over(messages_, generation, backend, text_tool_calls=not own_parser, drain=True)
            try:
                message = await stream.until_done()
            except ToolCallParseError as error:
                _keep_answer(error, stream.message)
                raise
            finally:
                await stream.aclose()
            if not own_parser:
                return message
        elif self.contract.implements("generate"):
            import anyio.to_thread

            message = await anyio.to_thread.run_sync(self._generate_hook, messages_, backend)
        else:
            raise self._no_generation_hook()
        return self._complete(message, generation, backend)

    def _streams(self) -> bool:
        """Whether a stream route exists (``generate_stream``, or ``agenerate_stream`` on the loop thread)."""
        return self.contract.implements("generate_stream") or self.capabilities.async_streaming

    def _own_parser(self) -> bool:
        return self.contract.implements("parse_tool_calls")

    def _no_generation_hook(self) -> HookNotImplementedError:
        return HookNotImplementedError(
            f"provider {self.provider!r} implements none of 'generate', 'generate_stream' and 'agenerate_stream'",
            provider=self.provider,
            hook="generate",
        )

    def _generate_hook(self, messages: list[ChatMessage], backend: GenerationOptions) -> ChatMessage:
        """The provider's ``generate``, logged as one ``generation`` event."""
        start = time.perf_counter()
        message = self._answered(self.contract.generate(self.model_id, self.state, messages, backend))
        get_logger().info(
            "generation",
            provider=self.provider,
            model=self.model_id,
            stream=False,
            duration_s=time.perf_counter() - start,
            usage=None if message.usage is None else [message.usage.prompt_tokens, message.usage.completion_tokens],
            cost=message.cost,
            outcome="ok",
            **({"attempts": list(attempts)} if (attempts := FALLBACK_ATTEMPTS.get()) else {}),
        )
        return message

    def _complete(self, message: ChatMessage, generation: GenerationOptions, backend: GenerationOptions) -> ChatMessage:
        """A whole answer after the core's post-processing: stops cut (when the backend did not get
        them), tool calls read from the text (``tool_calling="text"``) or, without tools, the
        reasoning span at its start split off (as :class:`DeltaPipeline` does for a stream)."""
        if generation.stop and backend is not generation:
            content, found = cut_at_stop(message.content if isinstance(message.content, str) else None, generation.stop)
            if found:
                message = attrs.evolve(message, content=content, finish_reason="stop")
        if self.capabilities.tool_calling != "text" or message.tool_calls:
            return message
        if generation.tools:
            return self._parse_tool_calls(message, generation)
        if message.reasoning_content is None and isinstance(message.content, str) and message.content:
            content, reasoning = split_reasoning(message.content, self._tool_call_format())
            message = attrs.evolve(message, content=content, reasoning_content=reasoning)
        return message

    def _tool_call_format(self) -> str | None:
        return self._reserved.tool_call_format or self.capabilities.tool_call_format

    def _parse_tool_calls(self, message: ChatMessage, generation: GenerationOptions) -> ChatMessage:
        text = message.text
        if not text:
            return message
        try:
            result = self.contract.parse_tool_calls(
                self.model_id, self.state, text, list(generation.tools), self._tool_call_format()
            )
        except ToolCallParseError as error:
            _keep_answer(error, message)
            raise
        if result is None:
            return message
        reasoning = message.reasoning_content or getattr(result, "reasoning_content", None)
        if not result.tool_calls and reasoning == message.reasoning_content:
            return message
        return attrs.evolve(
            message, content=result.content or None, tool_calls=tuple(result.tool_calls), reasoning_content=reasoning
        )

    def stream(self, messages: Any, *, allow_fallback: bool = False, **options: Any) -> ChatStream:
        """Stream the answer as it is generated.

        Args:
            messages: as for :meth:`generate`.
            allow_fallback: for a provider that declares no streaming, generate the whole answer
                and yield it as a single delta instead of raising :class:`CapabilityError`.
            **options: as for :meth:`generate`.

        Returns:
            A :class:`ChatStream`: iterate it for deltas, read ``.message`` for the aggregate, close
            it (or use ``with``) to stop the backend early.

        Raises:
            CapabilityError: the provider declares no streaming and ``allow_fallback`` is false.
            InvalidOptionError: bad messages or options.
            ProviderError: the backend failed (also raised while iterating).
        """
        messages_, generation = self._prepare(messages, options)
        backend = self._backend_options(generation)
        if self._check_streaming(allow_fallback):
            stream = self._pipeline_stream(self._stream_deltas(messages_, backend), generation)
        else:  # the fallback: generate() cuts the stops and parses the tool calls itself
            stream = ChatStream(
                self._fallback(messages_, options), provider=self.provider, model_id=self.model_id, price=self.price
            )
        with self._open_lock:
            self._open_streams.add(stream)
        if self._closed:  # closed by another thread meanwhile: this stream must not outlive it
            stream.close()
        return stream

    def astream(self, messages: Any, *, allow_fallback: bool = False, **options: Any) -> AsyncChatStream:
        """:meth:`stream` for async code: same arguments, deltas and errors, without blocking the loop.

        Not a coroutine: it checks the options and returns at once; the provider starts at the first
        ``__anext__``. Use it as ``async with model.astream(...) as stream: async for delta in stream``.
        The deltas come from the provider's native ``agenerate_stream`` when it declares
        ``async_streaming``, else from its ``generate_stream`` run in a worker thread
        (:mod:`modelplug._bridges`). Cancelling the consuming task, ``asyncio.timeout``, ``aclose()``
        or leaving the ``async with`` block stops the backend; ``.message`` keeps what arrived.

        Returns:
            An :class:`~modelplug._astream.AsyncChatStream`.

        Raises:
            The errors of :meth:`stream` (option and capability errors here, the others while iterating).
        """
        messages_, generation = self._prepare(messages, options)
        backend = self._backend_options(generation)
        if self._check_streaming(allow_fallback):
            return self._astream_over(messages_, generation, backend)
        from modelplug._astream import AsyncChatStream
        from modelplug._bridges import aiter_in_thread

        return AsyncChatStream(
            aiter_in_thread(lambda: self._fallback(messages_, options), name="modelplug-generate"),
            provider=self.provider,
            model_id=self.model_id,
            hook="generate",
            price=self.price,
        )

    def _check_streaming(self, allow_fallback: bool) -> bool:
        """Whether the provider streams (sync or async); ``False``: use the one-delta fallback.

        Raises:
            CapabilityError: it declares no streaming and ``allow_fallback`` is false.
        """
        capabilities = self.capabilities
        if capabilities.streaming or capabilities.async_streaming:
            return True
        if allow_fallback:
            return False
        raise CapabilityError(
            f"provider {self.provider!r} declares no streaming for {self.model_id!r} "
            "(capabilities.streaming=False); use generate(), or stream(..., allow_fallback=True) "
            "to get the whole answer as one delta",
            provider=self.provider,
            capability="streaming",
        )

    def _pipeline(self, generation: GenerationOptions, *, text_tool_calls: bool = True) -> DeltaPipeline:
        """The generation's :class:`DeltaPipeline` (without text tool calls when ``text_tool_calls`` is false)."""
        return DeltaPipeline.for_generation(
            self.capabilities,
            generation if text_tool_calls else attrs.evolve(generation, tools=()),
            tool_call_format=self._tool_call_format(),
        )

    def _pipeline_stream(
        self,
        deltas: Iterator[ChatMessageStreamDelta],
        generation: GenerationOptions,
        *,
        text_tool_calls: bool = True,
        drain_after_stop: bool = False,
    ) -> ChatStream:
        """A :class:`ChatStream` over ``deltas`` after the generation's :class:`DeltaPipeline`
        (``drain_after_stop``: read the backend to its end after a stop sequence, for its usage)."""
        pipeline = self._pipeline(generation, text_tool_calls=text_tool_calls)
        if pipeline.active:
            deltas = run_pipeline(deltas, pipeline, drain_after_stop=drain_after_stop)
        return ChatStream(deltas, provider=self.provider, model_id=self.model_id, price=self.price)

    def _astream_over(
        self,
        messages: list[ChatMessage],
        generation: GenerationOptions,
        backend: GenerationOptions,
        *,
        text_tool_calls: bool = True,
        drain: bool = False,
    ) -> AsyncChatStream:
        """An :class:`~modelplug._astream.AsyncChatStream` over the provider's async source, after the
        generation's pipeline."""
        from modelplug._astream import AsyncChatStream

        source: AsyncIterator[ChatMessageStreamDelta]
        if self.capabilities.async_streaming:
            source = self.contract.agenerate_stream(self.model_id, self.state, messages, backend)
            hook = "agenerate_stream"
        else:
            from modelplug._bridges import aiter_in_thread

            source = aiter_in_thread(lambda: self._stream_deltas(messages, backend), name=f"modelplug-{self.provider}")
            hook = "generate_stream"
        return AsyncChatStream(
            source,
            provider=self.provider,
            model_id=self.model_id,
            pipeline=self._pipeline(generation, text_tool_calls=text_tool_calls),
            drain_after_stop=drain,
            hook=hook,
            price=self.price,
        )

    def _stream_deltas(self, messages: list[Any], options: GenerationOptions) -> Iterator[ChatMessageStreamDelta]:
        """The provider's sync iterator of deltas: what ``generate_stream`` returned, or, for a provider
        with only ``agenerate_stream``, its async iterator driven on the core's loop thread.

        Raises:
            HookNotImplementedError: the hook returned ``None``.
            PluginContractError: it returned something that is not an iterator of deltas (a string, a dict, a number).
        """
        if not self.contract.implements("generate_stream") and self.capabilities.async_streaming:
            from modelplug._bridges import iter_on_loop_thread

            return iter_on_loop_thread(self.contract.agenerate_stream(self.model_id, self.state, messages, options))
        return self.contract.generate_stream(self.model_id, self.state, messages, options)

    def _fallback(self, messages: list[Any], options: Mapping[str, Any]) -> Iterator[ChatMessageStreamDelta]:
        yield from message_to_deltas(self.generate(messages, **options))

    def close(self) -> None:
        """Release the provider's resources for this model (its ``unload`` hook). Idempotent, and
        safe from any thread.

        The model's sync streams still open (:meth:`stream`) are closed first, as
        :meth:`ChatStream.close` does: their backends stop, a thread iterating one sees it end, and
        their ``.message`` keeps what arrived. Async streams are the caller's to ``aclose()`` first.

        Raises:
            PluginError: the ``unload`` hook failed (the model counts as closed all the same).
        """
        if self._closed:
            return
        self._closed = True
        with self._open_lock:
            streams = list(self._open_streams)
        for stream in streams:
            stream.close()
        try:
            self.contract.unload(self.model_id, self.state)
        finally:
            secrets, self._secrets = self._secrets, ()
            for value in secrets:
                release_secret(value)

    def __enter__(self) -> Model:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
            return
        try:  # an error while unloading must not hide the one that ended the block
            self.close()
        except Exception as error:
            get_logger().warning("unload_failed", provider=self.provider, error=repr(error))

    def __repr__(self) -> str:
        shown = redact_mapping(self.options)
        extra = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return redact(f"Model({self.spec!r}{', ' + extra if extra else ''})")


def _keep_answer(error: ToolCallParseError, message: ChatMessage) -> None:
    """Nothing received is lost when ``generate()`` raises ``error``: the whole answer (usage
    included) goes on ``error.message``, and its reasoning (the backend's, else what the parser
    read from the text) on ``error.reasoning_content``, as a successful answer would carry it."""
    error.message = message
    error.reasoning_content = message.reasoning_content or error.reasoning_content
