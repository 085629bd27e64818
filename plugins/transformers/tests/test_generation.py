"""Generation with the real embedded model on CPU: text, streaming, usage, stops, cancellation, concurrency."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from modelplug.errors import ContextLengthError, InvalidOptionError, ProviderError
from modelplug.types import ChatMessage, GenerationOptions

from .conftest import live_workers

pytestmark = pytest.mark.slow

QUESTION = "What is the capital of France?"
STORY = "Write a short story about a robot who learns to paint."


@pytest.fixture(scope="module")
def story(model: Any) -> ChatMessage:
    """The greedy answer to STORY, 40 tokens (shared: each generation costs seconds on a busy CPU)."""
    return model.generate(STORY, max_tokens=40)


def _stream(model: Any, prompt: Any, **options: Any) -> tuple[list[Any], Any]:
    with model.stream(prompt, **options) as stream:
        deltas = list(stream)
    return deltas, stream


def test_capital_of_france(model: Any) -> None:
    answer = model.generate(QUESTION)
    assert "Paris" in answer.content
    assert answer.finish_reason == "stop"


def test_deltas_arrive_while_generating(model: Any) -> None:
    arrivals: list[tuple[float, Any]] = []
    worker_alive_at_first_delta = None
    with model.stream(STORY, max_tokens=24) as stream:
        for delta in stream:
            if delta.content and worker_alive_at_first_delta is None:
                worker_alive_at_first_delta = bool(live_workers())
            arrivals.append((time.perf_counter(), delta))
    text_times = [t for t, d in arrivals if d.content]
    assert len(text_times) > 3
    assert worker_alive_at_first_delta is True  # the first text came while the model was still generating
    assert text_times[0] < text_times[-1] < arrivals[-1][0]
    assert arrivals[-1][1].usage is not None and arrivals[-1][1].finish_reason == "length"


def test_aggregate_equals_joined_deltas(model: Any) -> None:
    deltas, stream = _stream(model, QUESTION)
    joined = "".join(d.content or "" for d in deltas)
    assert joined and stream.message.content == joined
    assert [d for d in deltas if d.usage is not None] == [deltas[-1]]  # usage exactly once, at the end


def test_usage_counts_real_tokens(model: Any, tokenizer: Any) -> None:
    messages = [{"role": "user", "content": STORY}]
    prompt_ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
    _, stream = _stream(model, messages, max_tokens=20)
    usage, text = stream.message.usage, stream.message.content
    assert stream.message.finish_reason == "length"
    assert usage.prompt_tokens == len(prompt_ids)
    assert usage.completion_tokens == 20 == len(tokenizer(text, add_special_tokens=False)["input_ids"])
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    _, stream = _stream(model, QUESTION)
    ended = stream.message  # ended by the end-of-sequence token, which counts as generated
    assert ended.finish_reason == "stop"
    assert ended.usage.completion_tokens == len(tokenizer(ended.content, add_special_tokens=False)["input_ids"]) + 1


def test_generate_is_the_decoded_raw_generation(model: Any, tokenizer: Any, story: ChatMessage) -> None:
    """The incremental decoder's pieces add up to decoding all generated ids at once (raw generate)."""
    import torch

    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": STORY}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.inference_mode():
        out = model.state.model.generate(**prompt, max_new_tokens=40, do_sample=False)
    raw = tokenizer.decode(out[0, prompt["input_ids"].shape[-1] :], skip_special_tokens=True)
    assert story.content == raw


def test_generate_equals_aggregated_stream(model: Any, story: ChatMessage) -> None:
    _, stream = _stream(model, STORY, max_tokens=40)
    assert (story.content, story.usage, story.finish_reason) == (
        stream.message.content,
        stream.message.usage,
        stream.message.finish_reason,
    )
    answer = model.generate(QUESTION, stop=["."])
    _, stream = _stream(model, QUESTION, stop=["."])
    assert answer.content == stream.message.content == "The capital of France is Paris"
    assert answer.usage == stream.message.usage
    assert answer.finish_reason == stream.message.finish_reason == "stop"


def test_stop_sequence_cuts_without_partial_leak(model: Any, story: ChatMessage) -> None:
    full = story.content
    stop = " tapestry of"  # spans several tokens of the greedy answer
    assert stop in full
    expected = full[: full.index(stop)]
    deltas, stream = _stream(model, STORY, max_tokens=40, stop=[stop, "never-in-the-text"])
    seen = ""
    for delta in deltas:
        seen += delta.content or ""
        assert expected.startswith(seen)  # nothing past the cut was ever yielded, not even a prefix of the stop
    assert seen == expected == stream.message.content
    assert stream.message.finish_reason == "stop"
    assert stream.message.usage.completion_tokens < story.usage.completion_tokens  # generation stopped early


def test_stop_held_back_text_is_released(model: Any, story: ChatMessage) -> None:
    """A suffix that only looks like the start of a stop sequence is held, then released intact."""
    assert " t" in story.content
    deltas, stream = _stream(model, STORY, max_tokens=40, stop=[" tXYZ"])
    assert "".join(d.content or "" for d in deltas) == story.content
    assert stream.message.finish_reason == "length"


def test_break_stops_the_worker_thread(model: Any) -> None:
    with model.stream(STORY, max_tokens=400) as stream:
        for count, _ in enumerate(stream):
            if count == 3:
                assert live_workers()
                break
    assert not live_workers()
    assert stream.outcome == "cancelled"


def test_closing_the_hook_generator_joins_the_thread(model: Any) -> None:
    from modelplug_transformers import generate_stream

    deltas = generate_stream(
        state=model.state, messages=[ChatMessage(role="user", content=STORY)], options=GenerationOptions(max_tokens=400)
    )
    assert not live_workers()  # nothing starts before the first next()
    next(deltas)
    workers = live_workers()
    assert len(workers) == 1
    deltas.close()
    assert not workers[0].is_alive()


def test_concurrent_streams_match_sequential(model: Any) -> None:
    prompts = [(STORY, 24), (QUESTION, 24), (STORY, 24)]
    sequential = [model.generate(p, max_tokens=n).content for p, n in prompts]
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def consume(index: int, prompt: str, max_tokens: int) -> None:
        try:
            _, stream = _stream(model, prompt, max_tokens=max_tokens)
            results[index] = stream.message.content
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=consume, args=(i, p, n)) for i, (p, n) in enumerate(prompts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    assert [results[i] for i in range(len(prompts))] == sequential
    assert not live_workers()


def test_worker_exception_reaches_the_consumer(model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    failure = RuntimeError("out of memory (simulated)")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(model.state.model, "generate", broken)
    with pytest.raises(ProviderError) as caught, model.stream(QUESTION) as stream:
        list(stream)
    assert caught.value.original is failure
    assert "out of memory" in str(caught.value)
    assert not live_workers()
    with pytest.raises(ProviderError) as caught:
        model.generate(QUESTION)
    assert caught.value.original is failure


def test_generation_options(model: Any) -> None:
    assert model.generate(QUESTION, temperature=0).content == model.generate(QUESTION).content
    sampled = model.generate(STORY, temperature=0.8, top_p=0.9, seed=1, max_tokens=8)
    assert sampled.usage.completion_tokens <= 8
    assert model.generate(STORY, temperature=0.8, top_p=0.9, seed=1, max_tokens=8).content == sampled.content
    assert model.generate(STORY, max_tokens=8, repetition_penalty=1.3).usage.completion_tokens <= 8
    with pytest.raises(InvalidOptionError, match="no_such_option"):
        model.generate(QUESTION, no_such_option=1)


def test_prompt_longer_than_the_context(model: Any) -> None:
    with pytest.raises(ContextLengthError):
        model.generate("word " * 9000)


def test_list_content_and_roles(model: Any) -> None:
    messages = [
        {"role": "developer", "content": "Answer in one short sentence."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is the capital "}, {"type": "text", "text": "of France?"}],
        },
    ]
    assert "Paris" in model.generate(messages, max_tokens=30).content


def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
        city: the city name.
    """
    return "18 C"


def test_tools_go_through_the_fallback_prompt(model: Any) -> None:
    question = "What's the weather in Paris?"
    plain = model.generate(question, max_tokens=4)
    with_tools = model.generate(question, tools=[get_weather], max_tokens=24)
    assert with_tools.usage.prompt_tokens > plain.usage.prompt_tokens + 40  # the tool schema is in the prompt
    _, stream = _stream(model, question, tools=[get_weather], max_tokens=24)
    assert stream.message.content == with_tools.content
    assert stream.message.tool_calls == with_tools.tool_calls  # SmolLM2-135M rarely calls: both empty here


def test_capabilities(model: Any) -> None:
    import attrs

    from modelplug_transformers import capabilities

    declared = model.capabilities
    assert declared.streaming and declared.usage_in_stream and declared.stop_sequences
    assert (declared.tool_calling, declared.tool_call_format) == ("text", "hermes")
    assert capabilities(state=attrs.evolve(model.state, tool_call_format="mistral")).tool_call_format == "mistral"


def test_unload_releases_the_model() -> None:
    import modelplug

    extra = modelplug.load_model("transformers:default", max_tokens=5, progress=False)
    assert extra.generate(STORY).usage.completion_tokens == 5  # the max_tokens model option is the default
    extra.close()
    assert extra.state.model is None
    with pytest.raises(InvalidOptionError, match="closed"):
        extra.generate(QUESTION)


class _Script:
    """A logits processor (plugged in where a grammar would be) that makes the model write ``ids``."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.step = 0

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        forced = scores.new_full(scores.shape, float("-inf"))
        forced[:, self.ids[min(self.step, len(self.ids) - 1)]] = 0.0
        self.step += 1
        return forced


def test_the_embedded_model_skips_every_special_token_none_being_a_marker_of_its_format(model: Any) -> None:
    tokenizer = model.state.tokenizer
    special = {i for i, token in tokenizer.added_tokens_decoder.items() if token.special}
    named = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<file_sep>"])
    assert set(named) <= special
    assert model.state.skipped_token_ids == frozenset(special)  # its format (hermes) reads none of them


def test_a_special_marker_the_model_writes_reaches_the_text_streamed_and_not(model: Any) -> None:
    """A marker made special (as [TOOL_CALLS] is in Mistral's tokenizer) that the model generates is in
    the text of both ``run`` (the ``generate`` hook) and ``stream``; role, end and other special
    tokens are not."""
    import copy

    import attrs

    from modelplug_transformers.generation import generation_config, run, stream

    tokenizer = copy.deepcopy(model.state.tokenizer)
    tokenizer.add_special_tokens({"additional_special_tokens": ["```"]})  # an existing token, now special
    marker, other = tokenizer.convert_tokens_to_ids(["```", "<file_sep>"])  # a marker (fenced calls), and not
    assert marker in tokenizer.all_special_ids and marker < model.state.model.config.vocab_size
    loaded = attrs.evolve(model.state, tokenizer=tokenizer, skipped_token_ids=None)
    body = tokenizer('{"name": "f"}', add_special_tokens=False)["input_ids"]
    start, end = tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    script = [*tokenizer("Calling", add_special_tokens=False)["input_ids"], marker, other, *body, start, end]
    prompt = tokenizer("Hi", add_special_tokens=False)["input_ids"]
    config = generation_config(loaded, GenerationOptions(max_tokens=len(script) + 5, temperature=0), len(prompt))
    pieces: list[str] = []
    outcome = run(loaded, prompt, config, [], pieces.append, constraint=_Script(script))
    streamed = list(stream(loaded, prompt, config, [], constraint=_Script(script)))
    expected = 'Calling```{"name": "f"}'
    assert "".join(pieces) == expected
    assert "".join(d.content or "" for d in streamed) == expected
    assert outcome.finish_reason == streamed[-1].finish_reason == "stop"
    assert outcome.usage.completion_tokens == len(script)


#: SmolLM2's template, with the generation prompt ending inside a reasoning span (as Qwen3's does).
THINKING_TEMPLATE = (
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
)


def test_a_prompt_that_opens_think_sends_the_text_before_the_closer_to_reasoning(
    model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model writes only ``...</think>`` and a call; the reasoning and the call come out apart,
    through the whole answer and the stream (the core's parser reads the opener the prompt left open)."""
    import copy

    import attrs

    import modelplug_transformers.constrained as constrained
    from modelplug.types import Tool
    from modelplug_transformers.templates import inspect_template, open_reasoning_span, render_messages

    tokenizer = copy.deepcopy(model.state.tokenizer)
    tokenizer.chat_template = THINKING_TEMPLATE
    state = attrs.evolve(model.state, tokenizer=tokenizer, template=inspect_template(tokenizer))
    prompt = render_messages(tokenizer, state.template, [ChatMessage(role="user", content=QUESTION)])
    assert tokenizer.decode(prompt).endswith("<think>\n")
    assert open_reasoning_span(tokenizer, prompt, "hermes") == "<think>"
    written = (
        'Paris, surely; I could call <tool_call>{"name": "x"}</tool_call>.</think>\n'
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
    )
    script = [*tokenizer(written, add_special_tokens=False)["input_ids"], tokenizer.convert_tokens_to_ids("<|im_end|>")]
    monkeypatch.setattr(constrained, "constraint_for", lambda *args: _Script(script))
    monkeypatch.setattr(model, "state", state)
    weather = Tool("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
    options = {"tools": [weather], "max_tokens": len(script) + 5, "temperature": 0}
    answer = model.generate(QUESTION, **options)
    deltas, _ = _stream(model, QUESTION, **options)
    thought = 'Paris, surely; I could call <tool_call>{"name": "x"}</tool_call>.'
    assert answer.reasoning_content == thought
    assert [(c.name, c.arguments) for c in answer.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert not answer.content
    assert "".join(d.reasoning_content or "" for d in deltas) == thought
    assert not "".join(d.content or "" for d in deltas)
    assert [p.name for d in deltas for p in d.tool_calls if p.name] == ["get_weather"]


def test_without_tools_a_prompt_that_opens_think_still_splits_the_reasoning(
    model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No tools: the core still reads the span the prompt opened (it used to build its parser only
    for tools, so ``<think>`` and the reasoning stayed in ``content``), in generate() and stream()."""
    import copy

    import attrs

    import modelplug_transformers.constrained as constrained
    from modelplug_transformers.templates import inspect_template

    tokenizer = copy.deepcopy(model.state.tokenizer)
    tokenizer.chat_template = THINKING_TEMPLATE
    state = attrs.evolve(model.state, tokenizer=tokenizer, template=inspect_template(tokenizer))
    written = "Paris, surely; a <tool_call> here is no call.</think>\nIt is Paris."
    script = [*tokenizer(written, add_special_tokens=False)["input_ids"], tokenizer.convert_tokens_to_ids("<|im_end|>")]
    monkeypatch.setattr(constrained, "constraint_for", lambda *args: _Script(script))
    monkeypatch.setattr(model, "state", state)
    options = {"max_tokens": len(script) + 5, "temperature": 0}
    answer = model.generate(QUESTION, **options)
    deltas, stream = _stream(model, QUESTION, **options)
    for message in (answer, stream.message):
        assert message.reasoning_content == "Paris, surely; a <tool_call> here is no call."
        assert message.content == "\nIt is Paris."
    assert "<think>" not in "".join(d.content or "" for d in deltas)
