"""The provider on a real vLLM engine (one engine for the whole module; about 35 s to start on 2 CPU cores).

Needs vLLM and a model folder (see conftest.py). Assertions are on structure (deltas, usage, finish
reasons, abort), and on text only where SmolLM2 answers the same way every time under greedy decoding.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import pytest

import modelplug
from modelplug import Model
from modelplug.errors import ContextLengthError, InvalidOptionError
from modelplug.types import Tool, Usage
from modelplug_vllm import toolparse
from modelplug_vllm.provider import VllmState

from .conftest import KNOWS_FACTS

pytestmark = pytest.mark.vllm

QUESTION = "What is the capital of France?"
STORY = "Tell me a long story about a lighthouse keeper who finds a message in a bottle."
GREEDY: Mapping[str, Any] = {"temperature": 0.0}
WEATHER = Tool(
    name="get_weather",
    description="Get the current weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
#: The longest the caller's event loop may go without running while vLLM streams (seconds): the issue's
#: 50 ms, with room for a machine shared with other work.
MAX_LOOP_LAG_S = 0.1
HERMES_CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


@pytest.fixture(scope="module")
def model(vllm_model_dir: str, engine_options: Mapping[str, Any]) -> Iterator[Model]:
    with modelplug.load_model(f"vllm:{vllm_model_dir}", **engine_options) as loaded:
        yield loaded


@pytest.fixture(scope="module")
def hermes_model(model: Model) -> Model:
    """The same engine behind a second state that uses vLLM's hermes tool parser (no second engine)."""
    state: VllmState = model.state
    parsed = VllmState(state.model, state.runner, "hermes", toolparse.parser_class("hermes"))
    return Model("vllm", model.model_id, parsed, {"tool_parser": "hermes"})


def unfinished(model: Model) -> int:
    return model.state.runner.num_unfinished_requests()


def vllm_counts(model: Model, question: str, max_tokens: int) -> tuple[int, int]:
    """(prompt tokens, completion tokens) of a greedy request sent to the engine directly."""
    from vllm import SamplingParams

    runner = model.state.runner

    async def run() -> Any:
        prompt = await runner._render([{"role": "user", "content": question}], None, None)
        final = None
        params = SamplingParams(temperature=0.0, max_tokens=max_tokens)
        async for output in runner.engine.generate(prompt, params, request_id="direct-count"):
            final = output
        return final

    final = runner.call(run())
    return len(final.prompt_token_ids), len(final.outputs[0].token_ids)


# -- streaming -------------------------------------------------------------------------------------------


def test_the_capital_of_france_streams_token_by_token(model: Model) -> None:
    with model.stream(QUESTION, max_tokens=40, **GREEDY) as stream:
        deltas = list(stream)
    content = [d.content for d in deltas if d.content]
    assert len(content) > 3
    if KNOWS_FACTS:
        assert "Paris" in stream.message.text
        assert stream.message.finish_reason == "stop"
    assert stream.message.finish_reason in ("stop", "length")
    assert [d.usage is not None for d in deltas].count(True) == 1 and deltas[-1].usage is not None
    assert stream.ttft_s is not None and stream.ttft_s < stream.duration_s


def test_usage_equals_vllms_own_token_counts(model: Model) -> None:
    tokenizer = model.state.runner.tokenizer
    template = tokenizer.apply_chat_template(
        [{"role": "user", "content": QUESTION}], tokenize=False, add_generation_prompt=True
    )
    prompt_tokens = len(tokenizer.encode(template, add_special_tokens=False))
    with model.stream(QUESTION, max_tokens=40, **GREEDY) as stream:
        list(stream)
    direct = vllm_counts(model, QUESTION, 40)
    assert (stream.usage.prompt_tokens, stream.usage.completion_tokens) == direct
    assert stream.usage.prompt_tokens == prompt_tokens
    assert stream.usage.total_tokens == sum(direct)
    assert model.generate(QUESTION, max_tokens=40, **GREEDY).usage == stream.usage


def test_max_tokens_cuts_with_length(model: Model) -> None:
    with model.stream(STORY, max_tokens=5, **GREEDY) as stream:
        list(stream)
    assert stream.message.finish_reason == "length"
    assert stream.usage.completion_tokens == 5


def pick_stop(text: str) -> tuple[str, int]:
    """A 4-character stop sequence from ``text`` (not at its start) and where it first occurs."""
    for start in range(len(text) // 3, len(text) - 4):
        candidate = text[start : start + 4]
        if candidate.strip() == candidate and "\ufffd" not in candidate and text.find(candidate) == start:
            return candidate, start
    raise AssertionError(f"no usable stop sequence in {text!r}")


def test_stop_sequences_cut_in_the_engine(model: Model) -> None:
    answer = model.generate(QUESTION, max_tokens=40, **GREEDY).text
    stop, position = ("Paris", answer.find("Paris")) if KNOWS_FACTS else pick_stop(answer)
    message = model.generate(QUESTION, max_tokens=40, stop=[stop], **GREEDY)
    assert message.text == answer[:position] and stop not in message.text
    assert message.finish_reason == "stop"
    with model.stream(QUESTION, max_tokens=40, stop=[stop, "never-seen"], **GREEDY) as stream:
        pieces = [d.content for d in stream if d.content]
    assert "".join(pieces) == message.text
    assert not any(stop[:3] in piece for piece in pieces)
    assert stream.message.finish_reason == "stop"


def test_breaking_out_aborts_the_request_in_the_engine(model: Model) -> None:
    seen = 0
    with model.stream(STORY, max_tokens=400, **GREEDY) as stream:
        for delta in stream:
            seen += bool(delta.content)
            if seen == 3:
                break
    assert stream.outcome == "cancelled"
    assert unfinished(model) == 0
    assert stream.usage is None  # the request never finished
    assert model.generate(QUESTION, max_tokens=40, **GREEDY).usage.completion_tokens > 0  # the engine still works


def test_two_streams_interleave_on_one_engine(model: Model) -> None:
    first = model.stream(QUESTION, max_tokens=20, **GREEDY)
    second = model.stream(STORY, max_tokens=20, **GREEDY)
    with first, second:
        for _ in zip(first, second, strict=False):
            pass
        list(first), list(second)
    assert first.message.text == model.generate(QUESTION, max_tokens=20, **GREEDY).text
    assert second.usage.completion_tokens == 20
    assert unfinished(model) == 0


# -- the async path (agenerate_stream) ---------------------------------------------------------------------


def fields(deltas: Any) -> list[tuple[Any, ...]]:
    """What a delta says, tool-call ids left out (each request gets new random ones)."""
    return [
        (d.content, tuple(attrs.evolve(c, id=None) for c in d.tool_calls or ()), d.usage, d.finish_reason)
        for d in deltas
    ]


async def collect(stream: Any) -> list[Any]:
    async with stream:
        return [delta async for delta in stream]


class LagMeter:
    """The longest time the running loop took to wake a 5 ms sleeper (its lag, in seconds)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, loop.time() - start - 0.005)

    async def __aenter__(self) -> LagMeter:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def test_astream_gives_the_sync_streams_deltas_without_a_thread(model: Model, hermes_model: Model) -> None:
    assert model.capabilities.async_streaming
    with model.stream(QUESTION, max_tokens=40, **GREEDY) as stream:
        sync_deltas = list(stream)
    threads = set(threading.enumerate())
    seen_threads: set[threading.Thread] = set()

    async def main() -> list[Any]:
        astream = model.astream(QUESTION, max_tokens=40, **GREEDY)
        deltas = []
        async with astream:
            async for delta in astream:
                deltas.append(delta)
                seen_threads.update(threading.enumerate())
        assert astream.outcome == "ok" and astream.message == stream.message
        return deltas

    async_deltas = asyncio.run(main())
    assert fields(async_deltas) == fields(sync_deltas)
    assert seen_threads <= threads, f"astream started threads: {[t.name for t in seen_threads - threads]}"
    # the same text-tool-call and vLLM-parser handling as the sync path
    forced = {"type": "choice", "choice": [HERMES_CALL]}
    for loaded in (model, hermes_model):
        options = {"tools": [WEATHER], "response_format": forced, **GREEDY}
        with loaded.stream("Weather in Paris?", **options) as sync_stream:
            sync_calls = list(sync_stream)
        async_calls = asyncio.run(collect(loaded.astream("Weather in Paris?", **options)))
        assert fields(async_calls) == fields(sync_calls)
    assert asyncio.run(model.agenerate(QUESTION, max_tokens=40, **GREEDY)) == model.generate(
        QUESTION, max_tokens=40, **GREEDY
    )
    assert unfinished(model) == 0


def test_eight_astreams_on_one_loop_all_complete_and_the_loop_stays_responsive(model: Model) -> None:
    prompts = [f"Count from {n} to {n + 20}, one number per line." for n in range(8)]

    async def main() -> tuple[list[Any], float]:
        async with LagMeter() as lag:
            streams = [model.astream(prompt, max_tokens=24, **GREEDY) for prompt in prompts]
            runs = await asyncio.gather(*(collect(s) for s in streams))
        assert all(runs)
        return streams, lag.worst

    streams, worst_lag = asyncio.run(main())
    for stream in streams:
        assert stream.outcome == "ok" and stream.message.text
        assert stream.finish_reason in ("stop", "length")
        assert stream.usage is not None and 0 < stream.usage.completion_tokens <= 24
    print(f"8 vLLM astreams: worst loop lag {worst_lag * 1000:.1f} ms")
    assert worst_lag < MAX_LOOP_LAG_S, f"the event loop was blocked for {worst_lag * 1000:.0f} ms"
    assert unfinished(model) == 0


def test_cancelling_one_astream_aborts_only_its_request(model: Model) -> None:
    """task.cancel() and asyncio.timeout on two of six streams: their requests leave the engine at
    once (CancelledError / TimeoutError in the consumer), the four others run to their end."""
    budget = 48

    async def main() -> None:
        started = asyncio.Event()
        others = [model.astream(f"Count from {n} to 100.", max_tokens=budget, **GREEDY) for n in range(4)]
        victim = model.astream(STORY, max_tokens=400, **GREEDY)
        timed = model.astream(STORY, max_tokens=400, **GREEDY)

        async def consume_victim() -> None:
            async with victim:
                async for delta in victim:
                    if delta.content:
                        started.set()

        async def consume_timed() -> None:
            async with asyncio.timeout(None) as deadline, timed:
                async for delta in timed:
                    if delta.content:
                        deadline.reschedule(asyncio.get_running_loop().time())  # expires now

        other_tasks = [asyncio.create_task(collect(s)) for s in others]
        victim_task = asyncio.create_task(consume_victim())
        await started.wait()
        assert unfinished(model) == 5  # the timed stream's request has not been sent yet
        victim_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await victim_task
        running = [s for s in others if s.finish_reason is None]
        assert running, "the other streams ended before the victim was cancelled: raise their budget"
        assert unfinished(model) == len(running), "the cancelled request is still in the engine"
        with pytest.raises(TimeoutError):
            await consume_timed()
        running = [s for s in others if s.finish_reason is None]
        assert unfinished(model) == len(running), "the timed-out request is still in the engine"
        await asyncio.gather(*other_tasks)

        assert victim.outcome == "cancelled" and timed.outcome == "cancelled"
        assert victim.message.text and victim.usage is None  # what arrived is kept; no usage: never finished
        for stream in others:
            assert stream.outcome == "ok" and stream.usage is not None
            assert stream.finish_reason == "length" and stream.usage.completion_tokens == budget

    asyncio.run(main())
    assert unfinished(model) == 0
    assert model.generate(QUESTION, max_tokens=8, **GREEDY).usage.completion_tokens > 0  # the engine still works


# -- generate ----------------------------------------------------------------------------------------------


def test_generate_answers_with_usage(model: Model) -> None:
    if KNOWS_FACTS:
        message = model.generate([{"role": "user", "content": QUESTION}], **GREEDY)  # no max_tokens: up to the context
        assert "Paris" in message.text
        assert message.finish_reason == "stop"
    else:  # a random model rarely ends: it would run to the end of the context
        message = model.generate([{"role": "user", "content": QUESTION}], max_tokens=40, **GREEDY)
    assert message.usage.prompt_tokens > 10 and message.usage.completion_tokens > 1


def test_a_seed_makes_sampling_repeatable(model: Model) -> None:
    first = model.generate(STORY, max_tokens=24, temperature=1.0, seed=1234)
    second = model.generate(STORY, max_tokens=24, temperature=1.0, seed=1234)
    assert first.text == second.text


@pytest.mark.skipif(not KNOWS_FACTS, reason="random weights wander inside JSON strings past max_tokens")
def test_json_schema_response_format_gives_valid_json(model: Model) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    response_format = {"type": "json_schema", "json_schema": {"name": "city", "schema": schema}}
    message = model.generate(
        "Which city is the capital of France? Answer in JSON.",
        max_tokens=60,
        response_format=response_format,
        **GREEDY,
    )
    assert isinstance(json.loads(message.text)["city"], str)
    with model.stream("Name a colour, as JSON.", max_tokens=60, response_format={"type": "json_object"}) as stream:
        list(stream)
    assert isinstance(json.loads(stream.message.text), dict)


def test_vllm_sampling_options_pass_through_and_typos_are_refused(model: Model) -> None:
    greedy = model.generate(QUESTION, max_tokens=40, **GREEDY).text
    assert model.generate(QUESTION, max_tokens=40, top_k=1, repetition_penalty=1.0).text == greedy
    with pytest.raises(InvalidOptionError, match="did you mean top_k"):
        model.generate(QUESTION, topk=1)


def test_a_prompt_over_the_context_length_raises_context_length_error(model: Model) -> None:
    with pytest.raises(ContextLengthError, match="maximum context length"):
        model.generate("word " * 3000, max_tokens=5)
    with model.stream("word " * 3000, max_tokens=5) as stream, pytest.raises(ContextLengthError):
        list(stream)
    assert stream.outcome == "error"
    with pytest.raises(InvalidOptionError, match="min_tokens"):
        model.generate(QUESTION, min_tokens=50, max_tokens=5)
    assert unfinished(model) == 0


# -- tool calls --------------------------------------------------------------------------------------------


def needs_core_parser() -> None:
    from modelplug import toolcalls

    if not hasattr(toolcalls, "parse"):
        pytest.skip("modelplug.toolcalls has no parser in this core yet")


def test_without_a_parser_tools_reach_the_template_and_the_core_parses_text(model: Model) -> None:
    needs_core_parser()
    forced = {"type": "choice", "choice": [HERMES_CALL]}  # structured output makes the model write a call
    message = model.generate("Weather in Paris?", tools=[WEATHER], response_format=forced, **GREEDY)
    assert [(c.name, c.arguments) for c in message.tool_calls] == [("get_weather", {"city": "Paris"})]


def test_vllms_parser_streams_tool_calls(hermes_model: Model) -> None:
    forced = {"type": "choice", "choice": [HERMES_CALL]}
    assert hermes_model.capabilities.tool_calling == "native"
    message = hermes_model.generate("Weather in Paris?", tools=[WEATHER], response_format=forced, **GREEDY)
    assert [(c.name, c.arguments) for c in message.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert message.finish_reason == "tool_calls"
    with hermes_model.stream("Weather in Paris?", tools=[WEATHER], response_format=forced, **GREEDY) as stream:
        deltas = list(stream)
    tool_deltas = [d for d in deltas if d.tool_calls]
    assert len(tool_deltas) >= 2  # the name first, then the arguments in fragments
    assert [(c.name, c.arguments) for c in stream.message.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert stream.message.finish_reason == "tool_calls"
    assert stream.usage.completion_tokens == message.usage.completion_tokens


def test_vllms_parser_leaves_plain_answers_alone(hermes_model: Model) -> None:
    message = hermes_model.generate(QUESTION, tools=[WEATHER], max_tokens=40, **GREEDY)
    assert not message.tool_calls and message.text
    assert message.finish_reason in ("stop", "length")


def test_the_parse_tool_calls_hook_uses_vllms_parser_only_when_named(model: Model, hermes_model: Model) -> None:
    from modelplug_vllm import parse_tool_calls

    needs_core_parser()
    result = parse_tool_calls(state=hermes_model.state, text="Sure. " + HERMES_CALL, tools=[WEATHER])
    assert result.content.strip() == "Sure." and result.format == "hermes"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert parse_tool_calls(state=model.state, text=HERMES_CALL, tools=[WEATHER]) is None


def test_usage_of_the_stream_is_reported_once(model: Model) -> None:
    with model.stream(QUESTION, max_tokens=40, **GREEDY) as stream:
        usages = [d.usage for d in stream if d.usage is not None]
    assert usages == [stream.usage] and isinstance(stream.usage, Usage)


# -- the conformance kit -----------------------------------------------------------------------------------

try:
    from modelplug.testing import ErrorCase, ProviderConformance
except ImportError:  # the kit is not installed with this core
    ProviderConformance = None

if ProviderConformance is not None:

    class TestVllmConformance(ProviderConformance):
        """The kit's checks on the module's engine (no second engine: the fixture is overridden)."""

        max_tokens = 48
        expect_tool_call = False  # SmolLM2 answers the weather question in prose
        close_timeout = 30.0
        error_cases = (
            ErrorCase("prompt over max_model_len", expected=ContextLengthError, prompt="word " * 3000),
            ErrorCase("misspelled sampling option", expected=InvalidOptionError, options={"temprature": 0.5}),
        )

        @pytest.fixture(scope="class")
        @classmethod
        def conformance_model(cls, model: Model) -> Model:
            return model

        @pytest.mark.skipif(not KNOWS_FACTS, reason="random weights wander inside JSON strings past max_tokens")
        def test_structured_output_is_json(self, conformance_model: Model) -> None:
            super().test_structured_output_is_json(conformance_model)

        def backend_activity(self, model: Model) -> int | None:
            return unfinished(model)

        def test_tool_calls_come_back_as_tool_call_objects(self, conformance_tool_model: Model) -> None:
            needs_core_parser()
            super().test_tool_calls_come_back_as_tool_call_objects(conformance_tool_model)
