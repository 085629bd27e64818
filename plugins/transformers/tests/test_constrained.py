"""Grammar-constrained decoding: forced tool calls and response_format (llguidance)."""

from __future__ import annotations

import json
from typing import Any

import llguidance
import pytest

from modelplug.errors import InvalidOptionError
from modelplug.tools import tool_from_function
from modelplug.types import GenerationOptions, check_tool_choice
from modelplug_transformers.constrained import FORCED_FORMATS, grammar_for


def calculator(expression: str) -> float:
    """Evaluate an arithmetic expression.

    Args:
        expression: the expression, e.g. "2 * 3".
    """
    raise NotImplementedError


def weather(city: str, unit: str = "celsius") -> str:
    """The weather in a city.

    Args:
        city: the city.
        unit: celsius or fahrenheit.
    """
    raise NotImplementedError


TOOLS = [tool_from_function(calculator), tool_from_function(weather)]
NAMED = {"type": "function", "function": {"name": "weather"}}
UNKNOWN = {"type": "function", "function": {"name": "nope"}}
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
    "additionalProperties": False,
}


def _valid(grammar: str | None) -> None:
    assert grammar is not None
    failed, problems = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)  # (is_error, messages)
    assert not failed and not problems, problems


@pytest.mark.parametrize(
    "options",
    [
        GenerationOptions(),
        GenerationOptions(tools=TOOLS),
        GenerationOptions(tools=TOOLS, tool_choice="auto"),
        GenerationOptions(tools=TOOLS, tool_choice="none"),
        GenerationOptions(response_format={"type": "text"}),
    ],
)
def test_free_requests_get_no_grammar(options: GenerationOptions) -> None:
    assert grammar_for(options, "hermes") is None


@pytest.mark.parametrize("fmt", [None, *FORCED_FORMATS])
@pytest.mark.parametrize("choice", ["required", NAMED])
def test_forced_calls_get_a_valid_grammar_naming_the_chosen_tools(fmt: str | None, choice: Any) -> None:
    grammar = grammar_for(GenerationOptions(tools=TOOLS, tool_choice=choice), fmt)
    _valid(grammar)
    assert '"weather"' in grammar
    assert ('"calculator"' in grammar) is (choice == "required")
    if fmt in (None, "hermes"):
        assert grammar.startswith('start: "<tool_call>" call "</tool_call>"')


def test_a_marker_that_is_a_special_token_is_that_token_in_the_grammar() -> None:
    grammar = grammar_for(GenerationOptions(tools=TOOLS, tool_choice=NAMED), "hermes", {"<tool_call>": 7})
    assert grammar is not None
    failed, problems = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    assert not failed and problems == ["no tokenizer - can't validate <[...]>"]  # checked with one: below
    assert grammar.startswith('start: <[7]> call "</tool_call>"')


def test_the_argument_schema_refuses_keys_it_does_not_declare() -> None:
    grammar = grammar_for(GenerationOptions(tools=TOOLS, tool_choice=NAMED), "hermes")
    schema = json.loads(grammar.split("%json ", 1)[1])
    assert schema["anyOf"][0]["properties"]["arguments"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("options", "fmt", "message"),
    [
        (GenerationOptions(tools=TOOLS, tool_choice=UNKNOWN), "hermes", "'nope', which is not among the tools"),
        (GenerationOptions(tools=TOOLS, tool_choice="required"), "qwen3_coder", "in the 'qwen3_coder'"),
        (GenerationOptions(response_format={"type": "yaml"}), "hermes", "'json_object', 'json_schema' or 'text'"),
        (GenerationOptions(response_format={"type": "json_schema"}), "hermes", "json_schema.schema"),
    ],
)
def test_impossible_constraints_are_clear_errors(options: GenerationOptions, fmt: str, message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message.replace("(", r"\(")):
        grammar_for(options, fmt)


def _tool(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


@pytest.mark.parametrize(
    ("schema", "fault"),
    [
        ({"type": "object", "properties": {"x": {"$ref": "#/defs/nope"}}}, "'/defs/nope' does not exist"),
        ({"type": "object", "properties": {"x": {"type": "string", "pattern": "(?=a)b"}}}, "regex parse error"),
        ({"type": "object", "properties": {"x": {"type": "wizard"}}}, "Invalid type: wizard"),
    ],
)
def test_a_schema_llguidance_cannot_enforce_is_an_error_naming_the_tool(schema: dict[str, Any], fault: str) -> None:
    # was found only when the matcher was built on the loaded model, as "the constraint's grammar is
    # invalid" followed by the whole grammar of every tool, naming none
    good = _tool("fine", {"type": "object", "properties": {"y": {"type": "integer"}}})
    options = GenerationOptions(tools=[good, _tool("broken", schema)], tool_choice="required")
    with pytest.raises(InvalidOptionError, match="tool 'broken'") as caught:
        grammar_for(options, "hermes")
    assert fault in str(caught.value) and "'fine'" not in str(caught.value)
    with pytest.raises(InvalidOptionError, match="response_format") as caught:
        grammar_for(GenerationOptions(response_format={"type": "json_schema", "json_schema": {"schema": schema}}), None)
    assert fault in str(caught.value)


@pytest.mark.parametrize("choice", [UNKNOWN, "required"])
def test_a_forced_choice_no_tool_answers_is_refused_before_any_grammar(choice: Any) -> None:
    # the core refuses it for every provider; here it reached free decoding without tools
    tools = TOOLS if choice == UNKNOWN else ()
    with pytest.raises(ValueError, match=r"'nope', which is not among the tools|needs at least one tool"):
        check_tool_choice(GenerationOptions(tools=tools, tool_choice=choice))


@pytest.mark.parametrize(
    "response_format",
    [{"type": "json_object"}, {"type": "json_schema", "json_schema": {"name": "city", "schema": SCHEMA}}],
)
def test_response_formats_get_a_valid_grammar(response_format: dict[str, Any]) -> None:
    _valid(grammar_for(GenerationOptions(response_format=response_format), "hermes"))


# -- on the embedded model ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_embedded_model_declares_constrained_decoding(model: Any) -> None:
    caps = model.capabilities
    assert caps.structured_output and caps.forced_tool_choice and caps.tool_call_format == "hermes"


@pytest.mark.slow
def test_a_forced_call_streams_token_by_token_and_equals_generate(model: Any) -> None:
    options = {"tools": [calculator], "tool_choice": "required", "temperature": 0.0, "max_tokens": 64}
    whole = model.generate("What is 17 * 23?", **options)
    assert [(c.name, c.arguments) for c in whole.tool_calls] == [("calculator", {"expression": "17*23"})]
    assert whole.finish_reason == "stop"  # the grammar ends the answer with the call
    stream = model.stream("What is 17 * 23?", **options)
    deltas = list(stream)
    assert sum(1 for d in deltas if d.tool_calls) > 3  # the call is seen while it is written
    assert [(c.name, c.arguments) for c in stream.message.tool_calls] == [("calculator", {"expression": "17*23"})]


@pytest.mark.slow
def test_a_named_tool_is_the_one_called(model: Any) -> None:
    message = model.generate(
        "What is 17 * 23?", tools=[calculator, weather], tool_choice=NAMED, temperature=0.0, max_tokens=64
    )
    assert [c.name for c in message.tool_calls] == ["weather"]
    assert set(message.tool_calls[0].arguments) <= {"city", "unit"}


@pytest.mark.slow
def test_a_json_schema_response_format_gives_json_of_that_schema(model: Any) -> None:
    message = model.generate(
        "Describe Paris.",
        response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": SCHEMA}},
        temperature=0.0,
        max_tokens=64,
    )
    value = json.loads(message.content)
    assert set(value) == {"city", "population"} and isinstance(value["population"], int)


@pytest.mark.slow
def test_a_constrained_special_marker_is_written_as_its_token_and_kept_in_the_text(model: Any) -> None:
    """The grammar names a special token (as a forced call's ``<tool_call>`` is where the tokenizer has
    it special): the model writes that one token, and the decoder keeps its text for the parser."""
    import copy

    import attrs

    from modelplug_transformers.constrained import GrammarProcessor, forget, special_markers
    from modelplug_transformers.generation import generation_config, run

    tokenizer = copy.deepcopy(model.state.tokenizer)
    tokenizer.add_special_tokens({"additional_special_tokens": ["```"]})  # an existing token, now special
    loaded = attrs.evolve(model.state, tokenizer=tokenizer, skipped_token_ids=None)
    assert special_markers(loaded) == {}  # ``` (a fence of calls) is no forced format's marker
    marker = tokenizer.convert_tokens_to_ids("```")
    prompt = tokenizer("Say hi", add_special_tokens=False)["input_ids"]
    config = generation_config(loaded, GenerationOptions(max_tokens=8, temperature=0), len(prompt))
    pieces: list[str] = []
    try:
        constraint = GrammarProcessor(loaded, f'start: <[{marker}]> "{{}}"\n', len(prompt))
        run(loaded, prompt, config, [], pieces.append, constraint=constraint)
    finally:
        forget(loaded)
    assert "".join(pieces) == "```{}"
