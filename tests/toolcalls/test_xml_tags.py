"""The tagged-value formats (:mod:`modelplug.toolcalls.xml_tags`): markup inside a parameter value (a
closing tag ends it only where the format's next structural token follows), a parameter without a
valid name is an error; DeepSeek's DSML (V3.2, V4, V4.1), GigaChat 3.5, Kimi K3, dots, Solar Open 2,
MiniCPM 5, IQuest, K2 Horizon and CWM, whole and at every split."""

from __future__ import annotations

import re

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import StreamParser, parse
from tests.strategies import every_split
from tests.toolcalls._support import check, same, stream, whole

_FILE = "if x </parameter> y:\n    print('</arg_value>', '</steptml:parameter>')\n</function>\nend"


def _qwen(value: str, opener: str = "<tool_call>", closer: str = "</tool_call>") -> str:
    return (
        f"{opener}\n<function=write_file>\n<parameter=path>\na.py\n</parameter>\n"
        f"<parameter=content>\n{value}\n</parameter>\n</function>\n{closer}"
    )


_CASES = {
    "qwen3_coder": _qwen(_FILE),
    "seed_oss": _qwen(_FILE, "<seed:tool_call>", "</seed:tool_call>"),
    "glm45": "<tool_call>write_file\n<arg_key>path</arg_key>\n<arg_value>a.py</arg_value>\n"
    f"<arg_key>content</arg_key>\n<arg_value>{_FILE}</arg_value>\n</tool_call>",
    "glm47": "<tool_call>write_file<arg_key>path</arg_key><arg_value>a.py</arg_value>"
    f"<arg_key>content</arg_key><arg_value>{_FILE}</arg_value></tool_call>",
    "minimax_m2": '<minimax:tool_call>\n<invoke name="write_file">\n<parameter name="path">a.py</parameter>\n'
    f'<parameter name="content">{_FILE}</parameter>\n</invoke>\n</minimax:tool_call>',
    "step3": '<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke name="write_file">'
    '<steptml:parameter name="path">a.py</steptml:parameter>'
    f'<steptml:parameter name="content">{_FILE}</steptml:parameter>'
    "</steptml:invoke><｜tool_call_end｜><｜tool_calls_end｜>",
}


@pytest.mark.parametrize("format", sorted(_CASES))
def test_a_closing_tag_inside_a_value_is_part_of_it(format: str) -> None:
    text = _CASES[format]
    (call,) = parse(text, format).tool_calls
    assert call.arguments == {"path": "a.py", "content": _FILE}
    assert parse(text).tool_calls[0].arguments == call.arguments
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), whole(text, format))
    assert same(stream(list(text), format), whole(text, format))


_NAMELESS = {
    "qwen3_coder": "<tool_call>\n<function=f>\n<parameter=>\nx\n</parameter>\n</function>\n</tool_call>",
    "glm47": "<tool_call>f<arg_key></arg_key><arg_value>x</arg_value></tool_call>",
    "glm45": "<tool_call>f\n<arg_key>two words</arg_key>\n<arg_value>x</arg_value>\n</tool_call>",
    "minimax_m2": '<minimax:tool_call><invoke name="f"><parameter name="">x</parameter></invoke></minimax:tool_call>',
    "step3": '<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke name="f">'
    '<steptml:parameter name="<b>">x</steptml:parameter></steptml:invoke><｜tool_call_end｜><｜tool_calls_end｜>',
}


@pytest.mark.parametrize("format", sorted(_NAMELESS))
def test_a_parameter_without_a_valid_name_is_an_error(format: str) -> None:
    text = _NAMELESS[format]
    with pytest.raises(ToolCallParseError) as info:
        parse(text, format)
    assert "parameter without a valid name" in info.value.reason
    assert info.value.tool_calls == ()
    assert same(stream(list(text), format), whole(text, format))


DSML_CALL = (
    '<｜DSML｜function_calls>\n<｜DSML｜invoke name="get_weather">\n'
    '<｜DSML｜parameter name="city" string="true">杭州</｜DSML｜parameter>\n'
    '<｜DSML｜parameter name="days" string="false">3</｜DSML｜parameter>\n'
    '<｜DSML｜parameter name="opts" string="false">{"units": ["C"]}</｜DSML｜parameter>\n'
    '</｜DSML｜invoke>\n<｜DSML｜invoke name="ping">\n</｜DSML｜invoke>\n</｜DSML｜function_calls>'
)


@pytest.mark.parametrize("format", ["deepseek_v32", None])
def test_deepseek_v32_dsml(format: str | None) -> None:
    check(
        "Checking." + DSML_CALL,
        format,
        "Checking.",
        [("get_weather", {"city": "杭州", "days": 3, "opts": {"units": ["C"]}}), ("ping", {})],
    )


def test_dsml_json_parameter_that_does_not_read_is_an_error() -> None:
    text = DSML_CALL.replace('string="false">3<', 'string="false">3 days<')
    with pytest.raises(ToolCallParseError, match="days"):
        parse(text, "deepseek_v32")


# DeepSeek-V4 / V4.1, GigaChat 3.5, Kimi K3, dots, Solar Open 2, MiniCPM 5, IQuest, K2 Horizon ---------


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


def test_gigachat35_cut_invoke_is_an_error_and_an_empty_block_is_an_error_or_a_mention() -> None:
    with pytest.raises(ToolCallParseError):
        parse('<｜GCML｜tool_calls><｜GCML｜invoke name="broken">', "gigachat35")
    with pytest.raises(ToolCallParseError, match="no call between"):
        parse("<｜GCML｜tool_calls></｜GCML｜tool_calls>", "gigachat35")
    empty = "<｜GCML｜tool_calls></｜GCML｜tool_calls> is empty."
    check(empty, "gigachat35", empty, [])


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


def _spaced(text: str) -> str:
    """``text`` as a detokenizer that puts a space between special tokens and text writes it."""
    return re.sub(r"(<\|(?:open|close|sep)\|>)", r" \1 ", text).strip().replace("|>  <|", "|> <|")


@pytest.mark.parametrize("format", ["kimi_k3", None])
def test_kimi_k3_markers_spaced_between_their_tokens(format: str | None) -> None:
    # vLLM's detokenizer joins special tokens and text with spaces unless told not to; its K3
    # parser allows whitespace inside a marker, and keeps a value's text as written (spaces too)
    spaced = _spaced(re.sub(r"\n *", "", _K3))
    assert spaced.startswith("<|open|> tools <|sep|> <|open|> call tool=")
    check(spaced, format, None, [("python", {"code": " print(1) ", "opts": {"a": 1}})])
    text = _spaced("<|open|>response<|sep|>Let me run it.<|close|>response<|sep|>") + " " + spaced
    check(text, format, " Let me run it.", [("python", {"code": " print(1) ", "opts": {"a": 1}})])
    check(_spaced("Hello<|close|>message<|sep|>"), format, "Hello ", [])  # its space is the text's


@pytest.mark.parametrize(
    "text",
    [
        "a <|open|> b <|close|> c",  # a token without a marker's name and separator: text
        "<|open|> call tool=\"f\" <|sep|>",  # a call outside a tools channel
        "<|open|>" + " " * 40 + "tools <|sep|>",  # more spacing than a detokenizer writes
    ],
)
def test_kimi_k3_spaced_tokens_that_make_no_marker_are_content(text: str) -> None:
    check(text, "kimi_k3", text, [])


def test_kimi_k3_spaced_broken_call_keeps_its_siblings_and_its_offset() -> None:
    good = (
        '<|open|>call tool="f" index="1"<|sep|><|open|>argument key="a" type="integer"<|sep|>1'
        "<|close|>argument<|sep|><|close|>call<|sep|>"
    )
    bad = '<|open|>call index="2"<|sep|><|close|>call<|sep|>'
    text = _spaced(f"Hi<|open|>tools<|sep|>{good}{bad}{good.replace('f', 'g', 1)}<|close|>tools<|sep|>")
    with pytest.raises(ToolCallParseError, match="tool name") as caught:
        parse(text, "kimi_k3")
    assert [(c.name, c.arguments) for c in caught.value.tool_calls] == [("f", {"a": 1}), ("g", {"a": 1})]
    assert text[caught.value.offset :].startswith("<|open|> tools")
    for pieces in every_split(text):
        assert same(stream(pieces, "kimi_k3"), whole(text, "kimi_k3")), pieces


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


@pytest.mark.parametrize("format", ["iquest_q1", None])
def test_iquest_q1(format: str | None) -> None:
    text = (
        "Let me check.<iquest_tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value>"
        "<arg_key>days</arg_key><arg_value>2</arg_value></iquest_tool_call>"
        "<iquest_tool_call>get_time</iquest_tool_call>"
    )
    check(text, format, "Let me check.", [("get_weather", {"city": "Paris", "days": "2"}), ("get_time", {})])


@pytest.mark.parametrize("format", ["k2_horizon", "k2_v3", None])
def test_k2_horizon_xml(format: str | None) -> None:
    text = (
        "Before <ifm|tool_calls><ifm|tool_call>lookup<ifm|arg_key>query</ifm|arg_key><ifm|arg_value>123"
        "</ifm|arg_value><ifm|arg_key>limit</ifm|arg_key><ifm|arg_value>3</ifm|arg_value></ifm|tool_call>\n"
        "<ifm|tool_call>ping</ifm|tool_call></ifm|tool_calls> after."
    )
    tools = [{"name": "lookup", "parameters": {"properties": {"limit": {"type": "integer"}}}}, {"name": "ping"}]
    check(text, format, "Before after.", [("lookup", {"query": "123", "limit": 3}), ("ping", {})], tools)


_K2_TOOLS = [
    {"name": "lookup", "parameters": {"properties": {"query": {"type": "string"}, "limit": {"type": "integer"}}}},
    {"name": "ping"},
]


@pytest.mark.parametrize("format", ["k2_horizon", None])
def test_k2_horizon_json_form(format: str | None) -> None:
    text = (
        'Before <ifm|tool_calls><ifm|tool_call>{"name": "lookup", "arguments": {"limit": "2", "query": "x"}}'
        '</ifm|tool_call>\n<ifm|tool_call> {"name": "ping"} </ifm|tool_call></ifm|tool_calls> after.'
    )
    check(text, format, "Before after.", [("lookup", {"limit": 2, "query": "x"}), ("ping", {})], _K2_TOOLS)
    check(text, format, "Before after.", [("lookup", {"limit": "2", "query": "x"}), ("ping", {})])


@pytest.mark.parametrize("format", ["k2_horizon", None])
def test_k2_horizon_typed_xml_form(format: str | None) -> None:
    def typed(key: str, kind: str, value: str) -> str:
        key_and_type = f"<ifm|arg_key>{key}</ifm|arg_key><ifm|arg_type>{kind}</ifm|arg_type>"
        return f"{key_and_type}<ifm|arg_value>{value}</ifm|arg_value>"

    text = (
        "<ifm|tool_calls><ifm|tool_call>lookup"
        + typed("query", "string", "123")
        + typed("limit", "integer", "3")
        + typed("opts", "dict[str, int]", '{"a": 1}')
        + typed("flag", "bool", "true")
        + typed("note", "integer", "three")
        + "</ifm|tool_call></ifm|tool_calls>"
    )
    # without a schema the written type converts the value (one that does not convert stays text)
    expected = {"query": "123", "limit": 3, "opts": {"a": 1}, "flag": True, "note": "three"}
    check(text, format, None, [("lookup", expected)])
    # a schema that describes the argument wins over the written type, as upstream
    schema = {"query": {"type": "string"}, "limit": {"type": "string"}}
    tools = [{"name": "lookup", "parameters": {"properties": schema}}]
    check(text, format, None, [("lookup", {**expected, "limit": "3"})], tools)


def test_k2_horizon_forms_mix_and_a_bad_call_keeps_its_siblings() -> None:
    text = (
        '<ifm|tool_calls><ifm|tool_call>{"name": "ping", "arguments": {}}</ifm|tool_call>'
        '<ifm|tool_call>{"name": "lookup", "arguments": {"limit": 1,}</ifm|tool_call>'
        "<ifm|tool_call>lookup<ifm|arg_key>query</ifm|arg_key><ifm|arg_type>string</ifm|arg_type>"
        "<ifm|arg_value>q</ifm|arg_value></ifm|tool_call></ifm|tool_calls>"
    )
    with pytest.raises(ToolCallParseError) as info:
        parse(text, "k2_horizon")
    assert "call 2" in info.value.reason
    assert [(c.name, c.arguments) for c in info.value.tool_calls] == [("ping", {}), ("lookup", {"query": "q"})]
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], "k2_horizon"), whole(text, "k2_horizon"))


def test_k2_horizon_typed_value_that_converts_goes_out_when_it_ends() -> None:
    text = (
        "<ifm|tool_calls><ifm|tool_call>f<ifm|arg_key>s</ifm|arg_key><ifm|arg_type>string</ifm|arg_type>"
        "<ifm|arg_value>abc</ifm|arg_value><ifm|arg_key>n</ifm|arg_key><ifm|arg_type>int</ifm|arg_type>"
        "<ifm|arg_value>12</ifm|arg_value></ifm|tool_call></ifm|tool_calls>"
    )
    check(text, "k2_horizon", None, [("f", {"s": "abc", "n": 12})])
    assert same(stream(list(text), "k2_horizon"), whole(text, "k2_horizon"))


# GLM values without their opener, Step3's short call forms ---------------------------------------

STEP_P = '<steptml:parameter name="city">Paris</steptml:parameter>'


@pytest.mark.parametrize("format", ["glm47", "glm45", None])
def test_glm_value_without_its_opener(format: str | None) -> None:
    text = (
        "<tool_call>search<arg_key>query</arg_key>vacation days</arg_value>"
        "<arg_key>n</arg_key><arg_value>2</arg_value></tool_call>"
    )
    check(text, format, None, [("search", {"query": "vacation days", "n": "2"})])


def test_glm_value_without_opener_or_closer_is_an_error() -> None:
    with pytest.raises(ToolCallParseError, match="its value runs into '</tool_call>'"):
        parse("<tool_call>search<arg_key>query</arg_key>vacation days</tool_call>", "glm47")


@pytest.mark.parametrize("format", ["step3", None])
@pytest.mark.parametrize(
    "body",
    [
        f'<｜tool_call_begin｜><steptml:invoke name="get_weather">{STEP_P}</steptml:invoke><｜tool_call_end｜>',
        f'<steptml:invoke name="get_weather">{STEP_P}</steptml:invoke>',
        f'<｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke name="get_weather">{STEP_P}</steptml:invoke>',
    ],
    ids=["no-type-and-separator", "invoke-alone", "full-form"],
)
def test_step3_short_call_form(format: str | None, body: str) -> None:
    text = f"Sure.<｜tool_calls_begin｜>{body}<｜tool_calls_end｜>"
    check(text, format, "Sure.", [("get_weather", {"city": "Paris"})])


# CWM ----------------------------------------------------------------------------------------------

_CWM_SEARCH = '<tool: function>\nterminal find . -name "*.py" | xargs grep -n "def bulk_create"\n</tool>\n'


def test_cwm_text_after_the_name_is_the_command() -> None:
    # upstream's own cases (vLLM tests/tool_parsers/test_cwm_tool_parser.py), reasoning aside
    check("<think>Let me search.</think>\n" + _CWM_SEARCH, "cwm", None, [
        ("terminal", {"command": 'find . -name "*.py" | xargs grep -n "def bulk_create"'})
    ])  # fmt: skip
    two = "preamble\n<tool: function>\nterminal echo hi\n</tool>\n<tool: function>\nterminal echo bye\n</tool>\n"
    check(two, "cwm", "preamble", [("terminal", {"command": "echo hi"}), ("terminal", {"command": "echo bye"})])


def test_cwm_json_arguments_no_arguments_and_a_command_in_braces() -> None:
    text = (
        '<tool: function>\nedit {"path": "a.py", "n": [1, 2]}\n</tool><tool:function>\nls\n</tool>'
        "<tool: function>\nsh { echo a; }  \n\n  multi\n\n</tool>"
    )
    check(text, "cwm", None, [
        ("edit", {"path": "a.py", "n": [1, 2]}), ("ls", {}), ("sh", {"command": "{ echo a; }  \n\n  multi"})
    ])  # fmt: skip


def test_cwm_command_streams_as_it_is_written() -> None:
    text = "<tool: function>\nterminal echo one two three   \n</tool>"
    parser = StreamParser("cwm")
    pieces = [d.tool_calls[0].arguments for ch in text[:-11] for d in parser.feed(ch) if d.tool_calls]
    assert "".join(p for p in pieces if p) == '{"command": "echo one two three'


def test_cwm_command_only_where_the_schema_has_one() -> None:
    tools = [
        {"name": "terminal", "parameters": {"properties": {"command": {"type": "string"}}}},
        {"name": "read", "parameters": {"properties": {"path": {"type": "string"}}}},
    ]
    check("<tool: function>\nterminal ls -la\n</tool>", "cwm", None, [("terminal", {"command": "ls -la"})], tools)
    text = "<tool: function>\nread a.py\n</tool>\n<tool: function>\nterminal pwd\n</tool>"
    with pytest.raises(ToolCallParseError, match="no 'command'") as info:
        parse(text, "cwm", tools)
    assert [(c.name, c.arguments) for c in info.value.tool_calls] == [("terminal", {"command": "pwd"})]
    assert same(stream(list(text), "cwm", tools), whole(text, "cwm", tools))


def test_cwm_a_closing_tag_inside_a_json_string_is_data() -> None:
    """Issue 12, kind 2: a JSON rest's ``</tool>`` inside a string does not end the call; a rest
    that is no JSON object ending the call is a command up to its first ``</tool>`` (one that
    breaks the JSON after the tag, an unclosed string, a command in braces); whole and at every split."""
    text = (
        '<tool: function>\nwrite {"path": "a.html", "text": "<tool>x</tool>\\n</tool>"}\n</tool>\n'
        '<tool: function>\nsh {"a": 1} && echo "</tool>"</tool>\n'  # the object does not end the call
        '<tool: function>\nsh {"a": "x</tool> and the text goes on\n'  # an unclosed string
        "<tool: function>\nsh { echo '</tool>'; }</tool>"
    )
    # what follows a command's first </tool> is content
    check(text, "cwm", '"</tool> and the text goes on\'; }', [
        ("write", {"path": "a.html", "text": "<tool>x</tool>\n</tool>"}),
        ("sh", {"command": '{"a": 1} && echo "'}),
        ("sh", {"command": '{"a": "x'}),
        ("sh", {"command": "{ echo '"}),
    ])  # fmt: skip


def test_cwm_mentions_and_cut_calls() -> None:
    check("Write <tool: function> then the name.", "cwm", "Write <tool: function> then the name.", [])
    check("<tool: function>ls</tool> runs ls", "cwm", "<tool: function>ls</tool> runs ls", [])  # the name's line
    with pytest.raises(ToolCallParseError, match="ends inside"):
        parse("<tool: function>\nterminal echo hi", "cwm")
    # detection leaves the tag alone: a bare name after it is too common in prose
    assert parse(_CWM_SEARCH).tool_calls == ()


def test_a_tool_name_not_closed_within_its_limit_reads_the_same_whole_and_streamed() -> None:
    text = (
        '<minimax:tool_call><invoke name="a"></invoke><invoke name="' + "x" * 300 + '"></invoke>'
        '<invoke name="c"></invoke></minimax:tool_call>'
    )
    assert same(stream(list(text), "minimax_m2"), whole(text, "minimax_m2"))
