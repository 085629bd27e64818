"""``ProviderConformance``: the base test class a provider package runs against its own provider.

Subclass it in the provider's tests and set ``model_spec`` (or override the ``conformance_model``
fixture); pytest collects every check. Each check tests what the provider declares in its
capabilities. Configuration, the checks and how to opt out of one: ``docs/conformance.md``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import attrs
import pytest

from modelplug._load import load_model
from modelplug._model import Model
from modelplug.errors import CapabilityError, InvalidOptionError, ModelplugError, ProviderError
from modelplug.testing.checks import (
    StreamRun,
    aconsume,
    consume,
    pick_stop_sequence,
    stop_leak_problems,
    tool_call_problems,
    usage_problems,
)
from modelplug.testing.probe import CallProbe
from modelplug.types import Capabilities, ChatMessage, Tool

__all__ = ["WEATHER_TOOL", "ErrorCase", "ProviderConformance"]

#: The tool the tool-calling checks offer by default.
WEATHER_TOOL = Tool(
    name="get_weather",
    description="Get the current weather in a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city, e.g. Paris"}},
        "required": ["city"],
    },
)

#: Options the core must reject with InvalidOptionError before the provider runs.
_INVALID_OPTIONS: tuple[Mapping[str, Any], ...] = (
    {"max_tokens": -1},
    {"max_tokens": 0},
    {"temperature": -1.0},
    {"top_p": 2.0},
    {"stop": [""]},
)

#: Fewest characters a "long" answer must have for the streaming checks to mean something.
_LONG_ANSWER_CHARS = 20
_SHORT_MAX_TOKENS = 4


@attrs.frozen
class ErrorCase:
    """A request the provider must refuse with a modelplug error (see ``error_cases``).

    Attributes:
        id: a short name shown in failures (``"connection refused"``).
        expected: the :class:`~modelplug.errors.ModelplugError` subclass the provider must raise.
        spec: the model spec to load; ``None``: the conformance model's spec.
        model_options: the model options to load it with; when both this and ``spec`` are ``None``
            the conformance model itself is used, and only ``options`` differ.
        options: generation options of the request (``{"max_tokens": 10**9}``, provider extras).
        prompt: the user message; ``None``: the class's ``prompt``.
    """

    id: str
    expected: type[ModelplugError] = ProviderError
    spec: str | None = None
    model_options: Mapping[str, Any] | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    prompt: str | None = None


def _wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _fail(problems: Sequence[str], context: str) -> None:
    if problems:
        pytest.fail(f"{context}:\n  - " + "\n  - ".join(problems), pytrace=False)


class ProviderConformance:
    """The conformance checks, as a base class for a provider's test class.

    Configure with class attributes (and fixtures, for what depends on other fixtures):

    Attributes:
        model_spec: ``"<provider>:<model id>"`` of the model to check (required unless
            ``conformance_model`` is overridden).
        model_options: model options for :func:`modelplug.load_model`.
        prompt: a prompt that makes the model write a long answer (several sentences).
        max_tokens: the ``max_tokens`` of the long answer; keep it small for slow models.
        greedy: generation options for reproducible (greedy) decoding.
        deterministic: the same greedy request always gives the same answer; when false the checks
            that compare two answers compare their shape only.
        tool_prompt: a prompt that makes the model call one of ``tools``.
        tools: the tools offered by the tool-calling check.
        tool_max_tokens: ``max_tokens`` of the tool-calling requests.
        expect_tool_call: the model reliably calls a tool for ``tool_prompt``; when false, an
            answer without a tool call skips the rest of the check instead of failing it.
        structured_prompt: a prompt asking for a JSON object (for ``structured_output``).
        close_timeout: seconds the backend gets to stop (threads end) after a stream is closed.
        max_loop_lag_s: the longest the event loop may go without running other tasks while a
            native async stream (``async_streaming=True``) runs, in seconds.
        error_cases: requests the provider must refuse, as :class:`ErrorCase` values.
    """

    model_spec: ClassVar[str] = ""
    model_options: ClassVar[Mapping[str, Any]] = {}
    prompt: ClassVar[str] = "Tell me a long story about a lighthouse keeper who finds a message in a bottle."
    max_tokens: ClassVar[int] = 48
    greedy: ClassVar[Mapping[str, Any]] = {"temperature": 0.0, "seed": 0}
    deterministic: ClassVar[bool] = True
    tool_prompt: ClassVar[str] = "What is the weather like in Paris right now? Use the get_weather tool."
    tools: ClassVar[Sequence[Tool]] = (WEATHER_TOOL,)
    tool_max_tokens: ClassVar[int] = 128
    expect_tool_call: ClassVar[bool] = True
    structured_prompt: ClassVar[str] = 'Describe a cat as a JSON object with the keys "name" and "age".'
    close_timeout: ClassVar[float] = 10.0
    max_loop_lag_s: ClassVar[float] = 0.5
    error_cases: ClassVar[Sequence[ErrorCase]] = ()

    # -- fixtures: override these for models that depend on other fixtures ---------------------

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_model(cls) -> Iterator[Model]:
        """The model under test, loaded once per class from ``model_spec`` / ``model_options``."""
        if not cls.model_spec:
            pytest.fail(f"{cls.__name__}: set model_spec or override the conformance_model fixture", pytrace=False)
        with load_model(cls.model_spec, **cls.model_options) as model:
            yield model

    @pytest.fixture
    def conformance_tool_model(self, conformance_model: Model) -> Model:
        """The model the tool-calling check uses (by default the conformance model)."""
        return conformance_model

    @pytest.fixture
    def conformance_error_cases(self) -> Sequence[ErrorCase]:
        """The provider errors to provoke (by default the ``error_cases`` attribute)."""
        return tuple(self.error_cases)

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_answer(cls, conformance_model: Model) -> ChatMessage:
        """The greedy answer to ``prompt`` (``generate``), computed once per class."""
        return conformance_model.generate(cls.prompt, max_tokens=cls.max_tokens, **cls.greedy)

    @pytest.fixture(autouse=True)
    def conformance_probe(self) -> Iterator[CallProbe]:
        """A :class:`CallProbe` installed around every check."""
        with CallProbe() as probe:
            yield probe

    def backend_activity(self, model: Model) -> int | None:
        """How much work the backend is doing now (running generations, open connections), or
        ``None`` when that cannot be seen (the default). Override it when it can: the kit checks it
        returns to its earlier value after a stream is closed early."""
        return None

    # -- helpers -------------------------------------------------------------------------------

    def _stream(self, model: Model, prompt: str, **options: Any) -> StreamRun:
        return consume(model.stream(prompt, **options))

    def _astream(self, model: Model, prompt: str, **options: Any) -> StreamRun:
        return asyncio.run(aconsume(model.astream(prompt, **options)))

    def _long(self, model: Model, answer: ChatMessage) -> None:
        if len(answer.text) < _LONG_ANSWER_CHARS:
            pytest.fail(
                f"the answer to `prompt` is too short to check streaming ({answer.text!r}); set `prompt` to "
                f"one that makes {model.spec} write several sentences, or raise `max_tokens`",
                pytrace=False,
            )

    def _undeclared_problems(self, caps: Capabilities, message: ChatMessage, where: str) -> list[str]:
        problems = []
        if message.tool_calls:
            problems.append(f"{where} returned tool calls although the request offered no tools")
        if message.reasoning_content and not caps.reasoning:
            problems.append(f"{where} delivered reasoning_content but the capabilities declare reasoning=False")
        return problems

    # -- the checks ------------------------------------------------------------------------------

    def test_capabilities_are_declared(self, conformance_model: Model) -> None:
        """The capabilities hook returns a ``Capabilities`` record (asked once, then cached)."""
        caps = conformance_model.capabilities
        assert isinstance(caps, Capabilities), f"capabilities hook returned {caps!r}"
        if caps.tool_calling == "none":
            assert not caps.streamed_tool_calls, "streamed_tool_calls=True but tool_calling='none'"

    def test_generate_returns_an_assistant_message(
        self, conformance_model: Model, conformance_answer: ChatMessage
    ) -> None:
        """``generate`` returns an assistant ``ChatMessage`` with text, an honest usage, and nothing
        the capabilities do not declare."""
        answer = conformance_answer
        caps = conformance_model.capabilities
        assert isinstance(answer, ChatMessage), f"generate returned {answer!r}"
        assert answer.role == "assistant", f"generate returned a message with role {answer.role!r}"
        assert isinstance(answer.content, str), f"generate returned content {answer.content!r}, not text"
        self._long(conformance_model, answer)
        problems = self._undeclared_problems(caps, answer, "generate()")
        usage = answer.usage
        if usage is not None:
            if usage.completion_tokens < 1 or usage.prompt_tokens < 1:
                problems.append(f"usage {usage} counts no prompt or no completion tokens")
            if usage.completion_tokens > self.max_tokens:
                problems.append(
                    f"usage counts {usage.completion_tokens} completion tokens, over max_tokens={self.max_tokens}"
                )
            if usage.total_tokens < usage.prompt_tokens + usage.completion_tokens:
                problems.append(f"total_tokens is less than prompt_tokens + completion_tokens in {usage}")
        if self.deterministic:
            again = conformance_model.generate(self.prompt, max_tokens=self.max_tokens, **self.greedy)
            if again.content != answer.content:
                problems.append(
                    f"two greedy generate() calls gave different answers ({answer.text[:40]!r}… vs "
                    f"{again.text[:40]!r}…); set deterministic = False if the backend cannot be greedy"
                )
        _fail(problems, f"{conformance_model.spec}: generate()")

    def test_max_tokens_limits_the_answer(self, conformance_model: Model, conformance_answer: ChatMessage) -> None:
        """A small ``max_tokens`` gives a shorter answer, counted within the limit, cut with ``"length"``."""
        short = conformance_model.generate(self.prompt, max_tokens=_SHORT_MAX_TOKENS, **self.greedy)
        problems = []
        long_usage = conformance_answer.usage
        if len(short.text) >= len(conformance_answer.text) and len(conformance_answer.text) > 0:
            problems.append(
                f"max_tokens={_SHORT_MAX_TOKENS} gave {short.text!r}, no shorter than the answer with "
                f"max_tokens={self.max_tokens}"
            )
        if short.usage is not None and short.usage.completion_tokens > _SHORT_MAX_TOKENS:
            problems.append(
                f"max_tokens={_SHORT_MAX_TOKENS} but usage counts {short.usage.completion_tokens} completion tokens"
            )
        if (
            long_usage is not None
            and long_usage.completion_tokens > _SHORT_MAX_TOKENS
            and short.finish_reason != "length"
        ):
            problems.append(f"an answer cut by max_tokens has finish_reason {short.finish_reason!r}, not 'length'")
        _fail(problems, f"{conformance_model.spec}: max_tokens")

    def test_stream_yields_deltas_as_generated(self, conformance_model: Model, conformance_answer: ChatMessage) -> None:
        """A provider declaring streaming yields the long answer in more than one delta; one declaring
        none is refused by ``stream()`` and served by the one-delta fallback."""
        caps = conformance_model.capabilities
        if not caps.streaming:
            with pytest.raises(CapabilityError):
                conformance_model.stream(self.prompt, max_tokens=self.max_tokens, **self.greedy)
            run = self._stream(
                conformance_model, self.prompt, allow_fallback=True, max_tokens=self.max_tokens, **self.greedy
            )
            assert len(run.deltas) == 1, f"the fallback stream gave {len(run.deltas)} deltas, not 1"
            return
        self._long(conformance_model, conformance_answer)
        run = self._stream(conformance_model, self.prompt, max_tokens=self.max_tokens, **self.greedy)
        problems = []
        if run.content_deltas < 2:
            problems.append(
                f"streaming=True is declared but the {len(conformance_answer.text)}-character answer came in "
                f"{run.content_deltas} content delta(s): yield the text as the backend produces it"
            )
        if run.outcome != "ok":
            problems.append(f"the stream ended with outcome {run.outcome!r}")
        _fail(problems, f"{conformance_model.spec}: stream()")

    def test_stream_aggregate_equals_generate(self, conformance_model: Model, conformance_answer: ChatMessage) -> None:
        """For greedy decoding the aggregate of the stream equals ``generate``'s message."""
        caps = conformance_model.capabilities
        run = self._stream(
            conformance_model, self.prompt, allow_fallback=not caps.streaming, max_tokens=self.max_tokens, **self.greedy
        )
        message = run.message
        problems = self._undeclared_problems(caps, message, "stream()")
        if run.joined != message.text:
            problems.append("the joined content of the deltas differs from the stream's aggregate")
        if self.deterministic:
            if message.content != conformance_answer.content:
                problems.append(
                    f"the streamed answer differs from generate()'s:\n      stream:   {message.text!r}\n"
                    f"      generate: {conformance_answer.text!r}"
                )
            if message.finish_reason != conformance_answer.finish_reason:
                problems.append(
                    f"finish_reason {message.finish_reason!r} in the stream, "
                    f"{conformance_answer.finish_reason!r} from generate()"
                )
        _fail(problems, f"{conformance_model.spec}: stream vs generate")

    def test_stream_usage_is_reported_and_not_double_counted(
        self, conformance_model: Model, conformance_answer: ChatMessage
    ) -> None:
        """Usage in a stream comes when declared (and only then), once or as cumulative snapshots,
        and the final usage is what ``generate`` reports."""
        caps = conformance_model.capabilities
        if not caps.streaming:
            pytest.skip("the provider declares no streaming")
        run = self._stream(conformance_model, self.prompt, max_tokens=self.max_tokens, **self.greedy)
        problems = []
        if caps.usage_in_stream and not run.usages:
            problems.append("usage_in_stream=True is declared but the stream reported no usage")
        if not caps.usage_in_stream and run.usages:
            problems.append(
                f"the stream reported usage {run.usages[-1]} but the capabilities declare usage_in_stream=False"
            )
        problems += usage_problems(
            run.usages,
            final=run.message.usage,
            reference=conformance_answer.usage if self.deterministic else None,
            max_tokens=self.max_tokens,
            finish_reason=run.message.finish_reason,
        )
        _fail(problems, f"{conformance_model.spec}: usage in the stream")

    def test_stop_sequence_is_honoured_without_partial_leaks(
        self, conformance_model: Model, conformance_answer: ChatMessage
    ) -> None:
        """A stop sequence taken from the model's own greedy answer cuts it there, in ``generate`` and
        in the stream, and no part of it ever reaches the consumer."""
        caps = conformance_model.capabilities
        text = conformance_answer.text
        self._long(conformance_model, conformance_answer)
        picked = pick_stop_sequence(text, start=min(8, len(text) // 4))
        if picked is None:
            pytest.fail(f"no usable stop sequence in the answer {text!r}; use a prompt with a less repetitive answer")
        stop, position = picked
        expected = text[:position] if self.deterministic else None
        stops = [stop, "\x00never-in-any-answer\x00"]
        message = conformance_model.generate(self.prompt, max_tokens=self.max_tokens, stop=stops, **self.greedy)
        problems = []
        if stop in message.text:
            problems.append(f"generate(stop=[{stop!r}]) returned text containing the stop sequence: {message.text!r}")
        elif expected is not None and message.text != expected:
            problems.append(f"generate(stop=[{stop!r}]) returned {message.text[-60:]!r}, expected {expected[-60:]!r}")
        if expected is not None and message.finish_reason != "stop":
            problems.append(
                f"generate() stopped by a stop sequence has finish_reason {message.finish_reason!r}, not 'stop'"
            )
        run = self._stream(
            conformance_model,
            self.prompt,
            allow_fallback=not caps.streaming,
            max_tokens=self.max_tokens,
            stop=stops,
            **self.greedy,
        )
        problems += stop_leak_problems(run, stop, expected)
        declared = "declared" if caps.stop_sequences else "emulated by the core"
        _fail(problems, f"{conformance_model.spec}: stop sequence {stop!r} at {position} ({declared})")

    def test_breaking_out_of_a_stream_stops_the_backend(
        self, conformance_model: Model, conformance_answer: ChatMessage, conformance_probe: CallProbe
    ) -> None:
        """Leaving a stream early closes the provider's generator, ends the threads it started, and
        leaves the model usable."""
        model = conformance_model
        if not model.capabilities.streaming:
            pytest.skip("the provider declares no streaming")
        budget = self.max_tokens * 4
        self._stream(model, self.prompt, max_tokens=self.max_tokens, **self.greedy)  # warm-up: pools start here
        threads_before = set(threading.enumerate())
        activity_before = self.backend_activity(model)
        conformance_probe.reset()
        with model.stream(self.prompt, max_tokens=budget, **self.greedy) as stream:
            for delta in stream:
                if delta.content:
                    break
        problems = []
        if stream.outcome != "cancelled":
            problems.append(f"the stream's outcome is {stream.outcome!r} after leaving its with block, not 'cancelled'")
        if len(conformance_probe.streams) != 1:
            pytest.fail(f"expected one generate_stream call, saw {conformance_probe.calls}", pytrace=False)
        probe = conformance_probe.streams[0]
        if probe.exhausted:
            pytest.fail(
                "the provider's stream had ended before the first content delta was consumed; use a prompt that "
                "makes a longer answer",
                pytrace=False,
            )
        if not probe.closeable:
            problems.append(
                f"generate_stream returned a {type(probe.inner).__name__} without close(): return a generator so "
                "the core can stop the backend"
            )
        if probe.close_error is not None:
            problems.append(
                f"closing the provider's generator raised {probe.close_error!r}: the generator must not yield "
                "after close(); stop the backend in a finally block"
            )
        elif probe.is_generator and probe.generator_state != "GEN_CLOSED":
            problems.append(f"the provider's generator is {probe.generator_state} after the stream was closed")

        def new_threads() -> list[threading.Thread]:
            return [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]

        if not _wait_until(lambda: not new_threads(), self.close_timeout):
            names = ", ".join(t.name for t in new_threads())
            problems.append(f"threads still running {self.close_timeout} s after the stream was closed: {names}")
        if activity_before is not None and not _wait_until(
            lambda: self.backend_activity(model) == activity_before, self.close_timeout
        ):
            problems.append(
                f"backend activity is {self.backend_activity(model)} {self.close_timeout} s after the stream was "
                f"closed, {activity_before} before it"
            )
        again = model.generate(self.prompt, max_tokens=self.max_tokens, **self.greedy)
        if self.deterministic and again.content != conformance_answer.content:
            problems.append("after a cancelled stream, generate() gives a different greedy answer than before")
        _fail(problems, f"{model.spec}: closing a stream early")

    # -- the async path --------------------------------------------------------------------------

    def test_async_stream_equals_the_sync_stream(
        self, conformance_model: Model, conformance_answer: ChatMessage
    ) -> None:
        """``astream`` gives the sync stream's text, finish reason and usage (for greedy decoding), and
        ``agenerate`` gives ``generate``'s answer: natively or through the core's worker thread."""
        model = conformance_model
        caps = model.capabilities
        options: dict[str, Any] = {"max_tokens": self.max_tokens, **self.greedy}
        fallback = not (caps.streaming or caps.async_streaming)
        run = self._stream(model, self.prompt, allow_fallback=fallback, **options)
        arun = self._astream(model, self.prompt, allow_fallback=fallback, **options)
        answer = asyncio.run(model.agenerate(self.prompt, **options))
        problems = []
        if arun.outcome != "ok":
            problems.append(f"the async stream ended with outcome {arun.outcome!r}")
        if arun.joined != arun.message.text:
            problems.append("the joined content of the async deltas differs from the async stream's aggregate")
        if not isinstance(answer, ChatMessage) or answer.role != "assistant":
            problems.append(f"agenerate returned {answer!r}, not an assistant ChatMessage")
        elif self.deterministic:
            for name, sync_value, async_value in (
                ("text", run.message.text, arun.message.text),
                ("finish_reason", run.message.finish_reason, arun.message.finish_reason),
                ("usage", run.message.usage, arun.message.usage),
            ):
                if sync_value != async_value:
                    problems.append(f"astream's {name} {async_value!r:.80} differs from stream()'s {sync_value!r:.80}")
            if answer.content != conformance_answer.content:
                problems.append(
                    f"agenerate() gave {answer.text[:40]!r}…, generate() {conformance_answer.text[:40]!r}… (greedy)"
                )
        elif not arun.message.text:
            problems.append("the async stream delivered no text")
        if caps.streaming and not caps.async_streaming and arun.content_deltas < 2 <= run.content_deltas:
            problems.append(
                f"the async stream gave {arun.content_deltas} content delta(s), the sync one {run.content_deltas}"
            )
        _fail(problems, f"{model.spec}: astream() / agenerate()")

    def test_async_streaming_is_declared_truly(self, conformance_model: Model, conformance_probe: CallProbe) -> None:
        """``async_streaming=True`` means ``agenerate_stream`` is implemented, used by ``astream`` and
        never blocks the event loop for long; without it ``astream`` runs ``generate_stream`` in a
        worker thread, and an ``agenerate_stream`` nobody would call is reported."""
        model = conformance_model
        caps = model.capabilities
        implements = model.contract.implements("agenerate_stream")
        if not caps.async_streaming:
            if implements:
                pytest.fail(
                    "the provider implements agenerate_stream but declares async_streaming=False, so the core never "
                    "calls it: declare it (async_streaming=True) or remove the hook",
                    pytrace=False,
                )
            if not caps.streaming:
                pytest.skip("the provider declares no streaming")
        elif not implements:
            pytest.fail("async_streaming=True is declared but the provider has no agenerate_stream hook", pytrace=False)
        conformance_probe.reset()
        lags: list[float] = []

        async def main() -> StreamRun:
            done = asyncio.Event()

            async def tick() -> None:
                while not done.is_set():
                    before = time.perf_counter()
                    await asyncio.sleep(0.005)
                    lags.append(time.perf_counter() - before - 0.005)

            ticker = asyncio.create_task(tick())
            await asyncio.sleep(0)  # the ticker starts its first sleep before the stream starts
            try:
                return await aconsume(model.astream(self.prompt, max_tokens=self.max_tokens, **self.greedy))
            finally:
                done.set()
                await ticker

        run = asyncio.run(main())
        hooks = [hook for hook, _ in conformance_probe.calls]
        expected = "agenerate_stream" if caps.async_streaming else "generate_stream"
        problems = []
        if hooks != [expected]:
            problems.append(f"astream() called {hooks}, expected [{expected!r}]")
        if run.outcome != "ok":
            problems.append(f"the async stream ended with outcome {run.outcome!r}")
        if lags and max(lags) > self.max_loop_lag_s:
            problems.append(
                f"the event loop was blocked for {max(lags):.3f} s during the stream (max_loop_lag_s="
                f"{self.max_loop_lag_s}): await the backend, or leave async_streaming=False and let the core "
                "run generate_stream in a thread"
            )
        _fail(problems, f"{model.spec}: async_streaming={caps.async_streaming}")

    @pytest.mark.parametrize("how", ["aclose", "cancel"])
    def test_closing_or_cancelling_an_async_stream_stops_the_backend(
        self, conformance_model: Model, conformance_answer: ChatMessage, conformance_probe: CallProbe, how: str
    ) -> None:
        """Leaving an ``async with`` block early (``aclose``) or cancelling the consuming task stops the
        backend: the provider's (async) generator is closed, its threads end, ``CancelledError``
        propagates, and the model stays usable."""
        model = conformance_model
        caps = model.capabilities
        if not (caps.streaming or caps.async_streaming):
            pytest.skip("the provider declares no streaming")
        budget = self.max_tokens * 4
        self._astream(model, self.prompt, max_tokens=self.max_tokens, **self.greedy)  # warm-up
        threads_before = set(threading.enumerate())
        activity_before = self.backend_activity(model)
        conformance_probe.reset()

        async def main() -> tuple[Any, bool]:
            stream = model.astream(self.prompt, max_tokens=budget, **self.greedy)
            if how == "aclose":
                async with stream:
                    async for delta in stream:
                        if delta.content:
                            break
                return stream, False
            got = asyncio.Event()

            async def consume_all() -> None:
                try:
                    async with stream:
                        async for delta in stream:
                            if delta.content:
                                got.set()
                                await asyncio.Event().wait()  # cancelled here, the stream still open
                finally:
                    got.set()

            task = asyncio.create_task(consume_all())
            await got.wait()
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return stream, True
            return stream, False

        stream, cancelled = asyncio.run(main())
        problems = []
        if how == "cancel" and not cancelled:
            problems.append("cancelling the task consuming astream() did not raise CancelledError in it")
        if stream.outcome != "cancelled":
            problems.append(f"the async stream's outcome is {stream.outcome!r} after it was stopped, not 'cancelled'")
        if caps.async_streaming:
            if len(conformance_probe.astreams) != 1:
                pytest.fail(f"expected one agenerate_stream call, saw {conformance_probe.calls}", pytrace=False)
            aprobe = conformance_probe.astreams[0]
            if aprobe.exhausted:
                pytest.fail(
                    "the provider's async stream had ended before it could be stopped: use a longer prompt, or make "
                    "agenerate_stream await its backend (a stream that never lets the loop run other tasks cannot "
                    "be cancelled)",
                    pytrace=False,
                )
            if not aprobe.closeable:
                problems.append(f"agenerate_stream returned a {type(aprobe.inner).__name__} without aclose()")
            if aprobe.close_error is not None:
                problems.append(f"closing the provider's async generator raised {aprobe.close_error!r}")
            elif aprobe.finished is False:
                problems.append("the provider's async generator is still running after the stream was stopped")
        else:
            if len(conformance_probe.streams) != 1:
                pytest.fail(f"expected one generate_stream call, saw {conformance_probe.calls}", pytrace=False)
            probe = conformance_probe.streams[0]  # the worker thread reads ahead: it may have reached the end
            if probe.close_error is not None:
                problems.append(f"closing the provider's generator raised {probe.close_error!r}")
            elif not _wait_until(lambda: probe.generator_state in (None, "GEN_CLOSED"), self.close_timeout):
                problems.append(f"the provider's generator is {probe.generator_state} after the stream was stopped")

        def new_threads() -> list[threading.Thread]:
            return [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]

        if not _wait_until(lambda: not new_threads(), self.close_timeout):
            names = ", ".join(t.name for t in new_threads())
            problems.append(f"threads still running {self.close_timeout} s after the async stream stopped: {names}")
        if activity_before is not None and not _wait_until(
            lambda: self.backend_activity(model) == activity_before, self.close_timeout
        ):
            problems.append(
                f"backend activity is {self.backend_activity(model)} {self.close_timeout} s after the async stream "
                f"stopped, {activity_before} before it"
            )
        again = model.generate(self.prompt, max_tokens=self.max_tokens, **self.greedy)
        if self.deterministic and again.content != conformance_answer.content:
            problems.append("after a stopped async stream, generate() gives a different greedy answer than before")
        _fail(problems, f"{model.spec}: stopping an async stream ({how})")

    def test_tool_calls_come_back_as_tool_call_objects(self, conformance_tool_model: Model) -> None:
        """A provider declaring tool calling returns ``ToolCall`` objects (native, or parsed from text)
        from ``generate`` and from the stream; one declaring none is refused tools by the core."""
        model = conformance_tool_model
        caps = model.capabilities
        if caps.tool_calling == "none":
            with pytest.raises(CapabilityError):
                model.generate(self.tool_prompt, tools=list(self.tools), max_tokens=self.tool_max_tokens)
            return
        message = model.generate(
            self.tool_prompt, tools=list(self.tools), max_tokens=self.tool_max_tokens, **self.greedy
        )
        if not message.tool_calls:
            if self.expect_tool_call:
                pytest.fail(
                    f"tool_calling={caps.tool_calling!r} is declared but the answer to `tool_prompt` has no tool "
                    f"call: {message.text[:200]!r}. If this model does not call tools reliably, set "
                    "expect_tool_call = False",
                    pytrace=False,
                )
            pytest.skip(f"the model did not call a tool for `tool_prompt` ({message.text[:80]!r})")
        problems = tool_call_problems(message, self.tools)
        if caps.streaming:
            run = self._stream(
                model, self.tool_prompt, tools=list(self.tools), max_tokens=self.tool_max_tokens, **self.greedy
            )
            problems += [f"stream: {p}" for p in tool_call_problems(run.message, self.tools)]
            if self.deterministic:
                expected = [(c.name, c.arguments) for c in message.tool_calls]
                got = [(c.name, c.arguments) for c in run.message.tool_calls]
                if expected != got:
                    problems.append(f"the stream's tool calls {got} differ from generate()'s {expected}")
            if caps.streamed_tool_calls and run.message.tool_calls and not any(d.tool_calls for d in run.deltas):
                problems.append("streamed_tool_calls=True is declared but no delta carried a tool call")
        _fail(problems, f"{model.spec}: tool calls ({caps.tool_calling})")

    def test_forced_tool_choice_gives_a_call(self, conformance_tool_model: Model) -> None:
        """A provider declaring ``forced_tool_choice`` answers ``tool_choice="required"`` and a named
        function with a readable call of that tool, from ``generate`` and from the stream alike."""
        model = conformance_tool_model
        caps = model.capabilities
        if not caps.forced_tool_choice:
            pytest.skip("the provider declares no forced tool choice")
        problems: list[str] = []
        named = {"type": "function", "function": {"name": self.tools[0].name}}
        for choice in ("required", named):
            options = dict(tools=list(self.tools), tool_choice=choice, max_tokens=self.tool_max_tokens, **self.greedy)
            message = model.generate(self.tool_prompt, **options)
            if not message.tool_calls:
                problems.append(f"tool_choice={choice!r} gave no tool call: {message.text[:200]!r}")
                continue
            problems += [f"tool_choice={choice!r}: {p}" for p in tool_call_problems(message, self.tools)]
            if choice is named and any(c.name != self.tools[0].name for c in message.tool_calls):
                problems.append(f"tool_choice={choice!r} called {[c.name for c in message.tool_calls]}")
            if caps.streaming:
                run = self._stream(model, self.tool_prompt, **options)
                if self.deterministic and [(c.name, c.arguments) for c in run.message.tool_calls] != [
                    (c.name, c.arguments) for c in message.tool_calls
                ]:
                    problems.append(f"tool_choice={choice!r}: the stream's calls differ from generate()'s")
        _fail(problems, f"{model.spec}: forced tool choice")

    def test_structured_output_follows_the_schema(self, conformance_model: Model) -> None:
        """A provider declaring ``structured_output`` returns JSON text of the given schema for
        ``response_format={"type": "json_schema", ...}``."""
        if not conformance_model.capabilities.structured_output:
            pytest.skip("the provider declares no structured output")
        schema = {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"],
            "additionalProperties": False,
        }
        message = conformance_model.generate(
            self.structured_prompt,
            response_format={"type": "json_schema", "json_schema": {"name": "cat", "schema": schema}},
            max_tokens=self.tool_max_tokens,
            **self.greedy,
        )
        try:
            value = json.loads(message.text)
        except ValueError:
            value = None
        ok = isinstance(value, dict) and set(value) == {"name", "age"}
        ok = ok and isinstance(value["name"], str) and type(value["age"]) is int
        assert ok, f"structured_output=True but a json_schema response_format gave {message.text!r}"

    def test_structured_output_is_json(self, conformance_model: Model) -> None:
        """A provider declaring ``structured_output`` returns a JSON object for ``response_format=json_object``."""
        if not conformance_model.capabilities.structured_output:
            pytest.skip("the provider declares no structured output")
        message = conformance_model.generate(
            self.structured_prompt,
            response_format={"type": "json_object"},
            max_tokens=self.tool_max_tokens,
            **self.greedy,
        )
        try:
            value = json.loads(message.text)
        except ValueError:
            value = None
        assert isinstance(value, dict), f"structured_output=True but response_format=json_object gave {message.text!r}"

    def test_invalid_requests_are_refused_before_the_provider(
        self, conformance_model: Model, conformance_probe: CallProbe
    ) -> None:
        """Impossible options raise ``InvalidOptionError`` and never reach the provider."""
        model = conformance_model
        for options in _INVALID_OPTIONS:
            conformance_probe.reset()
            with pytest.raises(InvalidOptionError):
                model.generate(self.prompt, **options)
            if model.capabilities.streaming:
                with pytest.raises(InvalidOptionError):
                    model.stream(self.prompt, **options)
            assert not conformance_probe.calls, f"the provider was called for invalid options {options}"
        with pytest.raises(InvalidOptionError):
            model.generate([])

    def test_provider_errors_are_mapped(
        self, conformance_model: Model, conformance_error_cases: Sequence[ErrorCase]
    ) -> None:
        """Each of ``error_cases`` raises the expected modelplug error, with the provider named and the
        original exception kept, from ``generate`` and from the stream."""
        if not conformance_error_cases:
            pytest.skip("no error_cases configured for this provider")
        problems: list[str] = []
        for case in conformance_error_cases:
            problems += self._error_case_problems(conformance_model, case)
        _fail(problems, f"{conformance_model.spec}: provider errors")

    def _error_case_problems(self, model: Model, case: ErrorCase) -> list[str]:
        prompt = case.prompt or self.prompt
        own = case.spec is not None or case.model_options is not None
        loaded: Model | None = None
        problems: list[str] = []
        try:
            if own:
                loaded = load_model(case.spec or model.spec, **(case.model_options or {}))
            target = loaded or model
            target.generate(prompt, **case.options)
        except BaseException as error:
            problems += self._error_problems(model, case, error, "generate")
        else:
            problems.append(f"[{case.id}] generate() raised nothing; expected {case.expected.__name__}")
        try:
            if loaded is not None or not own:
                target = loaded or model
                if target.capabilities.streaming:
                    with target.stream(prompt, **case.options) as stream:
                        try:
                            for _ in stream:
                                pass
                        except BaseException as error:
                            problems += self._error_problems(model, case, error, "stream")
                            if stream.outcome != "error" or stream.error is not error:
                                problems.append(
                                    f"[{case.id}] the failed stream's outcome is {stream.outcome!r}, not 'error'"
                                )
                        else:
                            problems.append(f"[{case.id}] the stream raised nothing; expected {case.expected.__name__}")
        except BaseException as error:  # raised by stream() itself
            problems += self._error_problems(model, case, error, "stream")
        finally:
            if loaded is not None:
                loaded.close()
        return problems

    def _error_problems(self, model: Model, case: ErrorCase, error: BaseException, where: str) -> list[str]:
        if not isinstance(error, Exception):
            raise error
        if not isinstance(error, ModelplugError):
            return [
                f"[{case.id}] {where} raised {type(error).__name__}: {error}, which is not a modelplug error: map "
                "backend errors into modelplug.errors"
            ]
        problems = []
        if not isinstance(error, case.expected):
            problems.append(
                f"[{case.id}] {where} raised {type(error).__name__} ({error}); expected {case.expected.__name__}"
            )
        if isinstance(error, ProviderError) and error.provider != model.provider:
            problems.append(
                f"[{case.id}] {where}: {type(error).__name__}.provider is {error.provider!r}, not {model.provider!r}"
            )
        return problems
