"""Issue 12, kind 1: of k calls where one cannot be used, the k-1 others are kept, in every format;
the error names the failed call and carries the others. Whole text and streamed at random splits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import FORMATS
from modelplug.types import Tool
from tests.strategies import FAMILY, RENDER, arguments, splits
from tests.toolcalls._support import same, stream, whole

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Formats without a marker: a call to a tool that was not offered is not a call there, but prose.
MARKERLESS = ("bare_json", "xlam", "llama3_json")

#: Structural faults inside one call of a block of several (the call named ``n``), per format whose
#: blocks hold several calls: a parameter without a name, or a value that is not the JSON it says.
BREAK: dict[str, Any] = {
    "minimax_m2": lambda text, n: text.replace(
        f'<invoke name="{n}">', f'<invoke name="{n}"><parameter name=>x</parameter>'
    ),
    "deepseek_v32": lambda text, n: text.replace(
        f'<｜DSML｜invoke name="{n}">',
        f'<｜DSML｜invoke name="{n}"><｜DSML｜parameter name="k" string="false">{{bad</｜DSML｜parameter>',
    ),
    "step3": lambda text, n: text.replace(
        f'<steptml:invoke name="{n}">', f'<steptml:invoke name="{n}"><steptml:parameter name="">x</steptml:parameter>'
    ),
    "qwen3_coder": lambda text, n: text.replace(f"<function={n}>", f"<function={n}>\n<parameter=>x</parameter>"),
    "seed_oss": lambda text, n: text.replace(f"<function={n}>", f"<function={n}>\n<parameter=>x</parameter>"),
    # JSON arguments that do not read, between the call's special tokens
    "deepseek_v3": lambda text, n: text.replace(f"{n}\n```json\n{{", f"{n}\n```json\n{{,"),
    "deepseek_v31": lambda text, n: text.replace(f"{n}<｜tool▁sep｜>{{", f"{n}<｜tool▁sep｜>{{,"),
    "deepseek_v4": lambda text, n: text.replace(
        f'<｜DSML｜invoke name="{n}">',
        f'<｜DSML｜invoke name="{n}"><｜DSML｜parameter name="k" string="false">{{bad</｜DSML｜parameter>',
    ),
    "deepseek_v41": lambda text, n: text.replace(
        f'<｜DSML｜ invoke name="{n}">',
        f'<｜DSML｜ invoke name="{n}"><｜DSML｜ parameter name="">x</｜DSML｜ parameter>',
    ),
    "gigachat35": lambda text, n: text.replace(
        f'<｜GCML｜invoke name="{n}">', f'<｜GCML｜invoke name="{n}"><｜GCML｜parameter name="">x</｜GCML｜parameter>'
    ),
    "dots": lambda text, n: text.replace(f'<invoke name="{n}">', f'<invoke name="{n}"><parameter name=>x</parameter>'),
    "kimi_k3": lambda text, n: re.sub(
        rf'(<\|open\|>call tool="{n}"[^<]*<\|sep\|>)',
        r'\1<|open|>argument key="k" type="object"<|sep|>{bad<|close|>argument<|sep|>',
        text,
    ),
    "hy_v3": lambda text, n: text.replace(
        f"{n}<tool_sep{_hy_suffix(text)}>",
        f"{n}<tool_sep{_hy_suffix(text)}><arg_key{_hy_suffix(text)}></arg_key{_hy_suffix(text)}>"
        f"<arg_value{_hy_suffix(text)}>x</arg_value{_hy_suffix(text)}>",
    ),
    "k2_horizon": lambda text, n: text.replace(
        f"<ifm|tool_call>{n}", f"<ifm|tool_call>{n}<ifm|arg_key>a b</ifm|arg_key><ifm|arg_value>x</ifm|arg_value>"
    ),
    "plamo3": lambda text, n: text.replace(
        f"{n}<|plamo:end_tool_name:plamo|><|plamo:begin_tool_arguments:plamo|>{{",
        f"{n}<|plamo:end_tool_name:plamo|><|plamo:begin_tool_arguments:plamo|>{{,",
    ),
    # Python calls: a keyword argument without its name
    **{
        f: (lambda text, n: text.replace(f"{n}(", f"{n}(=1, ", 1))
        for f in ("pythonic", "llama4_pythonic", "lfm2", "olmo3", "llama3_python_tag")
    },
    "kimi_k2": lambda text, n: re.sub(rf"(functions\.{n}:\d+<\|tool_call_argument_begin\|>)\{{", r"\1{,", text),
    "minimax_m3": lambda text, n: text.replace(
        f'<invoke name="{n}">', f'<invoke name="{n}">]<]minimax[>[<two words>x]<]minimax[>[</two words>'
    ),
}


def _xml_calls(format: str, first: int, k: int) -> list[int]:
    """The calls from ``first`` to ``k - 1`` that the renderer writes in the format's tagged form
    (K2 Horizon's renderer writes every third call as a JSON call object, whose faults are those
    of JSON call objects: ``test_a_json_syntax_error_inside_one_call_object_keeps_the_others``)."""
    return [i for i in range(first, k) if format != "k2_horizon" or i % 3 != 1]


def _hy_suffix(text: str) -> str:
    """The tokenizer suffix Hy's tags were rendered with (``:opensource``), or ``""``."""
    m = re.search(r"<tool_calls(:[^>]*)?>", text)
    return (m.group(1) or "") if m else ""


def _one_block(format: str, text: str) -> str:
    """qwen3_coder / seed_oss rendered one call per wrapper: put them all in one wrapper."""
    if format == "qwen3_coder":
        return text.replace("</tool_call>\n<tool_call>\n", "")
    if format == "seed_oss":
        return text.replace("</seed:tool_call>\n<seed:tool_call>\n", "")
    return text


def _check(text: str, format: str, tools: list[Tool] | None, kept: list[tuple[str, Any]], bad: str, data: Any) -> None:
    expected = whole(text, format, tools)
    error = expected[2]
    assert isinstance(error, ToolCallParseError), text
    assert expected[1] == kept
    assert f"({bad!r})" in str(error)  # the failed call is named
    assert [(c.name, c.arguments) for c in error.tool_calls] == kept
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format, tools), expected)


@pytest.mark.parametrize("format", [f for f in FORMATS if f not in MARKERLESS])
@SETTINGS
@given(data=st.data(), k=st.integers(2, 4))
def test_a_call_to_a_tool_not_offered_keeps_its_siblings(format: str, data: Any, k: int) -> None:
    bad = data.draw(st.integers(0, k - 1), label="bad")
    args = [data.draw(arguments(FAMILY[format]), label=f"arguments {i}") for i in range(k)]
    calls = [(f"tool_{i}", a) for i, a in enumerate(args)]
    tools = [Tool(name, "", {"type": "object"}) for i, (name, _) in enumerate(calls) if i != bad]
    text = RENDER[format](calls, "Let me check.", "")
    kept = [call for i, call in enumerate(calls) if i != bad]
    expected = whole(text, format, None)  # without tools: every call reads (the arguments, as read)
    assert expected[2] is None and len(expected[1]) == k
    kept = [read for i, read in enumerate(expected[1]) if i != bad]
    _check(text, format, tools, kept, f"tool_{bad}", data)


@pytest.mark.parametrize("format", sorted(BREAK))
@SETTINGS
@given(data=st.data(), k=st.integers(2, 4))
def test_a_broken_call_in_a_block_keeps_the_calls_after_it(format: str, data: Any, k: int) -> None:
    bad = data.draw(st.sampled_from(_xml_calls(format, 0, k)), label="bad")
    calls = [(f"tool_{i}", data.draw(arguments("xml"), label=f"arguments {i}")) for i in range(k)]
    good = _one_block(format, RENDER[format](calls, "Let me check.", ""))
    expected = whole(good, format)
    assert expected[2] is None and len(expected[1]) == k
    text = BREAK[format](good, f"tool_{bad}")
    assert text != good
    kept = [read for i, read in enumerate(expected[1]) if i != bad]
    _check(text, format, None, kept, f"tool_{bad}", data)


#: Every format whose blocks hold several calls -> the token that ends one call's element there
#: (for the JSON-bodied ones: the token after its arguments object).
ELEMENT_END: dict[str, str] = {
    **dict.fromkeys(["minimax_m2", "dots"], "</invoke>"),
    **dict.fromkeys(["deepseek_v32", "deepseek_v4"], "</｜DSML｜invoke>"),
    "deepseek_v41": "</｜DSML｜ invoke>",
    "gigachat35": "</｜GCML｜invoke>",
    "step3": "</steptml:invoke>",
    **dict.fromkeys(["qwen3_coder", "seed_oss"], "</function>"),
    "kimi_k3": "<|close|>call<|sep|>",
    "hy_v3": "</tool_call>",
    "k2_horizon": "</ifm|tool_call>",
    "minimax_m3": "]<]minimax[>[</invoke>",
}
JSON_BODIED: dict[str, str] = {
    "kimi_k2": "<|tool_call_end|>",
    "deepseek_v3": "\n```<｜tool▁call▁end｜>",
    "deepseek_v31": "<｜tool▁call▁end｜>",
    "plamo3": "<|plamo:end_tool_arguments:plamo|>",
}
#: Their blocks' closers: a call whose arguments' closing brace is left out and whose strings spell
#: the block's closer ends the block there (documented: the text cannot tell them apart).
BLOCK_CLOSERS: dict[str, tuple[str, ...]] = {
    "kimi_k2": ("<|tool_calls_section_end|>", "<|tool_call_section_end|>"),
    "deepseek_v3": ("<｜tool▁calls▁end｜>",),
    "deepseek_v31": ("<｜tool▁calls▁end｜>",),
    "plamo3": ("<|plamo:end_tool_requests:plamo|>", "<|plamo:end_tool_request:plamo|>"),
}


def _corrupt(format: str, text: str, name: str, shape: str, arguments: dict[str, Any]) -> str:
    """``text`` with the call to ``name`` (whose ``arguments`` were rendered) corrupted: ``name``
    (its tool name is not a name), ``unclosed`` (the token ending its element, or its arguments'
    closing brace, left out) or ``parameter`` (a parameter without a name, or arguments that are
    not JSON: ``BREAK``)."""
    at = text.index(name)
    if shape == "name":
        return text[:at] + name.replace("_", " ") + "!" + text[at + len(name) :]
    if shape == "parameter":
        return BREAK[format](text, name)
    if format in PYTHON_BLOCKS:
        if shape == "string":  # a string whose closing quote is missing, first in the call
            return text.replace(f"{name}(", f'{name}(q="oops, ', 1)
        # the call's closing parenthesis left out (its brackets do not match)
        call = _call_text(text, at)
        return text.replace(call, call[:-1], 1)
    if format in JSON_BODIED:
        # the arguments as rendered: their strings may spell the closer (data inside a string)
        rendered = json.dumps(arguments, ensure_ascii=False)
        k = text.index(rendered, at) + len(rendered) - 1
        assert text.startswith(JSON_BODIED[format], k + 1), text
        return text[:k] + text[k + 1 :]
    token = ELEMENT_END[format].replace("</tool_call>", f"</tool_call{_hy_suffix(text)}>")
    k = text.index(token, at)
    return text[:k] + text[k + len(token) :]


#: Blocks of Python calls: a call whose brackets or strings do not match ends where the rest of
#: the block reads as calls from a boundary on (``, NAME(``, a line, ``; NAME(``).
PYTHON_BLOCKS = ("pythonic", "llama4_pythonic", "lfm2", "olmo3", "llama3_python_tag")


def _call_text(text: str, at: int) -> str:
    """The text of the rendered Python call that starts at ``at`` (to its closing parenthesis)."""
    depth, i, quote = 0, text.index("(", at), ""
    while True:
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return text[at : i + 1]
        i += 1


BLOCK_SHAPES = [
    (format, shape)
    for format in sorted({*ELEMENT_END, *JSON_BODIED, *PYTHON_BLOCKS})
    for shape in ("name", "unclosed", "parameter", "string")
    if (shape != "parameter" or format in BREAK) and (shape != "string" or format in PYTHON_BLOCKS)
]


@pytest.mark.parametrize(("format", "shape"), BLOCK_SHAPES)
@SETTINGS
@given(data=st.data(), k=st.integers(2, 4))
def test_one_corrupted_call_of_a_block_keeps_the_others(format: str, shape: str, data: Any, k: int) -> None:
    """Issue 12, kind 1, in every format whose blocks hold several calls: of k calls in one block
    where one is corrupted (its name, its end, a parameter; for Python calls also a string left
    unclosed and the closing parenthesis left out), the k-1 others are read, the error
    names the bad call (its number) and carries the others; whole text and every split agree."""
    # Llama 3.1's "<|python_tag|>" followed by text that is not a call is code or content: a
    # broken name is tested after a ";" there (an element written as a call is then an error)
    first = 1 if shape == "name" and format == "llama3_python_tag" else 0
    bad = data.draw(st.sampled_from(_xml_calls(format, first, k)), label="bad")
    calls = [(f"tool_{i}", data.draw(arguments(FAMILY[format]), label=f"arguments {i}")) for i in range(k)]
    if shape == "unclosed" and format in BLOCK_CLOSERS:
        rendered = json.dumps(calls[bad][1], ensure_ascii=False)
        assume(not any(closer in rendered for closer in BLOCK_CLOSERS[format]))
    good = _one_block(format, RENDER[format](calls, "Let me check.", ""))
    expected = whole(good, format)
    assert expected[2] is None and len(expected[1]) == k, good
    text = _corrupt(format, good, f"tool_{bad}", shape, calls[bad][1])
    kept = [read for i, read in enumerate(expected[1]) if i != bad]
    result = whole(text, format)
    error = result[2]
    assert isinstance(error, ToolCallParseError), text
    assert result[1] == kept, text
    assert [(c.name, c.arguments) for c in error.tool_calls] == kept
    assert f"call {bad + 1}" in str(error), str(error)
    if shape != "name":
        assert f"({f'tool_{bad}'!r})" in str(error), str(error)
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format), result)


#: Every tagged-value format -> the closing tag of a value (qwen3_coder and Seed-OSS, where
#: ``</parameter>`` may be left out: the function's end).
VALUE_CLOSE: dict[str, str] = {
    **dict.fromkeys(["minimax_m2", "dots"], "</parameter>"),
    **dict.fromkeys(["deepseek_v32", "deepseek_v4"], "</｜DSML｜parameter>"),
    "deepseek_v41": "</｜DSML｜ parameter>",
    "gigachat35": "</｜GCML｜parameter>",
    "step3": "</steptml:parameter>",
    "kimi_k3": "<|close|>argument<|sep|>",
    **dict.fromkeys(["hy_v3", "glm45", "glm47", "iquest_q1", "hyperclovax_seed_think"], "</arg_value>"),
    "k2_horizon": "</ifm|arg_value>",
    "solar_open2": "<|tool_arg:end|>",
    "minicpm5": "</param>",
    **dict.fromkeys(["qwen3_coder", "seed_oss"], "</function>"),
    # elements named by their key: the start of the first closing tag after the call's name
    "minimax_m3": "]<]minimax[>[</",
}


@pytest.mark.parametrize("format", sorted(VALUE_CLOSE))
@SETTINGS
@given(data=st.data(), k=st.integers(2, 4))
def test_a_mistyped_closing_tag_never_takes_the_next_calls_into_a_value(format: str, data: Any, k: int) -> None:
    """Issue 12, kinds 1 and 2, in every tagged-value format: a value whose closing tag is mistyped
    (``</parametr>``) runs into the next call's opener or the block's closer; that call is an
    error naming it, the calls after it are read (never one value holding them). Whole text and
    every split agree."""
    bad = data.draw(st.sampled_from(_xml_calls(format, 0, k)), label="bad")
    args = arguments(FAMILY[format]).filter(bool)
    calls = [(f"tool_{i}", data.draw(args, label=f"arguments {i}")) for i in range(k)]
    good = RENDER[format](calls, "Let me check.", "")
    good = good.replace(":opensource", "") if format == "hy_v3" else good
    expected = whole(good, format)
    assert expected[2] is None and len(expected[1]) == k, good
    close = VALUE_CLOSE[format]
    at = good.index(close, good.index(f"tool_{bad}"))
    text = good[:at] + close[:-2] + close[-1] + good[at + len(close) :]
    kept = [read for i, read in enumerate(expected[1]) if i != bad]
    result = whole(text, format)
    error = result[2]
    assert isinstance(error, ToolCallParseError), text
    assert result[1] == kept, text
    assert [(c.name, c.arguments) for c in error.tool_calls] == kept
    assert f"({f'tool_{bad}'!r})" in str(error), str(error)
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format), result)


def _json_list(open_: str, close: str, key: str = "arguments") -> Any:
    return lambda calls: f"Let me check.\n{open_}{_list_of(calls, key)}{close}\n"


def _list_of(calls: list[tuple[str, Any]], key: str) -> str:
    return "[" + ", ".join(json.dumps({"name": n, key: a}, ensure_ascii=False) for n, a in calls) + "]"


RENDERED_JSON_BLOCKS = (
    *("granite", "jamba", "phi4_mini_json", "xlam", "minimax", "hunyuan_a13b", "smollm2", "bare_json"),
    *("cohere_command4", "qwen25_coder", "nemotron_json", "apertus"),
)

#: Blocks of JSON call objects: a list, or several objects in one tag (rendered, or built where the
#: renderer writes another form of the format).
JSON_BLOCKS: dict[str, Any] = {
    **{f: (lambda calls, _f=f: RENDER[_f](calls, "Let me check.", "")) for f in RENDERED_JSON_BLOCKS},
    "hermes": lambda calls: RENDER["hermes"](calls, "Let me check.", "").replace("</tool_call>\n<tool_call>\n", ""),
    "hermes list": _json_list("<tool_call>", "</tool_call>"),
    "mistral": _json_list("[TOOL_CALLS]", ""),
    "llama3_json": _json_list("<|python_tag|>", "", "parameters"),
    "lfm2": _json_list("<|tool_call_start|>", "<|tool_call_end|>"),
    # K2 Horizon's JSON form: one call object per call tag
    "k2_horizon": lambda calls: "Let me check.\n<ifm|tool_calls>"
    + "".join(f"<ifm|tool_call>{json.dumps({'name': n, 'arguments': a})}</ifm|tool_call>" for n, a in calls)
    + "</ifm|tool_calls>",
}


def _json_break(text: str, n: str, keyed: bool) -> str:
    """A JSON syntax error inside the object of call ``n`` (a key without a value after its name)."""
    return text.replace(f'"{n}": ', f'"{n}", "oops": ', 1) if keyed else text.replace(f'"{n}"', f'"{n}", "oops"', 1)


@pytest.mark.parametrize("block", sorted(JSON_BLOCKS))
@SETTINGS
@given(data=st.data(), k=st.integers(2, 4))
def test_a_json_syntax_error_inside_one_call_object_keeps_the_others(block: str, data: Any, k: int) -> None:
    """Issue 12, kind 1: a list of call objects (or several objects in one tag) where one object is
    not valid JSON keeps the k-1 others, names the bad one (its number, and its name where written
    first) and says where the JSON breaks; whole text and every split agree."""
    format = block.split()[0]
    bad = data.draw(st.sampled_from(_xml_calls(format, 0, k)), label="bad")
    calls = [(f"tool_{i}", data.draw(arguments("json"), label=f"arguments {i}")) for i in range(k)]
    good = JSON_BLOCKS[block](calls)
    expected = whole(good, format)
    assert expected[2] is None and len(expected[1]) == k, good
    text = _json_break(good, f"tool_{bad}", keyed=format == "apertus")
    assert text != good
    kept = [read for i, read in enumerate(expected[1]) if i != bad]
    result = whole(text, format)
    error = result[2]
    assert isinstance(error, ToolCallParseError), text
    assert result[1] == kept
    assert [(c.name, c.arguments) for c in error.tool_calls] == kept
    assert f"call {bad + 1}" in str(error) and "at offset" in str(error)
    if format != "apertus":
        assert f"({f'tool_{bad}'!r})" in str(error)
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format), result)


@pytest.mark.parametrize("block", sorted(JSON_BLOCKS))
@SETTINGS
@given(data=st.data(), k=st.integers(2, 4))
def test_a_missing_comma_between_call_objects_keeps_every_call(block: str, data: Any, k: int) -> None:
    """Issue 12, kinds 1 and 6: a list of call objects (or several objects in one tag) with the
    comma between two of them left out keeps every call, and the error says where the comma is
    missing; whole text and every split agree."""
    format = block.split()[0]
    gap = data.draw(st.integers(1, k - 1), label="gap")
    calls = [(f"tool_{i}", data.draw(arguments("json"), label=f"arguments {i}")) for i in range(k)]
    good = JSON_BLOCKS[block](calls)
    expected = whole(good, format)
    assert expected[2] is None and len(expected[1]) == k, good
    at = good.rindex("{", 0, good.index(f'"tool_{gap}"'))  # the call object naming tool ``gap``
    before = good[:at].rstrip()
    if not before.endswith(","):
        pytest.skip("the objects are not separated by commas in this block")
    text = before[:-1] + " " + good[at:]
    result = whole(text, format)
    error = result[2]
    assert isinstance(error, ToolCallParseError), text
    assert result[1] == expected[1]
    assert "a comma is missing" in error.reason and "at offset" in error.reason
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format), result)


@pytest.mark.parametrize(
    "text",
    [
        # a call object nested in the arguments of a kept call is never a call of its own
        '<tool_call>[{"name": "a", "arguments": {"x": {"name": "evil", "arguments": {}}}}, '
        '{"name": "b", "x",}]</tool_call>',
        '<tool_call>{"name": "a", "arguments": {"x": [{"name": "evil", "arguments": {}}]}}\n'
        '{"name": "b", "x",}</tool_call>',
    ],
)
def test_a_nested_call_object_is_never_taken_for_a_call(text: str) -> None:
    result = whole(text, "hermes")
    assert [name for name, _ in result[1]] == ["a"]
    assert isinstance(result[2], ToolCallParseError) and "('b')" in str(result[2])
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], "hermes"), result)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            '<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "x",}, '
            '{"name": "c", "arguments": {]]</tool_call>',
            "call 2",
        ),
        (
            '[TOOL_CALLS][{"name": "a", "arguments": {}}, {"name": "b", "x",}, {"name": "c", "arguments": {"q": "1}]',
            "call 2",
        ),
    ],
)
def test_unmatched_brackets_keep_the_calls_before_them(text: str, reason: str) -> None:
    """Where the brackets cannot be matched the rest of the list is unreadable: the calls before
    the fault are kept and the error says so; nothing after it is invented."""
    format = "mistral" if text.startswith("[TOOL_CALLS]") else "hermes"
    result = whole(text, format)
    assert [name for name, _ in result[1]] == ["a"]
    assert isinstance(result[2], ToolCallParseError) and reason in str(result[2])
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), result)


def test_an_unreadable_object_alone_in_tags_in_prose_is_still_a_mention() -> None:
    """Nothing in the block reads and nothing was announced: as before, a mention, not an error."""
    text = 'Write it as <tool_call>{"name": "b", "x",}</tool_call> and so on.'
    tools = [Tool("a", "", {"type": "object"})]
    assert whole(text, "hermes", tools) == (text, [], None)


@pytest.mark.parametrize(
    ("format", "text"),
    [
        ("hermes", '<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"x": "1}}]</tool_call>'),
        ("hermes", '<tool_call>{"name": "a", "arguments": {}}\n{"name": "b", "arguments": {"x": "1}}</tool_call>'),
        ("mistral", '[TOOL_CALLS][{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"x": "1}}]'),
        ("pythonic", '[a(x=1), b(y="Paris), c(z=2)]'),
        ("lfm2", "<|tool_call_start|>[a(x=1), b(y='Par)]<|tool_call_end|>"),
        ("llama4_pythonic", '<|python_start|>[a(x=1), b(y="""Par)]<|python_end|>'),
        ("llama3_python_tag", '<|python_tag|>a(x="1"); b(y="2); c()'),
        ("olmo3", '<function_calls>a(x=1)\nb(y="Par)\n</function_calls>'),
        ("gemma4", '<|tool_call>call:a{x:1}<tool_call|><|tool_call>call:b{x:<|"|>1}<tool_call|>'),
        (
            "kimi_k2",
            "<|tool_calls_section_begin|><|tool_call_begin|>functions.a:0<|tool_call_argument_begin|>{}"
            '<|tool_call_end|><|tool_call_begin|>functions.b:1<|tool_call_argument_begin|>{"x": "1}'
            "<|tool_call_end|><|tool_calls_section_end|>",
        ),
    ],
)
def test_a_string_the_text_ends_inside_names_its_call(format: str, text: str) -> None:
    """Issue 12: where the text ends inside a string (the quote that would close it is missing),
    the calls before it are kept and the error names the call and says which string is not
    closed, not only that the text ended; whole text and every split agree."""
    result = whole(text, format)
    error = result[2]
    assert isinstance(error, ToolCallParseError), text
    # a call after the broken one is read where the rest of the list reads as calls from a
    # boundary on (``, c(z=2)]``, ``; c()``), never out of the unclosed string
    after = ["c"] if format in ("pythonic", "llama3_python_tag") else []
    assert [name for name, _ in result[1]] == ["a", *after]
    assert "('b')" in str(error) and "string opened at offset" in str(error) and "not closed" in str(error)
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), result), k


def _unclose(text: str, name: str, shape: str) -> str:
    """``text`` with the arguments object of the call to ``name`` replaced by one that is not closed:
    ``string``: its string is not closed (``{"oops": "x``), ``brace``: its ``}`` is missing."""
    at = text.index(f'"{name}"')
    a = text.index("{", at)
    _, b = json.JSONDecoder().raw_decode(text, a)
    return text[:a] + ('{"oops": "x' if shape == "string" else '{"oops": 1') + text[b:]


#: Lists and runs of call objects in one tag, which close no call on its own (the formats of
#: ``JSON_BLOCKS`` that write several call objects between one opener and its closer, or none).
UNCLOSED_BLOCKS = [block for block in sorted(JSON_BLOCKS) if block != "k2_horizon"]


@pytest.mark.parametrize("block", UNCLOSED_BLOCKS)
@pytest.mark.parametrize("shape", ["string", "brace"])
@pytest.mark.parametrize("bad", [0, 1, 2])
def test_an_unclosed_call_object_keeps_the_calls_after_it(block: str, shape: str, bad: int) -> None:
    """Issue 12, kind 1, in lists and runs of call objects: call ``bad`` of three has an unclosed
    string or brace; the two others are read (those after it too: the reading resynchronises at
    the next call object), the error names the broken call and says what is not closed; whole
    text and every split agree."""
    format = block.split()[0]
    if bad == 2 and format in (*MARKERLESS, "lfm2"):
        pytest.skip("a JSON list the text ends inside is prose without a marker, an error in lfm2's block")
    calls = [(f"tool_{i}", {"k": f"v{i}", "n": [i, {"m": "}, {"}]}) for i in range(3)]
    good = JSON_BLOCKS[block](calls)
    expected = whole(good, format)
    assert expected[2] is None and len(expected[1]) == 3, good
    text = _unclose(good, f"tool_{bad}", shape)
    result = whole(text, format)
    error = result[2]
    assert isinstance(error, ToolCallParseError), text
    assert result[1] == [read for i, read in enumerate(expected[1]) if i != bad], text
    assert [(c.name, c.arguments) for c in error.tool_calls] == result[1]
    if bad < 2:  # resynchronised: the error names the call and says what is not closed
        assert f"call {bad + 1}" in str(error), str(error)
        if format != "apertus":
            assert f"({f'tool_{bad}'!r})" in str(error), str(error)
        assert ("string opened at offset" if shape == "string" else "is not closed") in str(error), str(error)
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), result), k


@pytest.mark.parametrize("block", UNCLOSED_BLOCKS)
@SETTINGS
@given(data=st.data(), k=st.integers(2, 4))
def test_an_unclosed_string_in_one_call_object_keeps_the_others(block: str, data: Any, k: int) -> None:
    """Issue 12, kind 1 (Hypothesis): of k call objects in a list or run where one has a string
    that is not closed, the k-1 others are read; whole text and a random split agree."""
    format = block.split()[0]
    # a JSON list the text ends inside is prose without a marker, and an error naming nothing in
    # lfm2's block: there the last call is not the broken one
    bad = data.draw(st.integers(0, k - 1 - (format in (*MARKERLESS, "lfm2"))), label="bad")
    # a bracket or quote inside a later string can stop the bracket matching before the list's end,
    # which then cannot be resynchronised (docs/concepts/tool-calls.md), and the block's closer
    # (a fence, a tag) inside the unclosed string ends the block there: left out
    args = arguments("json").filter(lambda a: not _STRUCTURAL.search("".join(_strings(a))))
    calls = [(f"tool_{i}", data.draw(args, label=f"arguments {i}")) for i in range(k)]
    good = JSON_BLOCKS[block](calls)
    expected = whole(good, format)
    assert expected[2] is None and len(expected[1]) == k, good
    text = _unclose(good, f"tool_{bad}", "string")
    kept = [read for i, read in enumerate(expected[1]) if i != bad]
    result = whole(text, format)
    error = result[2]
    assert isinstance(error, ToolCallParseError), text
    assert result[1] == kept, text
    assert [(c.name, c.arguments) for c in error.tool_calls] == kept
    if bad < k - 1:
        assert f"call {bad + 1}" in str(error), str(error)
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format), result)


_STRUCTURAL = re.compile(r"""[][{}()"'\\`<]""")


def _strings(value: Any) -> list[str]:
    """Every string in ``value`` (keys included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (key, *_strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@pytest.mark.parametrize(
    ("format", "text", "names"),
    [
        # a call object inside a string value of a well-formed call stays part of that value
        (
            "hermes",
            '<tool_call>[{"name": "a", "arguments": {"s": "x}, {\\"name\\": \\"evil\\", \\"arguments\\": {}}]"}}, '
            '{"name": "b", "arguments": {"s": "y}}, {"name": "c", "arguments": {}}]</tool_call>',
            ["a", "c"],
        ),
        (
            "bare_json",
            '[{"name": "a", "arguments": {"s": "x}, {\\"name\\": \\"evil\\", \\"arguments\\": {}}]"}}, '
            '{"name": "b", "arguments": {"s": "y}}, {"name": "c", "arguments": {}}]',
            ["a", "c"],
        ),
        # a call-shaped object nested in the broken call's arguments is not a call
        (
            "hermes",
            '<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"l": [{"k": 1}, '
            '{"name": "evil", "arguments": {}}], "s": "y}}, {"name": "c", "arguments": {}}]</tool_call>',
            ["a", "c"],
        ),
        (
            "hermes",
            '<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "x", "arguments": {"l": [{"k": 1}, '
            '{"name": "evil", "arguments": {}}]}, {"name": "c", "arguments": {}}]</tool_call>',
            ["a", "c"],
        ),
        (
            "minimax",
            '<tool_calls>\n{"name": "a", "arguments": {}}\n{"name": "b", "arguments": {"l": [{"k": 1}, '
            '{"name": "evil", "arguments": {}}], "s": "y}}\n{"name": "c", "arguments": {}}\n</tool_calls>',
            ["a", "c"],
        ),
        # several broken elements in a row
        (
            "hermes",
            '<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"s": "y}}, '
            '{"name": "c", "arguments": {}}, {"name": "b", "arguments": {"s": 1}, '
            '{"name": "d", "arguments": {}}]</tool_call>',
            ["a", "c", "d"],
        ),
        # a second broken call after the first: an object nested in its arguments is no call
        (
            "mistral",
            '[TOOL_CALLS][{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"s": 1}, '
            '{"name": "c", "arguments": {"l": [{"k": 1}, {"name": "evil", "arguments": {}}]',
            ["a"],
        ),
        (
            "hermes",
            '<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"s": 1}, '
            '{"name": "c", "arguments": {"l": [{"k": 1}, {"name": "evil", "arguments": {}}]</tool_call>',
            ["a"],
        ),
        # GigaChat 3: a broken call ends at the next call's opener, of either form
        (
            "gigachat3",
            '<|function_call|>{"name": "b", "arguments": {"s": "y}}<|message_sep|>\n\nfunction call<|role_sep|>\n'
            '{"name": "c", "arguments": {}}',
            ["c"],
        ),
    ],
)
def test_resynchronising_never_invents_a_call(format: str, text: str, names: list[str]) -> None:
    result = whole(text, format)
    assert [name for name, _ in result[1]] == names, result
    assert isinstance(result[2], ToolCallParseError) and "('b')" in str(result[2])
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), result), k


@pytest.mark.parametrize(
    ("format", "text", "names"),
    [
        ("pythonic", "[a(x=1), b(y=max(1, c(z=2)]", ["a"]),
        ("pythonic", "[a(x=1), b(y=(1, c(z=2)]", ["a"]),
        ("llama4_pythonic", "[a(x=1), b(y=(1, c(z=2)]", ["a"]),
        ("pythonic", "[a(x=1), b(y=(1), c(l=[d(k=1), evil(z=2)]", ["a"]),
        ("olmo3", "<function_calls>\na(x=1)\nb(y=(1,\nc(z=2)\n</function_calls>", ["a"]),
        # within the broken call's own brackets, or inside a string it left open: a sibling
        ("pythonic", "[a(x=1), b(y=1, c(z=2)]", ["a", "c"]),
        ("pythonic", '[a(x=1), b(y="x), c(z=2)]', ["a", "c"]),
    ],
)
def test_python_resynchronising_never_takes_a_nested_call(format: str, text: str, names: list[str]) -> None:
    """A boundary (``, NAME(``, a line) nested deeper than the broken call's own brackets is an
    argument of it (``max(1, c(z=2)``), never a call of the list."""
    result = whole(text, format)
    assert [name for name, _ in result[1]] == names, result
    assert isinstance(result[2], ToolCallParseError) and "('b')" in str(result[2]), result
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), result), k
