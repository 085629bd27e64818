"""The tagged-value formats (:mod:`modelplug.toolcalls.xml_tags`): markup inside a parameter value (a
closing tag ends it only where the format's next structural token follows), a parameter without a
valid name is an error; DeepSeek-V3.2's DSML, whole and at every split."""

from __future__ import annotations

import pytest

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import parse
from tests.toolcalls._support import check, same, stream, whole

_FILE = "if x </parameter> y:\n    print('</arg_value>', '</steptml:parameter>')"


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
