"""The channel reader (:mod:`modelplug.toolcalls.channels`) that harmony, MuseGlimmer and Inkling
share: bodies routed to reasoning or content stream as they arrive, a call quoted in a reasoning
message is reasoning, a header that never ends is content or an error, and streaming agrees with
the whole-text parse at every split."""

from __future__ import annotations

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import StreamParser, parse
from tests.toolcalls._support import check, reasoning, same, stream, whole

#: format -> (a reasoning message quoting a call, a call to f with {"a": 1}, a content message
#: saying "Done."), each written the format's way.
MESSAGES = {
    "harmony": (
        '<|channel|>analysis<|message|>I could call <|constrain|>json {"a": 1}<|end|>',
        '<|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json<|message|>{"a": 1}<|call|>',
        "<|start|>assistant<|channel|>final<|message|>Done.<|return|>",
    ),
    "muse_glimmer": (
        '<|start|>assistant to=self<|message|>I could <atem:function_calls><atem:invoke name="g">'
        "</atem:invoke></atem:function_calls><|eom|>",
        '<|start|>assistant to=f<|message|><atem:function_calls><atem:invoke name="f">'
        '<atem:parameter name="a">1</atem:parameter></atem:invoke></atem:function_calls><|eom|>',
        "<|start|>assistant to=user<|message|>Done.<|eot|>",
    ),
    "inkling": (
        '<|message_model|><|content_thinking|>I could {"name": "g", "args": {}}<|end_message|>',
        '<|message_model|>f<|content_invoke_tool_json|>{"name": "f", "args": {"a": 1}}<|end_message|>',
        "<|message_model|><|content_text|>Done.<|end_message|>",
    ),
}
FORMATS = sorted(MESSAGES)


@pytest.mark.parametrize("mode", ["format", "detect"])
@pytest.mark.parametrize("format", FORMATS)
def test_reasoning_then_a_call_then_content(format: str, mode: str) -> None:
    thought, call, final = MESSAGES[format]
    chosen = format if mode == "format" else None
    text = thought + call + final
    check(text, chosen, "Done.", [("f", {"a": 1})])
    expected = reasoning([text], chosen)
    assert expected is not None and expected.startswith("I could ")  # the quoted call is reasoning
    for k in range(len(text) + 1):
        assert reasoning([text[:k], text[k:]], chosen) == expected, k


@pytest.mark.parametrize("format", FORMATS)
def test_reasoning_and_content_stream_as_they_arrive(format: str) -> None:
    thought, _, final = MESSAGES[format]
    parser = StreamParser(format)
    body = thought.index("I could")
    first = parser.feed(thought[: body + len("I could")])
    assert "".join(d.reasoning_content or "" for d in first) == "I could"  # before the message ends
    parser.feed(thought[body + len("I could") :])
    cut = final.index("Done") + 2
    assert "".join(d.content or "" for d in parser.feed(final[:cut])) == "Do"
    assert "".join(d.content or "" for d in parser.feed(final[cut:]) + parser.finish()) == "ne."


@pytest.mark.parametrize("format", FORMATS)
def test_a_tail_that_could_end_the_body_waits(format: str) -> None:
    _, _, final = MESSAGES[format]
    end = final.index("Done.") + len("Done.")
    parser = StreamParser(format)
    out = parser.feed(final[: end + 3])  # "Done." and the first three characters of the end token
    assert "".join(d.content or "" for d in out) == "Done."
    assert "".join(d.content or "" for d in parser.feed(final[end + 3 :]) + parser.finish()) == ""


@pytest.mark.parametrize("format", FORMATS)
def test_a_header_cut_by_the_end_of_the_text_is_an_error(format: str) -> None:
    _, call, _ = MESSAGES[format]
    text = call[: call.index("f") + 1]  # inside the header, after the tool's name
    with pytest.raises(ToolCallParseError, match=r"header|block"):
        parse(text, format)
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), whole(text, format)), k


@pytest.mark.parametrize("format", FORMATS)
def test_an_opener_without_a_header_end_within_the_limit_is_content(format: str) -> None:
    opener = {"harmony": "<|start|>", "muse_glimmer": "<|start|>", "inkling": "<|message_model|>"}[format]
    text = f"The {opener} token, then {'a long text ' * 60}end."
    check(text, format, text, [])


def test_detection_tells_a_muse_reasoning_message_from_a_harmony_call() -> None:
    # before the channel reader was shared, detection read ``to=self`` as a call to a tool "self"
    text = "<|start|>assistant to=self<|message|>thinking<|eom|><|start|>assistant to=user<|message|>Hi<|eot|>"
    check(text, None, "Hi", [])
    assert parse(text).reasoning_content == "thinking"


@pytest.mark.parametrize("format", FORMATS)
def test_a_broken_call_keeps_the_readable_messages(format: str) -> None:
    _, call, final = MESSAGES[format]
    # the call's arguments no longer read (ATEM values are text where they are not JSON: its
    # parameter loses its name instead)
    broken = call.replace('name="a"', 'name=""') if format == "muse_glimmer" else call.replace("1", "{", 1)
    text = call + broken + final
    error = whole(text, format)[2]
    assert isinstance(error, ToolCallParseError)
    assert [(c.name, c.arguments) for c in error.tool_calls] == [("f", {"a": 1})]
    for k in range(0, len(text) + 1, 3):
        assert same(stream([text[:k], text[k:]], format), whole(text, format)), k
