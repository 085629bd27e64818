"""Issue 12, kinds 1 and 6: one call that cannot be used never sinks its readable siblings, an
attempted call is never dropped silently, and a marker's text never vanishes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import FORMATS, StreamParser, parse
from tests.strategies import FAMILY, RENDER, calls, splits
from tests.toolcalls._support import feed_all, same, stream, whole

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_SENTINEL = "@@BAD@@"
#: How the sentinel string is written by each family's renderer (replaced by an unusable number).
_WRITTEN = {"json": json.dumps(_SENTINEL), "harmony": json.dumps(_SENTINEL), "python": repr(_SENTINEL)}
_UNKNOWN = "zz_not_offered"
#: Formats without a marker: text that is not clearly a call is prose there, so a block with a bad
#: call is content as a whole (docs/concepts/tool-calls.md, recovery rules), never an error.
_MARKERLESS = {"bare_json", "llama3_json", "xlam"}
_MARKED = sorted(set(FAMILY) - _MARKERLESS)


def _tools(names: list[str]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in names]


def _raises(text: str, format: str | None, tools: Any = None) -> ToolCallParseError:
    with pytest.raises(ToolCallParseError) as info:
        parse(text, format, tools)
    return info.value


@pytest.mark.parametrize("format", _MARKED)
@SETTINGS
@given(data=st.data())
def test_a_call_to_a_tool_not_offered_keeps_the_others(format: str, data: st.DataObject) -> None:
    written = data.draw(calls(FAMILY[format]).filter(lambda c: len({n for n, _ in c}) == len(c)), label="calls")
    bad = data.draw(st.integers(0, len(written)), label="bad")
    text_calls = [*written[:bad], (_UNKNOWN, {}), *written[bad:]]
    text = RENDER[format](text_calls, "Sure.", "")
    tools = _tools([n for n, _ in written])
    error = _raises(text, format, tools)
    assert [(c.name, c.arguments) for c in error.tool_calls] == written
    assert _UNKNOWN in error.reason, error.reason
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format, tools), whole(text, format, tools))


_VALUE_FORMATS = [f for f in _MARKED if FAMILY[f] in _WRITTEN]


@pytest.mark.parametrize("format", _VALUE_FORMATS)
@SETTINGS
@given(data=st.data(), number=st.sampled_from(["1e999", "-1e999", "NaN", "Infinity"]))
def test_a_call_with_a_non_finite_number_keeps_the_others(format: str, data: st.DataObject, number: str) -> None:
    if FAMILY[format] == "python" and number in ("NaN", "Infinity"):
        number = "1e999"
    written = data.draw(calls(FAMILY[format]), label="calls")
    bad = data.draw(st.integers(0, len(written)), label="bad")
    text_calls = [*written[:bad], ("broken", {"x": _SENTINEL}), *written[bad:]]
    text = RENDER[format](text_calls, "Sure.", "").replace(_WRITTEN[FAMILY[format]], number)
    error = _raises(text, format)
    assert [(c.name, c.arguments) for c in error.tool_calls] == written
    assert "'broken'" in error.reason and "finite" in error.reason, error.reason
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format), whole(text, format))


#: A lone surrogate as each family writes it: a JSON or Python ``\\ud800`` escape; the raw
#: character in XML text (a decoder's ``surrogateescape`` can hand one over).
_SURROGATE_WRITTEN = {
    "json": '"a\\ud800b"',
    "harmony": '"a\\ud800b"',
    "python": "'a\\ud800b'",
    "xml": "a\ud800b",
}
_SURROGATE_FORMATS = [f for f in _MARKED if FAMILY[f] in _SURROGATE_WRITTEN]


@pytest.mark.parametrize("format", _SURROGATE_FORMATS)
@SETTINGS
@given(data=st.data())
def test_a_call_with_a_lone_surrogate_keeps_the_others(format: str, data: st.DataObject) -> None:
    """A lone surrogate is not Unicode text (the call could never be encoded as UTF-8): the call
    fails like one with a non-finite number, named, whole and streamed alike, and no argument
    piece that went out holds one."""
    written = data.draw(calls(FAMILY[format]), label="calls")
    bad = data.draw(st.integers(0, len(written)), label="bad")
    text_calls = [*written[:bad], ("broken", {"x": _SENTINEL}), *written[bad:]]
    family = FAMILY[format]
    sentinel = _SENTINEL if family == "xml" else _WRITTEN[family]
    text = RENDER[format](text_calls, "Sure.", "").replace(sentinel, _SURROGATE_WRITTEN[family])
    error = _raises(text, format)
    assert [(c.name, c.arguments) for c in error.tool_calls] == written
    assert "'broken'" in error.reason and "lone surrogate (U+D800)" in error.reason, error.reason
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format), whole(text, format))
    deltas, _ = feed_all(StreamParser(format), pieces)
    "".join(call.arguments or "" for delta in deltas for call in delta.tool_calls).encode("utf-8")


@pytest.mark.parametrize(
    ("format", "text", "kept", "failed"),
    [
        (
            "hermes",
            '<tool_call>{"name":"a","arguments":{"x":1}}</tool_call>\n<tool_call>{"name":"b","arguments":{"x":}'
            '</tool_call>\n<tool_call>{"name":"c","arguments":{}}</tool_call>',
            [("a", {"x": 1}), ("c", {})],
            "unbalanced brackets",
        ),
        (
            "mistral",
            '[TOOL_CALLS][{"name":"a","arguments":{}}, {"name":"b","arguments":"x"}, {"name":"c","arguments":{}}]',
            [("a", {}), ("c", {})],
            "call 2 ('b'): arguments must be a JSON object",
        ),
        ("pythonic", "[a(x=1), b(x=), c()]", [("a", {"x": 1}), ("c", {})], "call 2 ('b'): expected a value"),
        ("pythonic", "[bad(x=b'z'), ok(y=2)]", [("ok", {"y": 2})], "call 1 ('bad'): the bytes b'z' has no JSON form"),
        ("olmo3", "<function_calls>a(x=1)\nb(1)\nc()</function_calls>", [("a", {"x": 1}), ("c", {})], "call 2 ('b')"),
        ("llama3_python_tag", "<|python_tag|>a(x=1); b(1); c()", [("a", {"x": 1}), ("c", {})], "call 2 ('b')"),
        (  # an invoke without a name between good calls (the search for the next invoke found call 3)
            "step3",
            "<｜tool_calls_begin｜>"
            + "".join(
                f"<｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke{n}>"
                f'<steptml:parameter name="k">{v}</steptml:parameter></steptml:invoke><｜tool_call_end｜>'
                for n, v in ((' name="a"', 1), ("", 2), (' name="c"', 3))
            )
            + "<｜tool_calls_end｜>",
            [("a", {"k": "1"}), ("c", {"k": "3"})],
            "call 2: an invoke without a tool name",
        ),
        (
            "qwen3_coder",
            "<tool_call>\n<function=bad_no_gt\n</function>\n</tool_call>\n<tool_call>\n<function=ok>\n"
            "<parameter=city>Dallas</parameter>\n</function>\n</tool_call>",
            [("ok", {"city": "Dallas"})],
            "malformed tag <function=bad_no_gt",
        ),
        (
            "kimi_k2",
            "<|tool_calls_section_begin|><|tool_call_begin|>functions.first.0 <|tool_call_argument_begin|>{}"
            "<|tool_call_end|><|tool_call_begin|>7:1 <|tool_call_argument_begin|>{}<|tool_call_end|>"
            "<|tool_call_begin|>functions.third:2 <|tool_call_argument_begin|>{}<|tool_call_end|>"
            "<|tool_calls_section_end|>",
            [("first", {}), ("third", {})],
            "call 2: no tool name can be read from the call id '7:1'",
        ),
    ],
)
def test_the_error_names_the_failed_call_and_keeps_the_rest(
    format: str, text: str, kept: list[tuple[str, Any]], failed: str
) -> None:
    error = _raises(text, format)
    assert [(c.name, c.arguments) for c in error.tool_calls] == kept
    assert failed in error.reason
    assert error.text == text
    for pieces in ([text[:k], text[k:]] for k in range(0, len(text) + 1, 7)):
        assert same(stream(pieces, format), whole(text, format))


@pytest.mark.parametrize("format", ["hermes", None, "smollm2", "granite", "jamba", "xlam"])
@pytest.mark.parametrize("value", ["[1, 2]", '"text"', "[]", "5"])
def test_a_marker_around_something_that_is_not_a_call_is_content_or_an_error(format: str | None, value: str) -> None:
    opener = "<|tool_call|>" if format == "granite" else "<tool_calls>" if format == "jamba" else "<tool_call>"
    closer = "" if format == "granite" else "</tool_calls>" if format == "jamba" else "</tool_call>"
    text = f"{opener}{value}{closer}"
    content, found, error = whole(text, format)
    if value == "[]":  # an empty list of calls is a block with no calls
        assert (found, error) == ([], None)
        return
    assert found == []
    assert error is not None or content == text
    assert text in (content or "") or (error is not None and error.text == text)
    mention = whole(text + " is how it looks.", format)
    assert mention[2] is None and mention[0] == text + " is how it looks."


#: A marker and its closer, for every format that has a closing marker (the pair around a body).
PAIRS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(["hermes", "qwen3_coder", "glm45", "glm47"], ("<tool_call>", "</tool_call>")),
    **dict.fromkeys(["hyperclovax_seed_think", "smollm2", "xlam", "step_audio_2"], ("<tool_call>", "</tool_call>")),
    **dict.fromkeys(["jamba", "hunyuan_a13b", "minimax", "hy_v3"], ("<tool_calls>", "</tool_calls>")),
    "seed_oss": ("<seed:tool_call>", "</seed:tool_call>"),
    "minimax_m2": ("<minimax:tool_call>", "</minimax:tool_call>"),
    "dots": ("<dots_function_call>", "</dots_function_call>"),
    "deepseek_v32": ("<｜DSML｜function_calls>", "</｜DSML｜function_calls>"),
    "deepseek_v4": ("<｜DSML｜tool_calls>", "</｜DSML｜tool_calls>"),
    "deepseek_v41": ("<｜DSML｜ calls>", "</｜DSML｜ calls>"),
    "gigachat35": ("<｜GCML｜tool_calls>", "</｜GCML｜tool_calls>"),
    "step3": ("<｜tool_calls_begin｜>", "<｜tool_calls_end｜>"),
    **dict.fromkeys(["deepseek_v3", "deepseek_v31"], ("<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>")),
    "kimi_k2": ("<|tool_calls_section_begin|>", "<|tool_calls_section_end|>"),
    "kimi_k3": ("<|open|>tools<|sep|>", "<|close|>tools<|sep|>"),
    "gemma4": ("<|tool_call>", "<tool_call|>"),
    "functiongemma": ("<start_function_call>", "<end_function_call>"),
    "internlm2": ("<|action_start|>", "<|action_end|>"),
    "llama4_pythonic": ("<|python_start|>", "<|python_end|>"),
    "lfm2": ("<|tool_call_start|>", "<|tool_call_end|>"),
    "olmo3": ("<function_calls>", "</function_calls>"),
    "longcat": ("<longcat_tool_call>", "</longcat_tool_call>"),
    "qwen25_coder": ("<tools>", "</tools>"),
    "nemotron_json": ("<TOOLCALL>", "</TOOLCALL>"),
    "cohere_command4": ("<|START_ACTION|>", "<|END_ACTION|>"),
    "apertus": ("<|tools_prefix|>", "<|tools_suffix|>"),
    "solar_open2": ("<|tool_call:start|>", "<|tool_call:end|>"),
    "minicpm5": ('<function name="', "</function>"),
    "iquest_q1": ("<iquest_tool_call>", "</iquest_tool_call>"),
    "k2_horizon": ("<ifm|tool_calls>", "</ifm|tool_calls>"),
    "plamo3": ("<|plamo:begin_tool_requests:plamo|>", "<|plamo:end_tool_requests:plamo|>"),
}


#: Formats whose block is a special-token list of calls: the list may be empty.
SPECIAL_LISTS = ("deepseek_v3", "deepseek_v31", "kimi_k2", "kimi_k3", "step3", "plamo3")


@pytest.mark.parametrize("format", sorted(PAIRS))
@pytest.mark.parametrize("body", ["hello, world!", "", "call:f"])
def test_a_marker_pair_around_no_call_is_an_error_at_the_end_and_content_before_prose(format: str, body: str) -> None:
    """Issue 12, kind 6, one rule for every format: a marker and its closer around a body that is
    not a call is an error when nothing follows it (its text in ``.content``), a mention (content,
    no error) when prose follows; never nothing. Whole text and every split agree."""
    opener, closer = PAIRS[format]
    text = f"{opener}{body}{closer}"
    content, found, error = whole(text, format)
    if not body and format in SPECIAL_LISTS:  # an empty list of calls, like "[]": no call, no error
        assert (found, error) == ([], None)
        return
    assert found == [], text
    assert isinstance(error, ToolCallParseError), (text, content)
    assert error.text == text and error.content == text
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), (content, found, error))
    mention = text + "\nis how it looks."
    assert whole(mention, format) == (mention, [], None)
    assert same(stream(list(mention), format), (mention, [], None))


def test_a_call_after_a_mentioned_marker_is_read() -> None:
    """A marker's closer is looked for only up to the next marker: a call after it is still a call."""
    text = 'Use <tool_call> tags: <tool_call>{"name": "f", "arguments": {}}</tool_call>'
    assert whole(text, "hermes") == ("Use <tool_call> tags:", [("f", {})], None)


@pytest.mark.parametrize("format", ["hermes", "mistral", "deepseek_v31", "kimi_k2", "harmony", None])
@pytest.mark.parametrize("number", ["1e999", "NaN", "-Infinity"])
def test_non_finite_numbers_are_not_json_arguments(format: str | None, number: str) -> None:
    arguments = '{"n": {"deep": [1, NUMBER]}}'.replace("NUMBER", number)
    text = {
        "hermes": f'<tool_call>{{"name": "f", "arguments": {arguments}}}</tool_call>',
        None: f'<tool_call>{{"name": "f", "arguments": {arguments}}}</tool_call>',
        "mistral": f"[TOOL_CALLS]f{arguments}",
        "deepseek_v31": f"<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{arguments}"
        "<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
        "kimi_k2": "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>"
        f"{arguments}<|tool_call_end|><|tool_calls_section_end|>",
        "harmony": "<|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json<|message|>"
        f"{arguments}<|call|>",
    }[format]
    error = _raises(text, format)
    assert "call 1 ('f')" in error.reason and "n.deep[1]" in error.reason, error.reason
    assert error.tool_calls == ()


def test_every_format_is_covered() -> None:
    assert set(FAMILY) == set(FORMATS)


#: MiniMax-M3 writes a list as its element repeated right after itself: there a tag given twice
#: in a row is a list, by the format's rule (given twice after another tag, it is an error).
_REPEAT_IS_A_LIST = {"minimax_m3"}


@pytest.mark.parametrize("format", sorted(set(FAMILY) - _REPEAT_IS_A_LIST))
@SETTINGS
@given(data=st.data())
def test_an_argument_given_twice_is_an_error_naming_it_and_keeps_the_others(format: str, data: st.DataObject) -> None:
    # arguments stream as they are written: a later value cannot replace one that went out, so
    # "last wins" cannot be streamed honestly (docs/concepts/tool-calls.md, recovery rules)
    written = data.draw(calls(FAMILY[format]), label="calls")
    bad = data.draw(st.integers(0, len(written)), label="bad")
    text_calls = [*written[:bad], ("broken", {"qq_twice_a": "v1", "qq_twice_b": 2}), *written[bad:]]
    text = RENDER[format](text_calls, "Sure.", "").replace("qq_twice_b", "qq_twice_a")
    error = _raises(text, format)
    assert [(c.name, c.arguments) for c in error.tool_calls] == written
    assert "call" in error.reason and "'broken'" in error.reason, error.reason
    assert "'qq_twice_a' is given twice" in error.reason, error.reason
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format), whole(text, format))


@pytest.mark.parametrize("format", ["hermes", "bare_json", "xlam", "llama3_json", "jamba", None])
@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ('{"name": "f", "arguments": {"s": "x"}, "arguments": {"s": "y"}}', "'arguments' is given twice"),
        ('{"name": "f", "name": "g", "arguments": {}}', "'name' is given twice"),
        ('{"name": "f", "arguments": {"n": {"a": 1, "a": 2}}}', "'n.a' is given twice"),
    ],
)
def test_a_call_object_key_given_twice_is_an_error(format: str | None, call: str, reason: str) -> None:
    text = call if format in _MARKERLESS else f"<tool_calls>[{call}]</tool_calls>" if format == "jamba" else (
        f"<tool_call>{call}</tool_call>"
    )
    error = _raises(text, format)
    assert reason in error.reason and error.tool_calls == ()
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), whole(text, format))


@pytest.mark.parametrize("format", sorted(f for f in _MARKED if FAMILY[f] == "json"))
def test_arguments_under_a_mistyped_key_are_an_error_not_lost(format: str) -> None:
    text = RENDER[format]([("a", {}), ("f", {"qq_lost": 1})], "Sure.", "")
    typo = text.replace('"arguments": {"qq_lost"', '"argumnts": {"qq_lost"').replace(
        '"parameters": {"qq_lost"', '"paramters": {"qq_lost"'
    )
    if typo == text:
        pytest.skip("the format does not write the arguments under a key")
    error = _raises(typo, format)
    assert "is not a key of a call object" in error.reason and "'f'" in error.reason, error.reason
    assert [c.name for c in error.tool_calls] == ["a"]


@pytest.mark.parametrize(
    "call", ['{"name": "f"}', '{"name": "f", "id": "call_1", "type": "function"}', '{"name": "f", "index": 0}']
)
def test_a_call_without_arguments_and_only_call_keys_has_no_arguments(call: str) -> None:
    result = parse(f"<tool_call>{call}</tool_call>", "hermes")
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("f", {})]


_KIMI_CALL = "<|tool_call_begin|>functions.{}:0<|tool_call_argument_begin|>{}<|tool_call_end|>"


@pytest.mark.parametrize(
    ("format", "text"),
    [
        (
            "hermes",
            '<tool_call>{"name":"a","arguments":{"k":"x}}</tool_call><tool_call>{"name":"b","arguments":{}}</tool_call>',
        ),
        (
            "kimi_k2",
            "<|tool_calls_section_begin|>"
            + _KIMI_CALL.format("a", '{"k":"x}')
            + _KIMI_CALL.format("b", "{}")
            + "<|tool_calls_section_end|>",
        ),
    ],
)
def test_an_unclosed_string_fails_its_call_alone(format: str, text: str) -> None:
    error = _raises(text, format)
    assert [(c.name, c.arguments) for c in error.tool_calls] == [("b", {})]


#: JSON formats that close each call (or each request) with its own marker.
_CLOSED_JSON = ["deepseek_v3", "deepseek_v31", "hermes", "internlm2", "kimi_k2", "longcat", "plamo3", "step_audio_2"]


@pytest.mark.parametrize("format", _CLOSED_JSON)
def test_an_unclosed_string_ends_at_the_calls_closer_at_every_split(format: str) -> None:
    text = RENDER[format]([("a", {"k": "x"}), ("b", {}), ("c", {"k": "y"})], "", "")
    broken = text.replace('"x"', '"x', 1)
    assert broken != text
    error = _raises(broken, format)
    assert [(c.name, c.arguments) for c in error.tool_calls] == [("b", {}), ("c", {"k": "y"})], error.reason
    assert "text ends inside" in error.reason
    for k in range(0, len(broken) + 1, 7):
        assert same(stream([broken[:k], broken[k:]], format), whole(broken, format))


@pytest.mark.parametrize("format", ["hermes", "kimi_k2"])
def test_a_closer_inside_a_string_of_a_call_that_reads_stays_in_the_value(format: str) -> None:
    closer = "</tool_call>" if format == "hermes" else "<|tool_call_end|>"
    text = RENDER[format]([("a", {"k": f"x{closer}y"}), ("b", {})], "", "")
    result = parse(text, format)
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("a", {"k": f"x{closer}y"}), ("b", {})]


@pytest.mark.parametrize(
    ("format", "text"),
    [
        ("gemma4", '<|tool_call>call:a{k:<|"|>x}<tool_call|><|tool_call>call:b{}<tool_call|>'),
        ("mistral", '[TOOL_CALLS]a{"k": "x}[TOOL_CALLS]b{}'),
        ("mistral", '[TOOL_CALLS]a[ARGS]{"k": "x}[TOOL_CALLS]b[ARGS]{}'),
        (
            "granite_20b_fc",
            '<function_call> {"name": "a", "arguments": {"k": "x}}\n<function_call> {"name": "b", "arguments": {}}',
        ),
    ],
)
def test_an_unclosed_string_ends_at_its_call(format: str, text: str) -> None:
    error = _raises(text, format)
    assert [(c.name, c.arguments) for c in error.tool_calls] == [("b", {})]
    assert error.content.startswith(text[: text.index("x}") + 2]), error.content
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), whole(text, format))
