"""Issue 12: arguments stream while a call is written. The pieces of a call joined are exactly the
JSON of its final arguments, in every format and at every split, and for the JSON and XML formats
an argument goes out before the call is complete."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelplug.toolcalls import StreamParser, parse
from tests.strategies import FAMILY, RENDER, calls, prose, splits

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Formats whose arguments stream one argument at a time (the others go out whole at the end).
LIVE = sorted(
    {"hermes", "granite", "internlm2", "jamba", "hunyuan_a13b", "minimax", "phi4_mini_json", "smollm2"}
    | {"mistral", "deepseek_v3", "deepseek_v31", "kimi_k2"}
    | {"qwen3_coder", "seed_oss", "glm45", "glm47", "minimax_m2", "step3"}
    | {"harmony", "pythonic", "llama4_pythonic", "lfm2", "olmo3", "llama3_python_tag", "gemma4", "functiongemma"}
    | {"cohere_command4", "longcat", "gigachat3", "qwen25_coder", "nemotron_json"}
    | {"deepseek_v4", "deepseek_v41", "gigachat35", "kimi_k3", "hy_v3"}
    | {"granite_20b_fc", "step_audio_2", "dots", "solar_open2", "minicpm5", "plamo3", "iquest_q1"}
    | {"hyperclovax_seed_think", "rwkv", "k2_horizon", "minimax_m3", "muse_glimmer", "inkling"}
)


def _fragments(pieces: list[str], format: str, tools: Any = None) -> tuple[dict[int, list[str]], dict[int, int]]:
    """Argument pieces per call index, and the number of the feed that gave each call's first piece."""
    parser = StreamParser(format, tools)
    fragments: dict[int, list[str]] = {}
    first: dict[int, int] = {}
    for number, piece in enumerate([*pieces, None]):
        deltas = parser.feed(piece) if piece is not None else parser.finish()
        for delta in deltas:
            for call in delta.tool_calls:
                assert call.index is not None
                if call.arguments:
                    fragments.setdefault(call.index, []).append(call.arguments)
                    first.setdefault(call.index, number)
    return fragments, first


@pytest.mark.parametrize("format", sorted(FAMILY))
@SETTINGS
@given(data=st.data())
def test_fragments_joined_are_the_final_arguments_json(format: str, data: st.DataObject) -> None:
    written = data.draw(calls(FAMILY[format]), label="calls")
    text = RENDER[format](written, data.draw(prose, label="before"), data.draw(prose, label="after"))
    expected = [json.dumps(call.arguments, ensure_ascii=False) for call in parse(text, format).tool_calls]
    pieces = data.draw(splits(text), label="pieces")
    fragments, _ = _fragments(pieces, format)
    assert ["".join(fragments[index]) for index in sorted(fragments)] == expected


@pytest.mark.parametrize("format", LIVE)
def test_an_argument_goes_out_before_its_call_is_complete(format: str) -> None:
    arguments = {"path": "notes.txt", "content": "line one, line two, and a long tail " * 4}
    text = RENDER[format]([("write_file", arguments)], "", "")
    fragments, first = _fragments(list(text), format)
    assert json.loads("".join(fragments[0])) == arguments
    # fed one character per feed: "path" went out before the long "content" value was written
    assert first[0] < len(text) - len(arguments["content"]), f"{format}: arguments went out only at the end"


_ESCAPES = (
    '<tool_call>{"name": "w", "arguments": {"a": "q\\"x\\\\y\\n\\t\\u00e9\\/z\\ud83d\\ude00!", '
    '"n": "42", "b": "tail\\\\"}}</tool_call>'
)
_TOOLS = [{"name": "w", "parameters": {"properties": {"n": {"type": "integer"}, "a": {"type": "string"}}}}]


@pytest.mark.parametrize("tools", [None, _TOOLS], ids=["no tools", "coerced"])
def test_string_arguments_stream_at_every_split(tools: object) -> None:
    final = parse(_ESCAPES, "hermes", tools).tool_calls[0].arguments  # type: ignore[arg-type]
    assert final["a"] == 'q"x\\y\n\té/z😀!' and final["n"] == (42 if tools else "42")
    expected = json.dumps(final, ensure_ascii=False)
    for k in range(len(_ESCAPES) + 1):
        for pieces in ([_ESCAPES[:k], _ESCAPES[k:]], [_ESCAPES[:k], *_ESCAPES[k:]]):
            parser = StreamParser("hermes", tools)  # type: ignore[arg-type]
            deltas = [d for piece in pieces for d in parser.feed(piece)] + parser.finish()
            joined = "".join(p.arguments or "" for d in deltas for p in d.tool_calls)
            assert joined == expected, f"split at {k}"


_XML_VALUES = {
    "qwen3_coder": "<tool_call>\n<function=w>\n<parameter=n>\n7\n</parameter>\n<parameter=text>\r\n"
    "line\r\n</parameter> inside\n\n</parameter>\n</function>\n</tool_call>",
    "glm47": "<tool_call>w<arg_key>n</arg_key><arg_value>7</arg_value><arg_key>text</arg_key>"
    "<arg_value>\nline\n</arg_value> inside\n</arg_value></tool_call>",
    "minimax_m2": '<minimax:tool_call><invoke name="w"><parameter name="n">7</parameter>'
    '<parameter name="text">\nline</parameter>x\n</parameter></invoke></minimax:tool_call>',
}


@pytest.mark.parametrize("format", sorted(_XML_VALUES))
@pytest.mark.parametrize("tools", [None, _TOOLS], ids=["no tools", "coerced"])
def test_xml_values_stream_at_every_split(format: str, tools: object) -> None:
    text = _XML_VALUES[format]
    final = parse(text, format, tools).tool_calls[0].arguments  # type: ignore[arg-type]
    assert final["n"] == (7 if tools else "7") and "</" in final["text"]
    expected = json.dumps(final, ensure_ascii=False)
    for k in range(len(text) + 1):
        for pieces in ([text[:k], text[k:]], [text[:k], *text[k:]]):
            fragments, _ = _fragments(pieces, format, tools)
            assert "".join(fragments[0]) == expected, f"split at {k}"


_PY_VALUES = {
    "pythonic": "[w(n='7', text='a\\'b\\n\\x41\\u00e9\\N{BULLET}\\d \"q\"', extra={'k': [1, None]}), g(), "
    "w(text=r'raw\\n', n=3)]",
    "lfm2": '<|tool_call_start|>[w(n=7, text="line\\\\ two"), g(a=True)]<|tool_call_end|>',
    "olmo3": "<function_calls>w(n=7, text='x y')\ng(b=null)</function_calls>",
    "llama3_python_tag": "<|python_tag|>w(n=7, text='semi;colon'); g(a=1)",
    "gemma4": '<|tool_call>call:w{n:7,<|"|>text<|"|>:<|"|>line, one {x}<|"|>,nest:{a:[1,<|"|>b<|"|>]},'
    'flag:true, s:<|"|>tail<|"|>}<tool_call|><|tool_call>call:g{}<tool_call|>',
    "llama4_pythonic": "<|python_start|>[w(text='''tri\nple''', n=-2.5e3), g(a=(1, 2))]<|python_end|>",
}
_PY_TOOLS = [*_TOOLS, {"name": "g", "parameters": {}}]


@pytest.mark.parametrize("format", sorted(_PY_VALUES))
@pytest.mark.parametrize("tools", [None, _PY_TOOLS], ids=["no tools", "coerced"])
def test_python_and_gemma_values_stream_at_every_split(format: str, tools: object) -> None:
    text = _PY_VALUES[format]
    expected = [json.dumps(call.arguments, ensure_ascii=False) for call in parse(text, format, tools).tool_calls]  # type: ignore[arg-type]
    assert len(expected) == text.count("w(") + text.count("g(") + text.count("call:")
    for k in range(len(text) + 1):
        for pieces in ([text[:k], text[k:]], [text[:k], *text[k:]]):
            fragments, _ = _fragments(pieces, format, tools)
            assert ["".join(fragments[index]) for index in sorted(fragments)] == expected, f"split at {k}"


#: (before the first value, a short first value, the rest of the call) per XML format.
_SHORT_FIRST = {
    "qwen3_coder": ("<tool_call>\n<function=w>\n<parameter=path>\n", "\n</parameter>\n</function>\n</tool_call>"),
    "seed_oss": (
        "<seed:tool_call>\n<function=w>\n<parameter=path>\n",
        "\n</parameter>\n</function>\n</seed:tool_call>",
    ),
    "glm45": ("<tool_call>w\n<arg_key>path</arg_key>\n<arg_value>", "</arg_value>\n</tool_call>"),
    "glm47": ("<tool_call>w<arg_key>path</arg_key><arg_value>", "</arg_value></tool_call>"),
    "minimax_m2": (
        '<minimax:tool_call>\n<invoke name="w">\n<parameter name="path">',
        "</parameter>\n</invoke>\n</minimax:tool_call>",
    ),
    "deepseek_v32": (
        '<｜DSML｜function_calls>\n<｜DSML｜invoke name="w">\n<｜DSML｜parameter name="path" string="true">',
        "</｜DSML｜parameter>\n</｜DSML｜invoke>\n</｜DSML｜function_calls>",
    ),
    "step3": (
        "<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜>"
        '<steptml:invoke name="w"><steptml:parameter name="path">',
        "</steptml:parameter></steptml:invoke><｜tool_call_end｜><｜tool_calls_end｜>",
    ),
}


@pytest.mark.parametrize("format", sorted(_SHORT_FIRST))
@pytest.mark.parametrize("kind", ["short", "tag", "closer start", "most of the closer"])
def test_a_short_first_xml_value_shows_in_the_delta_that_writes_it(format: str, kind: str) -> None:
    """Only a tail that could still be the closing or the next tag waits (no fixed-length hold)."""
    before, after = _SHORT_FIRST[format]
    closer = after.lstrip("\n").split(">")[0] + ">"
    value, shown = {
        "short": ("src/app.py", "src/app.py"),
        "tag": ("a <b> c", "a <b> c"),
        "closer start": ("x " + closer[:1], "x "),
        "most of the closer": ("x " + closer[:-1], "x "),
    }[kind]
    parser = StreamParser(format)
    parser.feed(before)
    got = "".join(piece.arguments or "" for delta in parser.feed(value) for piece in delta.tool_calls)
    assert got == '{"path": "' + shown
    text = before + value + after
    final = json.dumps(parse(text, format).tool_calls[0].arguments, ensure_ascii=False)
    for k in range(len(text) + 1):
        fragments, _ = _fragments([text[:k], text[k:]], format)
        assert "".join(fragments[0]) == final, k


def _live(pieces: list[str], format: str) -> tuple[dict[int, list[str]], dict[int, int], list[str]]:
    """Like :func:`_fragments`, errors allowed: also the names of the calls that have arguments."""
    from modelplug.errors import ToolCallParseError

    parser = StreamParser(format)
    fragments: dict[int, list[str]] = {}
    first: dict[int, int] = {}
    names: dict[int, str] = {}
    for number, piece in enumerate([*pieces, None]):
        try:
            deltas = parser.feed(piece) if piece is not None else parser.finish()
        except ToolCallParseError as error:
            deltas = list(error.deltas)  # type: ignore[attr-defined]
        for delta in deltas:
            for call in delta.tool_calls:
                assert call.index is not None
                if call.name:
                    names[call.index] = call.name
                if call.arguments:
                    fragments.setdefault(call.index, []).append(call.arguments)
                    first.setdefault(call.index, number)
    return fragments, first, [names[index] for index in sorted(fragments)]


_LONG = "a long value, " * 8
#: Arguments that streamed only at the call's close before (issue 12): ``**{...}``, the calls after
#: one with a positional argument (an error), Llama 3.1's built-in tools.
_CLOSE_ONLY = {
    "spread": ("pythonic", f'[f(a=1, **{{"b": "{_LONG}", "c": [1, 2]}}), g(z="{_LONG}")]'),
    "after a positional": ("pythonic", f'[f("pos", k=2), g(z="{_LONG}"), h(y=1)]'),
    "positional in lfm2": ("lfm2", f'<|tool_call_start|>[f(1), g(z="{_LONG}")]<|tool_call_end|>'),
    "brave_search": ("llama3_python_tag", f'<|python_tag|>brave_search.call(query="{_LONG}")<|eom_id|>'),
    "wolfram_alpha": ("llama3_json", f'<|python_tag|>wolfram_alpha.call(query="{_LONG}", n=3)'),
    "python tag spread": ("llama3_python_tag", f'<|python_tag|>f(**{{"q": "{_LONG}"}}); g(z="{_LONG}")'),
}


@pytest.mark.parametrize("case", sorted(_CLOSE_ONLY))
def test_arguments_that_streamed_at_close_stream_live(case: str) -> None:
    format, text = _CLOSE_ONLY[case]
    from tests.toolcalls._support import whole

    _, read, _ = whole(text, format)
    expected = [json.dumps(arguments, ensure_ascii=False) for _, arguments in read]
    for k in range(len(text) + 1):
        fragments, _, names = _live([text[:k], text[k:]], format)
        assert ["".join(fragments[index]) for index in sorted(fragments)] == expected, f"split at {k}"
        assert names == [name for name, _ in read]
    fragments, first, _ = _live(list(text), format)
    assert ["".join(fragments[index]) for index in sorted(fragments)] == expected
    # fed one character at a time, a string value streams as it is written, also as an item of a
    # ``**{...}`` (and the calls after it stream)
    ends = [m.end() for m in re.finditer(re.escape(_LONG), text)]
    long_calls = [index for index in sorted(fragments) if _LONG in "".join(fragments[index])]
    assert len(long_calls) == len(ends)
    for index, end in zip(long_calls, ends, strict=True):
        assert first[index] < end - len(_LONG) // 2, (index, first, end)


@st.composite
def _spread_calls(draw: st.DrawFn) -> str:
    """A pythonic call list where some arguments are written as items of ``**{...}`` dicts."""
    out = []
    for n, arguments in draw(calls("python")):
        items = list(arguments.items())
        cut = draw(st.integers(0, len(items)))
        keywords = [f"{k}={v!r}" for k, v in items[:cut]]
        spread = "{" + ", ".join(f"{k!r}: {v!r}" for k, v in items[cut:]) + draw(st.sampled_from(["", ","])) + "}"
        if spread == "{,}":
            spread = "{}"
        out.append(f"{n}({', '.join([*keywords, '**' + spread])})")
    return "[" + ", ".join(out) + "]"


@SETTINGS
@given(data=st.data())
def test_spread_items_stream_and_join_to_the_final_json_at_every_split(data: st.DataObject) -> None:
    """Issue 12: the items of a ``**{...}`` argument stream like keyword arguments; the pieces of
    each call joined are its final arguments JSON, however the text is split."""
    text = data.draw(_spread_calls(), label="text")
    expected = [json.dumps(call.arguments, ensure_ascii=False) for call in parse(text, "pythonic").tool_calls]
    pieces = data.draw(splits(text), label="pieces")
    fragments, _ = _fragments(pieces, "pythonic")
    assert ["".join(fragments[index]) for index in sorted(fragments)] == expected
    fragments, _ = _fragments(list(text), "pythonic")
    assert ["".join(fragments[index]) for index in sorted(fragments)] == expected
