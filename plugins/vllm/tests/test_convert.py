"""The provider's conversion code: vLLM outputs → deltas and messages, options → ``SamplingParams``.

Every output test runs twice: with small stand-in objects (no vLLM needed: runs in every venv) and,
marked ``vllm``, with vLLM's real ``RequestOutput`` / ``CompletionOutput`` / ``SamplingParams`` /
``StructuredOutputsParams`` / ``DeltaMessage`` classes, so the conversion is tested against the
installed vLLM rather than a guess of its shapes.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelplug import StreamAggregator
from modelplug.errors import InvalidOptionError
from modelplug.types import ChatMessage, GenerationOptions, Tool, ToolCall, ToolCallDelta, Usage
from modelplug_vllm.convert import (
    OutputTracker,
    delta_from_delta_message,
    deltas_from_outputs,
    message_from_output,
    messages_to_openai,
    sampling_kwargs,
    structured_output_spec,
    tools_to_openai,
)

needs_vllm = [
    pytest.mark.vllm,
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vLLM is not installed"),
]

PROMPT_IDS = list(range(100, 137))  # 37 prompt tokens, as SmolLM2's template gives for the France question


# -- building outputs: stand-ins, or vLLM's real classes ---------------------------------------------


@dataclasses.dataclass
class StandInCompletion:
    index: int
    text: str
    token_ids: Sequence[int]
    cumulative_logprob: float | None = None
    logprobs: Any = None
    finish_reason: str | None = None
    stop_reason: str | int | None = None


@dataclasses.dataclass
class StandInRequestOutput:
    request_id: str
    prompt: str | None
    prompt_token_ids: list[int] | None
    prompt_logprobs: Any
    outputs: list[Any]
    finished: bool


@dataclasses.dataclass
class StandInFunction:
    name: str | None = None
    arguments: str | None = None


@dataclasses.dataclass
class StandInToolCallDelta:
    index: int
    id: str | None = None
    type: str | None = None
    function: StandInFunction | None = None


@dataclasses.dataclass
class StandInDeltaMessage:
    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[Any] = dataclasses.field(default_factory=list)


class Classes:
    """The classes one run of the tests builds outputs with."""

    def __init__(self, real: bool) -> None:
        if real:
            from vllm.outputs import CompletionOutput, RequestOutput

            protocol = _vllm_protocol()
            self.completion: Any = CompletionOutput
            self.request: Any = RequestOutput
            self.delta_message: Any = protocol.DeltaMessage
            self.tool_call_delta: Any = protocol.DeltaToolCall
            self.function: Any = protocol.DeltaFunctionCall
        else:
            self.completion = StandInCompletion
            self.request = StandInRequestOutput
            self.delta_message = StandInDeltaMessage
            self.tool_call_delta = StandInToolCallDelta
            self.function = StandInFunction

    def output(
        self,
        text: str,
        token_ids: Sequence[int],
        *,
        finish_reason: str | None = None,
        stop_reason: str | int | None = None,
        prompt_ids: list[int] | None = None,
    ) -> Any:
        completion = self.completion(
            index=0,
            text=text,
            token_ids=list(token_ids),
            cumulative_logprob=None,
            logprobs=None,
            finish_reason=finish_reason,
            stop_reason=stop_reason,
        )
        return self.request(
            request_id="modelplug-test",
            prompt=None,
            prompt_token_ids=PROMPT_IDS if prompt_ids is None else prompt_ids,
            prompt_logprobs=None,
            outputs=[completion],
            finished=finish_reason is not None,
        )


def _vllm_protocol() -> Any:
    for name in ("vllm.entrypoints.generate.base.protocol", "vllm.entrypoints.openai.protocol"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "DeltaMessage"):
            return module
    raise AssertionError("vLLM's DeltaMessage was not found")


@pytest.fixture(scope="module", params=["stand-in", pytest.param("vllm", marks=needs_vllm)])
def classes(request: pytest.FixtureRequest) -> Classes:
    return Classes(real=request.param == "vllm")


def delta_outputs(classes: Classes, pieces: Sequence[str], finish_reason: str = "stop", **last: Any) -> list[Any]:
    """One DELTA output per piece (one token each), the last one finishing."""
    outputs = []
    for number, piece in enumerate(pieces):
        final = number == len(pieces) - 1
        reason = finish_reason if final else None
        outputs.append(classes.output(piece, [1000 + number], finish_reason=reason, **(last if final else {})))
    return outputs


def cumulative_outputs(classes: Classes, pieces: Sequence[str], finish_reason: str = "stop") -> list[Any]:
    """One CUMULATIVE output per piece: the text and token ids so far."""
    outputs = []
    for number in range(len(pieces)):
        final = number == len(pieces) - 1
        text = "".join(pieces[: number + 1])
        ids = [1000 + i for i in range(number + 1)]
        outputs.append(classes.output(text, ids, finish_reason=finish_reason if final else None))
    return outputs


PIECES = ["The", " capital", " of", " France", " is", " Paris", ".", ""]


# -- outputs → deltas ----------------------------------------------------------------------------------


def test_delta_outputs_become_one_delta_per_token_with_usage_on_the_last(classes: Classes) -> None:
    deltas = deltas_from_outputs(delta_outputs(classes, PIECES))
    assert [d.content for d in deltas] == ["The", " capital", " of", " France", " is", " Paris", ".", None]
    assert all(d.usage is None and d.finish_reason is None for d in deltas[:-1])
    assert deltas[-1].usage == Usage(prompt_tokens=37, completion_tokens=8, total_tokens=45)
    assert deltas[-1].finish_reason == "stop"


def test_cumulative_outputs_give_the_same_deltas(classes: Classes) -> None:
    assert deltas_from_outputs(cumulative_outputs(classes, PIECES), cumulative=True) == deltas_from_outputs(
        delta_outputs(classes, PIECES)
    )


def test_a_final_only_output_becomes_the_message(classes: Classes) -> None:
    final = classes.output("The capital of France is Paris.", range(8), finish_reason="stop")
    message = message_from_output(final)
    assert message == ChatMessage(
        role="assistant",
        content="The capital of France is Paris.",
        usage=Usage(37, 8),
        finish_reason="stop",
    )


@pytest.mark.parametrize("reason", ["stop", "length", "abort"])
def test_finish_reason_and_stop_reason_are_kept_as_vllm_gives_them(classes: Classes, reason: str) -> None:
    stop = "France" if reason == "stop" else None
    outputs = delta_outputs(classes, ["a", "b"], finish_reason=reason, stop_reason=stop)
    tracker = OutputTracker()
    steps = [tracker.feed(o) for o in outputs]
    assert [s.finished for s in steps] == [False, True]
    assert steps[-1].finish_reason == reason
    assert steps[-1].stop_reason == ("France" if reason == "stop" else None)
    assert tracker.token_ids == [1000, 1001]


def test_an_output_without_text_yields_no_delta_until_it_finishes(classes: Classes) -> None:
    tracker = OutputTracker()
    assert tracker.feed(classes.output("", [7])).to_delta() is None
    last = tracker.feed(classes.output("", [8], finish_reason="length")).to_delta()
    assert last is not None and last.content is None and last.usage == Usage(37, 2)


def test_a_missing_prompt_token_list_counts_zero_prompt_tokens(classes: Classes) -> None:
    output = classes.output("x", [1], finish_reason="stop", prompt_ids=None)
    output.prompt_token_ids = None
    assert deltas_from_outputs([output])[-1].usage == Usage(0, 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.text(max_size=4), min_size=1, max_size=20), prompt=st.integers(0, 300))
def test_any_split_aggregates_to_the_whole_text(classes: Classes, pieces: list[str], prompt: int) -> None:
    outputs = [
        classes.output(
            piece,
            [i],
            finish_reason="length" if i == len(pieces) - 1 else None,
            prompt_ids=list(range(prompt)),
        )
        for i, piece in enumerate(pieces)
    ]
    aggregator = StreamAggregator()
    for delta in deltas_from_outputs(outputs):
        aggregator.add(delta)
    message = aggregator.message
    assert (message.content or "") == "".join(pieces)
    assert message.usage == Usage(prompt, len(pieces))
    assert message.finish_reason == "length"


# -- tool parser deltas ----------------------------------------------------------------------------------


def test_a_tool_parser_delta_message_becomes_tool_call_deltas(classes: Classes) -> None:
    first = classes.delta_message(
        tool_calls=[classes.tool_call_delta(index=0, id="call_1", type="function", function=classes.function(name="f"))]
    )
    fragment = classes.function(arguments='{"x"')
    second = classes.delta_message(tool_calls=[classes.tool_call_delta(index=0, function=fragment)])
    text = classes.delta_message(content="Sure. ", reasoning="thinking")
    assert delta_from_delta_message(first).tool_calls == (ToolCallDelta(index=0, id="call_1", name="f"),)
    assert delta_from_delta_message(second).tool_calls == (ToolCallDelta(index=0, arguments='{"x"'),)
    converted = delta_from_delta_message(text)
    assert (converted.content, converted.reasoning_content) == ("Sure. ", "thinking")
    assert delta_from_delta_message(classes.delta_message()) is None
    assert delta_from_delta_message(None) is None


# -- options → SamplingParams ----------------------------------------------------------------------------


def test_generation_options_become_sampling_kwargs() -> None:
    options = GenerationOptions.from_kwargs(
        {"max_tokens": 40, "temperature": 0, "top_p": 0.9, "seed": 7, "stop": "France", "top_k": 5}
    )
    assert sampling_kwargs(options, defaults={"temperature": 0.6, "repetition_penalty": 1.1}) == {
        "max_tokens": 40,
        "temperature": 0.0,
        "top_p": 0.9,
        "seed": 7,
        "stop": ["France"],
        "top_k": 5,
        "repetition_penalty": 1.1,
    }


def test_unset_max_tokens_means_up_to_the_context_unless_the_model_sets_it() -> None:
    assert sampling_kwargs(GenerationOptions())["max_tokens"] is None
    assert sampling_kwargs(GenerationOptions(), defaults={"max_tokens": 256})["max_tokens"] == 256
    assert sampling_kwargs(GenerationOptions(max_tokens=3), defaults={"max_tokens": 256})["max_tokens"] == 3


def test_misspelled_and_reserved_sampling_options_are_refused() -> None:
    allowed = {"max_tokens", "temperature", "top_k", "top_p", "stop", "seed"}
    with pytest.raises(InvalidOptionError, match="did you mean top_k"):
        sampling_kwargs(GenerationOptions(extra={"topk": 3}), allowed=allowed)
    with pytest.raises(InvalidOptionError, match="'n'"):
        sampling_kwargs(GenerationOptions(extra={"n": 2}), allowed=allowed | {"n"})


SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        (None, None),
        ({"type": "text"}, None),
        ({"type": "json_object"}, {"json_object": True}),
        ({"type": "json_schema", "json_schema": {"name": "city", "schema": SCHEMA}}, {"json": SCHEMA}),
        ({"type": "regex", "regex": "[0-9]+"}, {"regex": "[0-9]+"}),
        ({"type": "choice", "choice": ("yes", "no")}, {"choice": ["yes", "no"]}),
    ],
)
def test_response_format_becomes_structured_output_params(response_format: Any, expected: Any) -> None:
    assert structured_output_spec(response_format) == expected


@pytest.mark.parametrize("bad", [{"type": "json_schema", "json_schema": {"name": "x"}}, {"type": "xml"}, "json"])
def test_bad_response_formats_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidOptionError):
        structured_output_spec(bad)


@pytest.mark.parametrize("real", [pytest.param(True, marks=needs_vllm)])
def test_the_kwargs_build_vllms_real_sampling_params(real: bool) -> None:
    from modelplug_vllm import compat

    options = GenerationOptions.from_kwargs(
        {"max_tokens": 40, "temperature": 0.5, "top_p": 0.9, "seed": 7, "stop": ["France"], "top_k": 5}
    )
    kwargs = sampling_kwargs(options, allowed=compat.sampling_param_names())
    field, params_class = compat.structured_output_field()
    kwargs[field] = params_class(**structured_output_spec({"type": "json_schema", "json_schema": {"schema": SCHEMA}}))
    kwargs["output_kind"] = compat.request_output_kind().DELTA
    params = compat.sampling_params_class()(**kwargs)
    assert (params.max_tokens, params.temperature, params.top_p, params.seed, params.top_k) == (40, 0.5, 0.9, 7, 5)
    assert params.stop == ["France"]
    assert getattr(params, field).json == SCHEMA
    assert compat.sampling_params_class()(max_tokens=None).max_tokens is None
    with pytest.raises(InvalidOptionError, match="no option 'temprature'"):
        sampling_kwargs(GenerationOptions(extra={"temprature": 1}), allowed=compat.sampling_param_names())


# -- messages and tools → the renderer's dicts ---------------------------------------------------------------


def test_messages_become_chat_completion_dicts() -> None:
    call = ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})
    messages = [
        ChatMessage(role="user", content="Weather in Paris?"),
        ChatMessage(role="assistant", content=None, tool_calls=(call,), reasoning_content="hmm"),
        ChatMessage(role="tool", content="sunny", tool_call_id="call_1"),
    ]
    wire = messages_to_openai(messages)
    assert wire[0] == {"role": "user", "content": "Weather in Paris?"}
    assert "reasoning_content" not in wire[1]
    assert json.loads(wire[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
    assert wire[2]["tool_call_id"] == "call_1"
    as_objects = messages_to_openai(messages, arguments_as_objects=True)
    assert as_objects[1]["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}


def test_tools_become_chat_completion_tools() -> None:
    tool = Tool(name="get_weather", description="Weather.", parameters=SCHEMA)
    assert tools_to_openai([tool]) == [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather.", "parameters": SCHEMA}}
    ]
    assert tools_to_openai([]) is None


# -- vLLM's own tool parsers (need vLLM and the model's tokenizer) --------------------------------------------

WEATHER = Tool(name="get_weather", description="Weather in a city.", parameters=SCHEMA)
HERMES_TEXT = 'Sure. <tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


@pytest.fixture(scope="module")
def tokenizer(vllm_model_dir: str) -> Any:
    from vllm.tokenizers import get_tokenizer

    return get_tokenizer(vllm_model_dir)


@pytest.mark.vllm
def test_vllms_hermes_parser_reads_a_whole_answer(tokenizer: Any) -> None:
    from modelplug_vllm import toolparse

    request = toolparse.parser_request([WEATHER])
    parser = toolparse.new_parser(toolparse.parser_class("hermes"), tokenizer, request)
    content, calls = toolparse.extract(parser, HERMES_TEXT, request)
    assert content == "Sure. "
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Paris"})]
    parser = toolparse.new_parser(toolparse.parser_class("hermes"), tokenizer, request)
    assert toolparse.extract(parser, "The weather is fine.", request) == ("The weather is fine.", [])


@pytest.mark.vllm
def test_vllms_hermes_parser_streams_token_by_token_to_the_same_call(tokenizer: Any) -> None:
    from modelplug_vllm import toolparse

    request = toolparse.parser_request([WEATHER])
    stream = toolparse.StreamingToolParser(
        toolparse.new_parser(toolparse.parser_class("hermes"), tokenizer, request), request
    )
    aggregator = StreamAggregator()
    tool_deltas = 0
    for token_id in tokenizer.encode(HERMES_TEXT, add_special_tokens=False):
        delta = stream.feed(tokenizer.decode([token_id]), [token_id])
        if delta is not None:
            tool_deltas += bool(delta.tool_calls)
            aggregator.add(delta)
    rest = stream.finish()
    if rest is not None:
        aggregator.add(rest)
    message = aggregator.message
    assert stream.called and tool_deltas >= 2  # the name, then argument fragments
    assert message.text.strip() == "Sure."
    assert [(c.name, c.arguments) for c in message.tool_calls] == [("get_weather", {"city": "Paris"})]


@pytest.mark.vllm
def test_unknown_or_unfitting_tool_parsers_are_refused(tokenizer: Any) -> None:
    from modelplug_vllm import toolparse

    with pytest.raises(InvalidOptionError, match=r"registered: .*hermes"):
        toolparse.parser_class("no-such-parser")
    with pytest.raises(InvalidOptionError, match="does not work with this model's tokenizer"):
        toolparse.check_parser(toolparse.parser_class("mistral"), tokenizer, "mistral")
    toolparse.check_parser(toolparse.parser_class("hermes"), tokenizer, "hermes")


#: A chat template whose generation prompt ends inside a reasoning span, as Qwen3's does.
THINKING_TEMPLATE = (
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
)


@pytest.mark.parametrize("cumulative", [False, True])
def test_a_prompt_left_inside_think_starts_the_text_with_the_opener(classes: Classes, cumulative: bool) -> None:
    """The text the core reads (tool calls as text) opens the span the model only closes, so the
    reasoning goes to ``reasoning_content``; without ``open_reasoning`` the text is unchanged."""
    import jinja2

    from modelplug.toolcalls import parse

    prompt = jinja2.Template(THINKING_TEMPLATE).render(
        messages=[{"role": "user", "content": "Weather?"}], add_generation_prompt=True
    )
    pieces = ["Paris", " it is", ".</th", "ink>\n", '<tool_call>{"name": "w", "arguments": {}}</tool_call>', ""]
    make = cumulative_outputs if cumulative else delta_outputs
    texts = []
    for look in (True, False):
        tracker = OutputTracker(cumulative=cumulative, open_reasoning=look)
        steps = []
        for output in make(classes, pieces):
            output.prompt = prompt
            steps.append(tracker.feed(output))
        texts.append("".join(step.text for step in steps))
    assert texts == ["<think>" + "".join(pieces), "".join(pieces)]
    result = parse(texts[0], "hermes")
    assert result.reasoning_content == "Paris it is."
    assert [call.name for call in result.tool_calls] == ["w"]
    plain = prompt.replace("<think>\n", "")
    tracker = OutputTracker(cumulative=cumulative, open_reasoning=True)
    first = make(classes, pieces)[0]
    first.prompt = plain
    assert tracker.feed(first).text == "Paris"
