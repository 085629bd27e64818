"""Issue 12, kind 5: the formats vLLM and SGLang ship that modelplug lacked, read from the shapes
their own parser tests use (rewritten here), whole, at every split into two pieces and one
character at a time, with the streamed argument pieces joining to each call's final JSON."""

from __future__ import annotations

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import ALIASES, FORMATS, parse
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


# DeepSeek-V4 / V4.1 (DSML) ------------------------------------------------------------------------


def _dsml(name: str, params: dict[str, str], block: str = "tool_calls", dsml: str = "｜DSML｜") -> str:
    body = "".join(f'<{dsml}parameter name="{k}" string="true">{v}</{dsml}parameter>\n' for k, v in params.items())
    return f'<{dsml}{block}>\n<{dsml}invoke name="{name}">\n{body}</{dsml}invoke>\n</{dsml}{block}>'


@pytest.mark.parametrize("format", ["deepseek_v4", "deepseekv4", None])
def test_deepseek_v4(format: str | None) -> None:
    text = "Let me check. " + _dsml("get_weather", {"location": "Beijing", "unit": "celsius"})
    check(text, format, "Let me check.", [("get_weather", {"location": "Beijing", "unit": "celsius"})])


@pytest.mark.parametrize("format", ["deepseek_v4", "deepseek_v32", "deepseek_v41", None])
def test_dsml_invoke_with_a_json_body(format: str | None) -> None:
    block = {"deepseek_v32": "function_calls", "deepseek_v41": "calls"}.get(format or "", "tool_calls")
    dsml = "｜DSML｜ " if format == "deepseek_v41" else "｜DSML｜"
    text = (
        f'<{dsml}{block}>\n<{dsml}invoke name="get_favorite_tourist_spot">\n'
        '{ "city": "San Francisco", "n": [1, 2] }\n'
        f'</{dsml}invoke>\n<{dsml}invoke name="ping">\n{{}}\n</{dsml}invoke>\n</{dsml}{block}>'
    )
    check(text, format, None, [("get_favorite_tourist_spot", {"city": "San Francisco", "n": [1, 2]}), ("ping", {})])


def test_deepseek_v4_does_not_read_the_v32_block() -> None:
    text = _dsml("search", {"query": "vllm"}, block="function_calls")
    check(text, "deepseek_v4", text, [])


@pytest.mark.parametrize("format", ["deepseek_v41", "deepseekv41", None])
def test_deepseek_v41_spaced_tags(format: str | None) -> None:
    text = "Let me check.\n\n" + _dsml("get_weather", {"city": "SF"}, block="calls", dsml="｜DSML｜ ")
    check(text, format, "Let me check.", [("get_weather", {"city": "SF"})])


def test_deepseek_v41_does_not_read_unspaced_v4_tags() -> None:
    text = _dsml("get_weather", {"city": "SF"})
    check(text, "deepseek_v41", text, [])


def test_dsml_json_body_that_does_not_read_is_an_error() -> None:
    text = '<｜DSML｜tool_calls>\n<｜DSML｜invoke name="f">\n{"a": 1,}}\n</｜DSML｜invoke>\n</｜DSML｜tool_calls>'
    with pytest.raises(ToolCallParseError, match="after the JSON arguments"):
        parse(text, "deepseek_v4")


# GigaChat 3.5 -------------------------------------------------------------------------------------


def _gcml(*invokes: str) -> str:
    return "<｜GCML｜tool_calls>" + "".join(invokes) + "</｜GCML｜tool_calls>"


def _gcml_invoke(name: str, *params: tuple[str, str, bool]) -> str:
    body = "".join(
        f'<｜GCML｜parameter name="{k}" string="{str(text).lower()}">{v}</｜GCML｜parameter>' for k, v, text in params
    )
    return f'<｜GCML｜invoke name="{name}">{body}</｜GCML｜invoke>'


@pytest.mark.parametrize("format", ["gigachat35", None])
def test_gigachat35(format: str | None) -> None:
    weather = _gcml_invoke("get_weather", ("city", "Tokyo", True))
    check(_gcml(weather), format, None, [("get_weather", {"city": "Tokyo"})])
    check("I will check." + _gcml(weather), format, "I will check.", [("get_weather", {"city": "Tokyo"})])
    both = _gcml(weather, _gcml_invoke("get_time", ("timezone", "Asia/Tokyo", True)))
    check(both, format, None, [("get_weather", {"city": "Tokyo"}), ("get_time", {"timezone": "Asia/Tokyo"})])
    check(_gcml(_gcml_invoke("empty_args")), format, None, [("empty_args", {})])
    escaped = _gcml(_gcml_invoke("escaped", ("text", 'line 1\\n"quoted"', True)))
    check(escaped, format, None, [("escaped", {"text": 'line 1\\n"quoted"'})])


@pytest.mark.parametrize("format", ["gigachat35", None])
def test_gigachat35_typed_values(format: str | None) -> None:
    typed = _gcml_invoke(
        "typed_args",
        ("string_field", '"hello"', False),
        ("int_field", "7", False),
        ("float_field", "3.5", False),
        ("bool_field", "true", False),
        ("null_field", "null", False),
        ("array_field", "[1, 2, 3]", False),
        ("object_field", '{"nested": true}', False),
    )
    expected = {
        "string_field": "hello",
        "int_field": 7,
        "float_field": 3.5,
        "bool_field": True,
        "null_field": None,
        "array_field": [1, 2, 3],
        "object_field": {"nested": True},
    }
    check(_gcml(typed), format, None, [("typed_args", expected)])


def test_gigachat35_parameter_without_string_attribute_is_text() -> None:
    text = _gcml(
        '<｜GCML｜invoke name="lookup"><｜GCML｜parameter name="query">vLLM</｜GCML｜parameter></｜GCML｜invoke>'
    )
    check(text, "gigachat35", None, [("lookup", {"query": "vLLM"})])


def test_gigachat35_cut_invoke_is_an_error_and_an_empty_block_is_content() -> None:
    with pytest.raises(ToolCallParseError):
        parse('<｜GCML｜tool_calls><｜GCML｜invoke name="broken">', "gigachat35")
    check("<｜GCML｜tool_calls></｜GCML｜tool_calls>", "gigachat35", "<｜GCML｜tool_calls></｜GCML｜tool_calls>", [])


# Kimi K3 (XTML) ---------------------------------------------------------------------------------

_K3 = (
    "<|open|>tools<|sep|>\n"
    '  <|open|>call tool="python" index="1"<|sep|>\n'
    '    <|open|>argument key="code" type="string"<|sep|>print(1)<|close|>argument<|sep|>\n'
    '    <|open|>argument key="opts" type="object"<|sep|>{"a":1}<|close|>argument<|sep|>\n'
    "  <|close|>call<|sep|>\n"
    "<|close|>tools<|sep|>"
)


@pytest.mark.parametrize("format", ["kimi_k3", None])
def test_kimi_k3(format: str | None) -> None:
    check(_K3, format, None, [("python", {"code": "print(1)", "opts": {"a": 1}})])
    text = "<|open|>response<|sep|>Let me run it.<|close|>response<|sep|>" + _K3
    check(text, format, "Let me run it.", [("python", {"code": "print(1)", "opts": {"a": 1}})])


def test_kimi_k3_message_close_is_not_content() -> None:
    check("Hello<|close|>message<|sep|>", "kimi_k3", "Hello", [])


def test_kimi_k3_string_values_are_raw_and_attributes_unescaped() -> None:
    text = (
        '<|open|>tools<|sep|><|open|>call tool="write" index="1"<|sep|>'
        '<|open|>argument key="body" type="string"<|sep|>a "quoted" &amp; raw\n<b>x</b><|close|>argument<|sep|>'
        '<|open|>argument key="n" type="integer"<|sep|>5<|close|>argument<|sep|>'
        "<|close|>call<|sep|><|close|>tools<|sep|>"
    )
    check(text, "kimi_k3", None, [("write", {"body": 'a "quoted" &amp; raw\n<b>x</b>', "n": 5})])


def test_kimi_k3_call_without_a_tool_is_an_error() -> None:
    with pytest.raises(ToolCallParseError, match="tool name"):
        parse('<|open|>tools<|sep|><|open|>call index="1"<|sep|><|close|>call<|sep|><|close|>tools<|sep|>', "kimi_k3")


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


def test_tool_calls_tag_still_reads_json_lists_in_detection() -> None:
    check('<tool_calls>[{"name": "f", "arguments": {"a": 1}}]</tool_calls>', None, None, [("f", {"a": 1})])


# The qwen3_coder aliases ------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["qwen35coder", "step3p5", "mimo"])
def test_qwen3_coder_aliases(format: str) -> None:
    text = "<tool_call>\n<function=execute_bash>\n<parameter=command>pwd && ls</parameter>\n</function>\n</tool_call>"
    check(text, format, None, [("execute_bash", {"command": "pwd && ls"})])


# dots, Solar Open 2, MiniCPM 4/5; the GLM and Hy aliases ----------------------------------------


@pytest.mark.parametrize("format", ["dots", None])
def test_dots(format: str | None) -> None:
    text = (
        '<dots_function_call><invoke name="search"><parameter name="query">chairs</parameter></invoke>'
        '<invoke name="open"><parameter name="id">7</parameter></invoke></dots_function_call>'
        '<dots_function_call>{"name":"search","arguments":{"query":"tables"}}</dots_function_call>'
    )
    check("ok" + text, format, "ok", [("search", {"query": "chairs"}), ("open", {"id": "7"}), ("search", {
        "query": "tables"
    })])  # fmt: skip
    tools = [
        {"name": "search", "parameters": {"properties": {"query": {"type": "string"}}}},
        {"name": "open", "parameters": {"properties": {"id": {"type": "integer"}}}},
    ]
    check(text, format, None, [("search", {"query": "chairs"}), ("open", {"id": 7}), ("search", {
        "query": "tables"
    })], tools)  # fmt: skip


_SOLAR = (
    "<|tool_call:start|>get_weather\n<|tool_arg:start|>city<|tool_arg:value|>Seoul<|tool_arg:end|>\n<|tool_call:end|>"
)


@pytest.mark.parametrize("format", ["solar_open2", None])
def test_solar_open2(format: str | None) -> None:
    check(_SOLAR, format, None, [("get_weather", {"city": "Seoul"})])
    check("Let me check the weather." + _SOLAR, format, "Let me check the weather.", [
        ("get_weather", {"city": "Seoul"})
    ])  # fmt: skip
    two = "I'll check both." + _SOLAR + "\n" + _SOLAR.replace("Seoul", "Tokyo")
    check(two, format, "I'll check both.", [("get_weather", {"city": "Seoul"}), ("get_weather", {"city": "Tokyo"})])
    check("<|tool_call:start|>get_time\n<|tool_call:end|>", format, None, [("get_time", {})])
    search = (
        "<|tool_call:start|>search\n<|tool_arg:start|>query<|tool_arg:value|>vLLM tutorial<|tool_arg:end|>\n"
        "<|tool_arg:start|>max_results<|tool_arg:value|>5<|tool_arg:end|>\n<|tool_call:end|>"
    )
    check(search, format, None, [("search", {"query": "vLLM tutorial", "max_results": "5"})])
    tools = [{"name": "search", "parameters": {"properties": {"max_results": {"type": "integer"}}}}]
    check(search, format, None, [("search", {"query": "vLLM tutorial", "max_results": 5})], tools)


def test_solar_open2_cut_value_is_an_error() -> None:
    with pytest.raises(ToolCallParseError):
        parse("Let me check.<|tool_call:start|>search\n<|tool_arg:start|>query<|tool_arg:value|>Seo", "solar_open2")


@pytest.mark.parametrize("format", ["minicpm5", "minicpm4_xml", None])
def test_minicpm(format: str | None) -> None:
    text = (
        '<function name="get_weather"><param name="city">北京</param><param name="date">2024-06-27</param>'
        '</function>\n<function name="get_weather"><param name="city">上海</param></function>'
    )
    check(text, format, None, [("get_weather", {"city": "北京", "date": "2024-06-27"}), ("get_weather", {
        "city": "上海"
    })])  # fmt: skip


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


@pytest.mark.parametrize("format", ["iquest_q1", None])
def test_iquest_q1(format: str | None) -> None:
    text = (
        "Let me check.<iquest_tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value>"
        "<arg_key>days</arg_key><arg_value>2</arg_value></iquest_tool_call>"
        "<iquest_tool_call>get_time</iquest_tool_call>"
    )
    check(text, format, "Let me check.", [("get_weather", {"city": "Paris", "days": "2"}), ("get_time", {})])


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


@pytest.mark.parametrize("format", ["k2_horizon", "k2_v3", None])
def test_k2_horizon_xml(format: str | None) -> None:
    text = (
        "Before <ifm|tool_calls><ifm|tool_call>lookup<ifm|arg_key>query</ifm|arg_key><ifm|arg_value>123"
        "</ifm|arg_value><ifm|arg_key>limit</ifm|arg_key><ifm|arg_value>3</ifm|arg_value></ifm|tool_call>\n"
        "<ifm|tool_call>ping</ifm|tool_call></ifm|tool_calls> after."
    )
    tools = [{"name": "lookup", "parameters": {"properties": {"limit": {"type": "integer"}}}}, {"name": "ping"}]
    check(text, format, "Before after.", [("lookup", {"query": "123", "limit": 3}), ("ping", {})], tools)
