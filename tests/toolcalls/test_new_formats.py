"""The formats vLLM and SGLang ship that modelplug lacked and that are assembled in
:mod:`modelplug.toolcalls.formats` (registration, aliases, Hy V3, RWKV, HyperCLOVA X), read from the
shapes their own parser tests use (rewritten here), whole and at every split. The formats of one
reader module are tested in that module's file (``test_json_tags.py``, ``test_xml_tags.py``)."""

from __future__ import annotations

import pytest

from modelplug.toolcalls import ALIASES, FORMATS, open_span, parse
from tests.toolcalls._support import check


def test_every_new_format_is_registered() -> None:
    new = {"deepseek_v4", "deepseek_v41", "kimi_k3", "cohere_command4", "longcat", "gigachat3", "gigachat35"}
    assert new | {"hy_v3", "qwen25_coder", "nemotron_json"} <= set(FORMATS)
    assert {
        "ernie45": "hermes",
        "granite4": "hermes",
        "qwen35coder": "qwen3_coder",
        "step3p5": "qwen3_coder",
        "mimo": "qwen3_coder",
        "nemotron_nano_v2": "nemotron_json",
        "deepseekv4": "deepseek_v4",
        "deepseekv41": "deepseek_v41",
        "cohere_command3": "cohere_command4",
    }.items() <= ALIASES.items()


# Hy V3 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["hy_v3", None])
def test_hy_v3(format: str | None) -> None:
    check("<tool_calls><tool_call>get_current_date<tool_sep></tool_call></tool_calls>", format, None, [
        ("get_current_date", {})
    ])  # fmt: skip
    newline = "Checking.<tool_calls>\n<tool_call>get_current_date<tool_sep>\n</tool_call>\n</tool_calls>"
    check(newline, format, "Checking.", [("get_current_date", {})])
    same_line = (
        "<tool_calls><tool_call>get_weather<tool_sep><arg_key>city</arg_key><arg_value>Beijing"
        "</arg_value><arg_key>date</arg_key><arg_value>2026-03-30</arg_value></tool_call></tool_calls>"
    )
    check(same_line, format, None, [("get_weather", {"city": "Beijing", "date": "2026-03-30"})])
    two = (
        "<tool_calls>\n<tool_call>get_weather<tool_sep>\n<arg_key>city</arg_key>\n<arg_value>Beijing"
        "</arg_value>\n<arg_key>date</arg_key>\n<arg_value>2026-03-30</arg_value>\n</tool_call>\n"
        "<tool_call>get_weather<tool_sep>\n<arg_key>city</arg_key>\n<arg_value>Hangzhou</arg_value>\n"
        "<arg_key>date</arg_key>\n<arg_value>2026-03-30</arg_value>\n</tool_call>\n</tool_calls>"
    )
    check(two, format, None, [
        ("get_weather", {"city": "Beijing", "date": "2026-03-30"}),
        ("get_weather", {"city": "Hangzhou", "date": "2026-03-30"}),
    ])  # fmt: skip


def test_hy_v3_values_follow_the_schema() -> None:
    tools = [{"name": "f", "parameters": {"properties": {"n": {"type": "integer"}, "s": {"type": "string"}}}}]
    text = (
        "<tool_calls><tool_call>f<tool_sep><arg_key>n</arg_key><arg_value>5</arg_value>"
        "<arg_key>s</arg_key><arg_value>5</arg_value></tool_call></tool_calls>"
    )
    check(text, "hy_v3", None, [("f", {"n": 5, "s": "5"})], tools)


_HY_SUFFIXED = (
    "<think:opensource>quote <tool_calls:opensource> here</think:opensource>Sure.\n"
    "<tool_calls:opensource>\n<tool_call:opensource>get_weather<tool_sep:opensource>\n"
    "<arg_key:opensource>city</arg_key:opensource>\n<arg_value:opensource>Paris</arg_value:opensource>\n"
    "</tool_call:opensource>\n<tool_call:6124c78e>x</tool_call:6124c78e>\n</tool_calls:opensource>"
)


@pytest.mark.parametrize("format", ["hy_v3", "hy_v4", None])
def test_hy_tags_with_a_tokenizer_suffix(format: str | None) -> None:
    # the opener's suffix is the block's: a tag with another suffix ends the calls (it stays content,
    # and the block's closer after it is a stray closer, dropped at the end)
    text = _HY_SUFFIXED
    tail = "<tool_call:6124c78e>x</tool_call:6124c78e>\n</tool_calls:opensource>"
    check(text, format, "Sure.\n<tool_call:6124c78e>x</tool_call:6124c78e>", [("get_weather", {"city": "Paris"})])
    assert parse(text, format).reasoning_content == "quote <tool_calls:opensource> here"
    v4 = text.replace("<tool_sep:opensource>", "").replace(tail, "</tool_calls:opensource>\n</tool_call:opensource>")
    check(v4, format, "Sure.", [("get_weather", {"city": "Paris"})])


@pytest.mark.parametrize("format", ["hy_v3", None])
def test_hy_suffixed_think_opened_by_the_prompt(format: str | None) -> None:
    prompt = "<｜hy_User:opensource｜>Hi<｜hy_Assistant:opensource｜><think:opensource>\n"
    opener = open_span(prompt, format)
    assert opener == "<think:opensource>"
    text = "plan</think:opensource>Sure.<tool_calls:opensource><tool_call:opensource>f</tool_call:opensource>"
    result = parse(text + "</tool_calls:opensource>", format, reasoning_started=opener)
    assert (result.reasoning_content, result.content, [c.name for c in result.tool_calls]) == ("plan", "Sure.", ["f"])
    assert open_span("<think:opensource> earlier turn\n", format) is None


def test_a_suffix_that_is_not_one_is_content() -> None:
    check("See <tool_calls:a b> and <think:x y", "hy_v3", "See <tool_calls:a b> and <think:x y", [])


def test_tool_calls_tag_still_reads_json_lists_in_detection() -> None:
    check('<tool_calls>[{"name": "f", "arguments": {"a": 1}}]</tool_calls>', None, None, [("f", {"a": 1})])


# The qwen3_coder aliases ------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["qwen35coder", "step3p5", "mimo"])
def test_qwen3_coder_aliases(format: str) -> None:
    text = "<tool_call>\n<function=execute_bash>\n<parameter=command>pwd && ls</parameter>\n</function>\n</tool_call>"
    check(text, format, None, [("execute_bash", {"command": "pwd && ls"})])


# The GLM, Hy and other aliases -------------------------------------------------------------------


@pytest.mark.parametrize("format", ["poolside_v1"])
def test_poolside_v1_is_glm(format: str) -> None:
    content = "    def f():\n        return 1\n"
    text = f"<tool_call>write_file\n<arg_key>content</arg_key>\n<arg_value>{content}</arg_value>\n</tool_call>"
    check(text, format, None, [("write_file", {"content": content})])
    check("<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>", format, None, [
        ("get_weather", {"city": "Paris"})
    ])  # fmt: skip


@pytest.mark.parametrize("format", ["hy_v4", "hy_v3", None])
def test_hy_v4_without_tool_sep(format: str | None) -> None:
    text = (
        "sure!<tool_calls><tool_call>get_weather<arg_key>city</arg_key><arg_value>Beijing</arg_value>"
        "<arg_key>days</arg_key><arg_value>3</arg_value></tool_call><tool_call>get_current_date</tool_call>"
        "</tool_calls>"
    )
    tools = [
        {"name": "get_weather", "parameters": {"properties": {"days": {"type": "integer"}}}},
        {"name": "get_current_date", "parameters": {"properties": {}}},
    ]
    check(text, format, "sure!", [("get_weather", {"city": "Beijing", "days": 3}), ("get_current_date", {})], tools)


def test_ling3_is_glm47() -> None:
    text = "<think>plan</think><tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>"
    check(text, "ling3", None, [("get_weather", {"city": "Paris"})])
    assert parse(text, "ling3").reasoning_content == "plan"


@pytest.mark.parametrize("format", ["pangu", "openpangu_v2"])
def test_pangu_is_lfm2(format: str) -> None:
    text = (
        'I will call the tool now. <|tool_call_start|>[{"name": "get_weather", "arguments": {"city": "Boston"}}, '
        '{"name": "register_user", "arguments": {"name": "John Doe", "age": 37, "role": null}}]<|tool_call_end|>'
    )
    check(text, format, "I will call the tool now.", [
        ("get_weather", {"city": "Boston"}), ("register_user", {"name": "John Doe", "age": 37, "role": None})
    ])  # fmt: skip
    spaced = 'some content\n<|tool_call_start|>\n[{"name": "device_control_a", "arguments": {}}]\n<|tool_call_end|>'
    check(spaced, format, "some content", [("device_control_a", {})])


@pytest.mark.parametrize(("format", "text"), [
    ("iquest_coder", "<tool_call>\n<function=f>\n<parameter=city>\nDallas\n</parameter>\n</function>\n</tool_call>"),
    ("trinity", '<tool_call>\n{"name": "f", "arguments": {"city": "Dallas"}}\n</tool_call>'),
])  # fmt: skip
def test_more_aliases(format: str, text: str) -> None:
    check(text, format, None, [("f", {"city": "Dallas"})])


@pytest.mark.parametrize("format", ["hyperclovax_seed_think", "hyperclovax"])
def test_hyperclovax_seed_think(format: str) -> None:
    seoul = "<tool_call>get_current_weather\n<arg_key>location</arg_key>\n<arg_value>\"Seoul\"</arg_value>\n"
    text = seoul + '<arg_key>unit</arg_key>\n<arg_value>"celsius"</arg_value>\n</tool_call>'
    check(text, format, None, [("get_current_weather", {"location": "Seoul", "unit": "celsius"})])
    raw = "<tool_call>get_current_weather\n<arg_key>location</arg_key>\n<arg_value>Seoul</arg_value>\n</tool_call>"
    check("I'll check that for you." + raw, format, "I'll check that for you.", [
        ("get_current_weather", {"location": "Seoul"})
    ])  # fmt: skip
    two = seoul + "</tool_call>\n" + seoul.replace("Seoul", "Busan") + "</tool_call>"
    check(two, format, None, [("get_current_weather", {"location": "Seoul"}), ("get_current_weather", {
        "location": "Busan"
    })])  # fmt: skip


def test_spark3_is_glm() -> None:
    text = "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>"
    check(text, "spark3", None, [("get_weather", {"city": "Paris"})])


def test_rwkv() -> None:
    call = '**Tool Call:**\n```json\n{"name": "read", "arguments": {"path": "a.py"}}\n```'
    check("Let me read it.\n" + call, "rwkv", "Let me read it.", [("read", {"path": "a.py"})])
    check(call + "\n" + call.replace("a.py", "b.py"), "rwkv", None, [("read", {"path": "a.py"}), ("read", {
        "path": "b.py"
    })])  # fmt: skip
    # the marker is not in detection (its first character would slow every call-free scan): the
    # fence is read as a markerless JSON call, and the marker stays in the content
    detected = parse(call)
    assert [(c.name, c.arguments) for c in detected.tool_calls] == [("read", {"path": "a.py"})]
    assert detected.content == "**Tool Call:**"


def test_berrylm_is_qwen3_coder() -> None:
    text = "<tool_call>\n<function=f>\n<parameter=key>\nvalue\n</parameter>\n</function>\n</tool_call>"
    check(text, "berrylm", None, [("f", {"key": "value"})])


