"""The public API: parse, StreamParser, detect_format, FORMATS, tools, ids, errors."""

from __future__ import annotations

import json

import pytest

from modelplug.errors import InvalidOptionError, ToolCallParseError
from modelplug.toolcalls import ALIASES, FORMATS, ParseResult, StreamParser, detect_format, parse
from modelplug.types import ChatMessageStreamDelta, Tool
from tests.toolcalls._support import merge

#: Formats added after the fixture file was collected; their cases are in the test file of each format's module.
ADDED = ("functiongemma", "deepseek_v32")
ADDED += ("deepseek_v4", "deepseek_v41", "kimi_k3", "cohere_command4", "longcat", "gigachat3", "gigachat35")
ADDED += ("hy_v3", "qwen25_coder", "nemotron_json")
ADDED += ("granite_20b_fc", "apertus", "step_audio_2", "dots", "solar_open2", "minicpm5", "plamo3", "iquest_q1")
ADDED += ("hyperclovax_seed_think", "rwkv", "k2_horizon", "cwm", "minimax_m3", "muse_glimmer", "inkling")

HERMES = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'


def test_formats_are_the_fixture_formats() -> None:
    # the 28 formats of the fixture file, plus those added without fixture cases (issue 12, kind 5)
    assert len(FORMATS) == len(set(FORMATS)) == 28 + len(ADDED)
    assert set(ADDED) <= set(FORMATS)
    assert {"hermes", "mistral", "harmony", "qwen3_coder", "bare_json", "gemma4", "smollm2"} <= set(FORMATS)
    assert all(target in FORMATS for target in ALIASES.values())


def test_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(InvalidOptionError) as info:
        parse("x", format="hermes2")
    assert "hermes2" in str(info.value) and "qwen3_coder" in str(info.value)
    with pytest.raises(ValueError):
        StreamParser(format="nope")


def test_aliases() -> None:
    text = '<|channel|>commentary to=functions.f <|constrain|>json<|message|>{"a": 1}<|call|>'
    assert parse(text, format="openai").tool_calls[0].arguments == {"a": 1}


def test_parse_result() -> None:
    result = parse("Checking. " + HERMES)
    assert isinstance(result, ParseResult)
    assert result.content == "Checking."
    assert result.format == "hermes"
    (call,) = result.tool_calls
    assert (call.name, call.arguments, call.raw_arguments) == ("get_weather", {"city": "Paris"}, None)
    assert call.id.startswith("call_") and len(call.id) == 29


def test_empty_and_plain_text() -> None:
    assert parse("") == ParseResult(content=None)
    assert parse("Just prose.\n") == ParseResult(content="Just prose.\n")
    assert parse("  indented\n\n", format="hermes").content == "  indented\n\n"


def test_minted_ids_are_unique() -> None:
    result = parse(HERMES * 3)
    assert len({call.id for call in result.tool_calls}) == 3


def test_model_ids_are_kept() -> None:
    kimi = (
        "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>"
        '{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>'
    )
    assert parse(kimi).tool_calls[0].id == "functions.get_weather:0"
    mistral = '[TOOL_CALLS]get_weather[CALL_ID]abcDEF123[ARGS]{"city": "Bern"}'
    assert parse(mistral).tool_calls[0].id == "abcDEF123"
    openai_shaped = '{"id": "call_7", "type": "function", "function": {"name": "f", "arguments": "{}"}}'
    assert parse(f"<tool_call>{openai_shaped}</tool_call>").tool_calls[0].id == "call_7"


def test_detect_format() -> None:
    assert detect_format(HERMES) == "hermes"
    assert detect_format("[TOOL_CALLS]f{}") == "mistral"
    assert detect_format("<tool_call>\n<function=f>\n</function>\n</tool_call>") == "qwen3_coder"
    assert detect_format("<tool_call>f\n<arg_key>a</arg_key>\n<arg_value>1</arg_value>\n</tool_call>") == "glm45"
    assert detect_format("<tool_call>{broken") == "hermes"  # a broken call still tells the format
    assert detect_format("no calls here") is None


def test_tools_in_every_form() -> None:
    def get_weather(city: str, days: int = 1) -> str:
        """Weather.

        Args:
            city: where.
            days: how many.
        """
        return city

    text = (
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Oslo</arg_value>\n"
        "<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>"
    )
    for tools in (
        [get_weather],
        [Tool("get_weather", parameters={"type": "object", "properties": {"days": {"type": "integer"}}})],
        [
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": {"properties": {"days": {"type": "integer"}}}},
            }
        ],
    ):
        assert parse(text, tools=tools).tool_calls[0].arguments == {"city": "Oslo", "days": 3}
    assert parse(text).tool_calls[0].arguments == {"city": "Oslo", "days": "3"}  # no schema, no coercion


def test_json_arguments_are_coerced_too() -> None:
    tools = [{"name": "f", "parameters": {"properties": {"n": {"type": "integer"}, "s": {"type": "string"}}}}]
    text = '<tool_call>{"name": "f", "arguments": {"n": "7", "s": "7"}}</tool_call>'
    assert parse(text, tools=tools).tool_calls[0].arguments == {"n": 7, "s": "7"}


def test_unknown_tool_is_an_error_with_a_marker_and_prose_without() -> None:
    tools = [{"name": "get_weather"}]
    with pytest.raises(ToolCallParseError) as info:
        parse('<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>', tools=tools)
    assert "rm_rf" in info.value.reason and "get_weather" in info.value.reason
    bare = 'An example: {"name": "rm_rf", "arguments": {}}'
    assert parse(bare, tools=tools) == ParseResult(content=bare)


def test_error_details() -> None:
    text = (
        'Calling. <tool_call>{"name": "a", "arguments": {}}</tool_call><tool_call>{"name": "b", "arguments": {"x": 1}'
    )
    with pytest.raises(ToolCallParseError) as info:
        parse(text)
    error = info.value
    assert error.format == "hermes"
    assert error.offset == text.index('<tool_call>{"name": "b"')
    assert error.text == text
    assert [call.name for call in error.tool_calls] == ["a"]
    assert error.content == "Calling." + text[error.offset :]
    assert "ends inside" in error.reason and "offset" in str(error)


def test_non_object_arguments_are_an_error() -> None:
    with pytest.raises(ToolCallParseError, match="must be a JSON object"):
        parse('<tool_call>{"name": "f", "arguments": [1]}</tool_call>')


def test_stream_parser_basics() -> None:
    parser = StreamParser("hermes")
    deltas = parser.feed("Checking. ") + parser.feed(HERMES[:30]) + parser.feed(HERMES[30:]) + parser.finish()
    assert all(isinstance(d, ChatMessageStreamDelta) for d in deltas)
    content, calls, _ = merge(deltas)
    assert content == "Checking."
    assert calls[0]["name"] == "get_weather" and calls[0]["arguments"] == {"city": "Paris"}
    assert parser.result.tool_calls[0].id == calls[0]["id"]
    assert parser.format == "hermes"
    assert parser.finish() == []
    with pytest.raises(RuntimeError):
        parser.feed("more")


def test_stream_error_carries_the_last_deltas() -> None:
    parser = StreamParser()
    deltas = parser.feed('Let me see. <tool_call>{"name": "f"')
    assert merge(deltas)[0] == "Let me see."
    with pytest.raises(ToolCallParseError) as info:
        parser.finish()
    rest = list(info.value.deltas)
    content, calls, _ = merge(deltas + rest)
    assert content == 'Let me see. <tool_call>{"name": "f"'
    assert content == info.value.content
    # the name was announced while streaming, the call never completed
    assert [call["arguments"] for call in calls] == [None]


def test_harmony_reasoning() -> None:
    text = "<|channel|>analysis<|message|>Think first.<|end|><|start|>assistant<|channel|>final<|message|>Hi!<|return|>"
    result = parse(text)
    assert (result.content, result.reasoning_content) == ("Hi!", "Think first.")
    parser = StreamParser("harmony")
    deltas = [d for piece in text for d in parser.feed(piece)] + parser.finish()
    assert merge(deltas)[0::2] == ("Hi!", "Think first.")


def test_arguments_delta_is_json_of_the_final_arguments() -> None:
    tools = [{"name": "f", "parameters": {"properties": {"n": {"type": "integer"}}}}]
    parser = StreamParser("qwen3_coder", tools)
    deltas = parser.feed("<tool_call>\n<function=f>\n<parameter=n>\n42\n</parameter>\n<parameter=s>x")
    deltas += parser.feed("</parameter>\n</function>\n</tool_call>")
    pieces = [piece for d in deltas for piece in d.tool_calls]
    assert pieces[0].name == "f" and pieces[0].arguments is None
    # streamed as soon as certain (coerced to the schema; a string as it is written), then the close
    assert [piece.arguments for piece in pieces[1:]] == ['{"n": 42, "s": "x', '"}']
    assert json.loads("".join(piece.arguments or "" for piece in pieces)) == {"n": 42, "s": "x"}


@pytest.mark.parametrize("format", [None, "hermes", "seed_oss", "mistral"])
def test_calls_false_reads_reasoning_spans_and_leaves_every_marker_as_content(format: str | None) -> None:
    """``calls=False`` (the core's no-tools reading): spans split, a call-shaped text stays content."""
    text = f"<think>weigh {HERMES}</think>\nIt is sunny. {HERMES} [TOOL_CALLS]"
    result = parse(text, format, calls=False)
    assert result == ParseResult(f"\nIt is sunny. {HERMES} [TOOL_CALLS]", reasoning_content=f"weigh {HERMES}")
    for cut in range(len(text) + 1):
        parser = StreamParser(format, calls=False)
        deltas = parser.feed(text[:cut]) + parser.feed(text[cut:]) + parser.finish()
        assert not any(d.tool_calls for d in deltas)
        assert "".join(d.content or "" for d in deltas) == result.content
        assert "".join(d.reasoning_content or "" for d in deltas) == result.reasoning_content


def test_calls_false_knows_the_spans_of_the_format() -> None:
    assert parse("<seed:think>a</seed:think>b", "seed_oss", calls=False).reasoning_content == "a"
    assert parse("<seed:think>a</seed:think>b", "hermes", calls=False).content == "<seed:think>a</seed:think>b"
    assert parse("<|channel>thought\na<channel|>b", None, calls=False) == ParseResult("b", reasoning_content="a")


@pytest.mark.parametrize(
    ("format", "text", "content", "thought"),
    [
        (
            "harmony",
            "<|channel|>analysis<|message|>Think.<|end|>"
            '<|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json<|message|>{"a": 1}<|call|>'
            "<|start|>assistant<|channel|>final<|message|>Hi!<|return|>",
            '<|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json<|message|>{"a": 1}<|call|>Hi!',
            "Think.",
        ),
        (
            "harmony",  # broken calls are no errors without calls: the text as written
            "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant to=functions.<|message|>{<|call|>"
            "<|start|>assistant to=functions.f<|call|> <|channel|>final to=functions.g",
            "<|start|>assistant to=functions.<|message|>{<|call|>"
            "<|start|>assistant to=functions.f<|call|> <|channel|>final to=functions.g",
            "Think.",
        ),
        (
            "muse_glimmer",
            "to=self<|message|>Think.<|eom|><|start|>assistant to=f<|message|>"
            '<atem:function_calls><atem:invoke name="f"></atem:invoke></atem:function_calls><|eom|>'
            "<|start|>assistant to=user<|message|>Hi!<|eot|>",
            '<|start|>assistant to=f<|message|><atem:function_calls><atem:invoke name="f"></atem:invoke>'
            "</atem:function_calls><|eom|>Hi!",
            "Think.",
        ),
        (
            "inkling",
            "<|message_model|><|content_thinking|>Think.<|end_message|>"
            '<|message_model|>f<|content_invoke_tool_json|>{"name": "f", "args": {}}<|end_message|>'
            "<|message_model|><|content_text|>Hi!<|end_message|>",
            '<|message_model|>f<|content_invoke_tool_json|>{"name": "f", "args": {}}<|end_message|>Hi!',
            "Think.",
        ),
    ],
)
@pytest.mark.parametrize("detect", [False, True])
def test_calls_false_reads_channel_messages_and_leaves_a_message_to_a_tool_as_content(
    format: str, text: str, content: str, thought: str, detect: bool
) -> None:
    """Harmony's analysis channel, MuseGlimmer's ``to=self`` and Inkling's thinking blocks are
    reasoning without tools too (a Transformers model with a channel format and no tools); a
    message to a tool is content exactly as written, never an error, whole and at every split."""
    mode = None if detect else format
    assert parse(text, mode, calls=False) == ParseResult(content, reasoning_content=thought)
    for cut in range(len(text) + 1):
        parser = StreamParser(mode, calls=False)
        deltas = parser.feed(text[:cut]) + parser.feed(text[cut:]) + parser.finish()
        assert parser.channels
        assert not any(d.tool_calls for d in deltas)
        assert ("".join(d.content or "" for d in deltas), "".join(d.reasoning_content or "" for d in deltas)) == (
            content,
            thought,
        ), cut


def test_a_prompt_opened_inkling_block_is_read_without_calls() -> None:
    text = "<|content_thinking|>Think.<|end_message|><|message_model|><|content_text|>Hi!<|end_message|>"
    result = parse(text, "inkling", calls=False, reasoning_started="<|message_model|>")
    assert result == ParseResult("Hi!", reasoning_content="Think.")
