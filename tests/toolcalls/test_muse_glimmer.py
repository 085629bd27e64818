"""MuseGlimmer's ATEM invokes in channel-scoped messages (:mod:`modelplug.toolcalls.muse_glimmer`),
read from the shapes of the upstream parser's tests (rewritten here), whole and at every split."""

from __future__ import annotations

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import FORMATS, StreamParser, parse
from tests.toolcalls._support import check, reasoning, same, stream, whole


def atem(name: str, **params: str) -> str:
    body = "".join(f'<atem:parameter name="{k}">{v}</atem:parameter>\n' for k, v in params.items())
    return f'<atem:function_calls>\n<atem:invoke name="{name}">\n{body}</atem:invoke>\n</atem:function_calls>'


def message(recipient: str | None, body: str, end: str = "<|eom|>") -> str:
    target = f" to={recipient}" if recipient else ""
    return f"<|start|>assistant{target}<|message|>{body}{end}"


WEATHER = message("get_weather", atem("get_weather", city="Paris", days="3"))


def test_registered() -> None:
    assert "muse_glimmer" in FORMATS


@pytest.mark.parametrize("format", ["muse_glimmer", None])
def test_reasoning_a_call_and_the_answer(format: str | None) -> None:
    text = message("self", "The user wants the weather.") + WEATHER + message("user", "It is sunny.", "<|eot|>")
    check(text, format, "It is sunny.", [("get_weather", {"city": "Paris", "days": 3})])
    assert reasoning([text], format) == "The user wants the weather."


@pytest.mark.parametrize("format", ["muse_glimmer", None])
def test_the_first_message_has_no_start_token(format: str | None) -> None:
    # the prompt ends with <|start|>assistant, so the model's text starts with the recipient;
    # detection reads that header at the start of the text (leading whitespace aside) only
    text = " to=self<|message|>Let me look.<|eom|>" + WEATHER
    check(text, format, None, [("get_weather", {"city": "Paris", "days": 3})])
    assert reasoning([text], format) == "Let me look."
    first_call = "to=get_weather<|message|>" + atem("get_weather", city="Paris") + "<|eom|>"
    check(first_call, format, None, [("get_weather", {"city": "Paris"})])


@pytest.mark.parametrize("text", ["to=do: buy milk", "to=self is how it starts", "  to", "to="])
def test_prose_starting_like_the_first_header_is_content_under_detection(text: str) -> None:
    check(text, None, text, [])
    assert not parse(text).reasoning_content


def test_under_detection_the_bare_header_is_read_at_the_start_only() -> None:
    # further on, a header needs its <|start|>assistant: the scan never looks for "to="
    text = "Hi. to=self<|message|>x"
    assert parse(text).reasoning_content is None
    assert parse(text, "muse_glimmer").reasoning_content == "x"


def test_an_invoke_echoed_in_reasoning_or_in_the_answer_is_no_call() -> None:
    echoed = atem("delete_everything", confirm="true")
    text = message("self", f"Not {echoed}") + message("user", f"I did not run {echoed}", "<|eot|>")
    check(text, "muse_glimmer", f"I did not run {echoed}", [])
    assert reasoning([text], "muse_glimmer") == f"Not {echoed}"


def test_values_are_json_where_they_read_as_json_else_text() -> None:
    text = message("f", atem("f", n="42", flag="true", obj='{"a": [1, null]}', s='"quoted"', raw="Paris, France"))
    expected = {"n": 42, "flag": True, "obj": {"a": [1, None]}, "s": "quoted", "raw": "Paris, France"}
    check(text, "muse_glimmer", None, [("f", expected)])


def test_several_invokes_in_one_message_and_one_bad_one_keeps_the_others() -> None:
    body = atem("a", x="1").replace("</atem:function_calls>", "")
    body += '<atem:invoke name="b"><atem:parameter name="">x</atem:parameter></atem:invoke>\n'
    body += '<atem:invoke name="c"><atem:parameter name="y">2</atem:parameter></atem:invoke>\n</atem:function_calls>'
    text = message("a", body)
    with pytest.raises(ToolCallParseError, match=r"call 2 \('b'\)") as info:
        parse(text, "muse_glimmer")
    assert [(c.name, c.arguments) for c in info.value.tool_calls] == [("a", {"x": 1}), ("c", {"y": 2})]


def test_a_tool_message_with_json_arguments_is_a_call_to_its_recipient() -> None:
    check(message("get_weather", '{"city": "Paris"}'), "muse_glimmer", None, [("get_weather", {"city": "Paris"})])


def test_atem_without_the_channel_tokens_is_read() -> None:
    # the upstream parser's fallback when the special tokens were stripped before it
    check("Sure. " + atem("f", a="1"), "muse_glimmer", "Sure.", [("f", {"a": 1})])


def test_a_tool_message_cut_inside_its_invoke_is_an_error_that_keeps_earlier_calls() -> None:
    text = WEATHER + message("f", atem("f", a="1"))[:-40]
    with pytest.raises(ToolCallParseError) as info:
        parse(text, "muse_glimmer")
    assert [c.name for c in info.value.tool_calls] == ["get_weather"]


def test_a_stray_end_token_is_dropped_and_prose_with_to_is_content() -> None:
    check(WEATHER + "<|eom|>", "muse_glimmer", None, [("get_weather", {"city": "Paris", "days": 3})])
    check("Send it to=me, please.", "muse_glimmer", "Send it to=me, please.", [])


def test_a_message_to_a_tool_that_was_not_offered_is_an_error() -> None:
    tools = [{"name": "other", "parameters": {"type": "object"}}]
    with pytest.raises(ToolCallParseError, match="get_weather"):
        parse(WEATHER, "muse_glimmer", tools)


def test_arguments_go_out_before_the_invoke_ends() -> None:
    text = message("w", atem("w", path="a.txt", content="x" * 200))
    parser = StreamParser("muse_glimmer")
    cut = text.index("x" * 100)
    early = [c.arguments for d in parser.feed(text[:cut]) for c in d.tool_calls if c.arguments]
    assert "".join(early) == '{"path": "a.txt"'


def test_a_doubled_bare_name_is_the_offered_tool() -> None:
    # the template renders a bare tool name as the recipient "get_weather.*": the model doubles it
    text = message("get_weather.get_weather", atem("get_weather.get_weather", city="Paris"))
    tools = [{"name": "get_weather", "parameters": {"type": "object"}}]
    check(text, "muse_glimmer", None, [("get_weather", {"city": "Paris"})], tools)
    check(text, "muse_glimmer", None, [("get_weather.get_weather", {"city": "Paris"})])  # no tools: as written
    other = [{"name": "weather", "parameters": {"type": "object"}}]
    with pytest.raises(ToolCallParseError, match="not offered"):
        parse(text, "muse_glimmer", other)


def test_a_message_that_ends_inside_its_invoke_does_not_take_the_next_messages() -> None:
    cut = message("f", atem("f", a="1")).split("1</atem:parameter>")[0] + "1<|eom|>"
    text = cut + WEATHER + message("user", "Done.", "<|eot|>")
    error = whole(text, "muse_glimmer")[2]
    assert isinstance(error, ToolCallParseError)
    assert [c.name for c in error.tool_calls] == ["get_weather"]
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], "muse_glimmer"), whole(text, "muse_glimmer")), k
