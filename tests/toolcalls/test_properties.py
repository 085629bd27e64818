"""Property tests: calls rendered in every format round-trip, streaming agrees with the whole-text
parse on arbitrary splits of arbitrary text, and the time spent grows linearly with the text."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import FORMATS, StreamParser, parse, parse_json_blob
from tests.strategies import FAMILY, RENDER, calls, marker_soup, prose, splits
from tests.toolcalls._support import norm, same, stream, whole

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_format_has_a_renderer() -> None:
    assert sorted(FAMILY) == sorted(FORMATS)


#: Formats with GLM's markers but JSON values (HyperCLOVA X): only a named format reads the JSON.
_READ_AS_GLM = {"hyperclovax_seed_think"}
#: Formats read only when named (CWM's ``<tool: ...>`` tag, MiniMax-M3's ``]<]minimax[>[``):
#: detection leaves the text as content.
_NAMED_ONLY = {"cwm", "minimax_m3"}


@pytest.mark.parametrize("format", sorted(FAMILY))
@SETTINGS
@given(data=st.data())
def test_rendered_calls_round_trip(format: str, data: st.DataObject) -> None:
    expected = data.draw(calls(FAMILY[format]), label="calls")
    before, after = data.draw(prose, label="before"), data.draw(prose, label="after")
    text = RENDER[format](expected, before, after)
    result = parse(text, format)
    assert [(call.name, call.arguments) for call in result.tool_calls] == expected
    assert norm(result.content) == norm(f"{before} {after}")
    detected = parse(text)
    if format in _READ_AS_GLM:
        # the same markers as GLM: detection reads them as GLM calls, whose values stay text
        assert [call.name for call in detected.tool_calls] == [name for name, _ in expected]
    elif format in _NAMED_ONLY:
        assert detected.tool_calls == () and detected.content == text
    else:
        assert [(call.name, call.arguments) for call in detected.tool_calls] == expected
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format), whole(text, format))
    assert same(stream(pieces), whole(text))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=marker_soup, format=st.sampled_from([None, *FORMATS]), data=st.data())
def test_arbitrary_text_only_raises_parse_errors_and_streams_the_same(
    text: str, format: str | None, data: st.DataObject
) -> None:
    expected = whole(text, format)  # anything but ToolCallParseError propagates and fails the test
    for _, arguments in expected[1]:
        assert isinstance(arguments, dict)
    pieces = data.draw(splits(text), label="pieces")
    assert same(stream(pieces, format), expected)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200), format=st.sampled_from([None, *FORMATS]))
def test_plain_unicode_text(text: str, format: str | None) -> None:
    content, _, _ = whole(text, format)
    assert same(stream(list(text), format), whole(text, format))
    if not any(c in text for c in "<[{`|f"):  # nothing that could start a marker
        assert content == (text or None)


_ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "open brackets": lambda n: "[" * n,
    "open braces": lambda n: "{" * n,
    "nested objects": lambda n: '{"a":' * (n // 5),
    "tags": lambda n: "<tool_call>" * (n // 11),
    "python calls": lambda n: "[f(" * (n // 3),
    "unterminated string": lambda n: '<tool_call>{"name": "f", "arguments": {"a": "' + "x\\n" * (n // 3),
    "fences": lambda n: "```" * (n // 3),
    "think with marker": lambda n: "<think><tool_call>" + "x " * (n // 2),
    "quotes": lambda n: "[f(a=" + "'''" * (n // 3),
    "gemma strings": lambda n: "<|tool_call>call:f{" + '<|"|>{' * (n // 6),
    "many calls": lambda n: '<tool_call>{"name":"f","arguments":{}}</tool_call>' * (n // 50),
    "prose": lambda n: "Some prose, with <b>tags</b> and [links](x) and {braces}. " * (n // 56),
    # issue 12, kinds 3 to 5
    "unclosed think": lambda n: "<think>" + "x " * (n // 2),
    "thinks": lambda n: "<think>" * (n // 7),
    "seed think with markers": lambda n: "<seed:think>" + "<seed:tool_call>" * (n // 16),
    "gemma thought with markers": lambda n: "<|channel>thought\n" + "<|tool_call>" * (n // 12),
    "stray closers": lambda n: '<tool_call>{"name":"f","arguments":{}}</tool_call>' + "</tool_call> " * (n // 13),
    "python tag raw code": lambda n: "<|python_tag|>" + "x = 1\n" * (n // 6),
    "python tag whitespace": lambda n: "<|python_tag|>" + " " * n,
    "builtin call open": lambda n: "<|python_tag|>brave_search.call(query=" + "[" * n,
    "dsml open": lambda n: '<｜DSML｜function_calls><｜DSML｜invoke name="f">' + "<｜DSML｜parameter" * (n // 17),
    "functiongemma strings": lambda n: "<start_function_call>call:f{" + "<escape>{" * (n // 9),
    # the channel reader (harmony, MuseGlimmer, Inkling)
    "channel headers": lambda n: "<|start|>assistant" * (n // 18),
    "muse reasoning": lambda n: "<|start|>assistant to=self<|message|>" + "x <|eo" * (n // 6),
    "atem in a tool message": lambda n: '<|start|>assistant to=f<|message|><atem:function_calls><atem:invoke name="f">'
    + '<atem:parameter name="a">x</atem:parameter>' * (n // 43),
    "inkling headers": lambda n: "<|message_model|>f" * (n // 18),
    "inkling thinking": lambda n: "<|content_thinking|>" + "x <|end_mess" * (n // 12),
    "inkling call objects": lambda n: '<|content_invoke_tool_json|>{"name": "f", "args": {"a": ' + "[" * (n // 2),
    # issue 12, kind 1: lists and runs of call objects resynchronised after a broken one
    "unclosed strings in a list": lambda n: "<tool_call>" + '[{"name": "f", "arguments": {"k": "x' * (n // 37),
    "broken list elements": lambda n: "<tool_call>[" + '{"name": "f", "arguments": {"k": "x}, ' * (n // 38),
    "broken and good elements": lambda n: "<tool_call>["
    + '{"name": "f", "arguments": {"k": "x}}, {"name": "f", "arguments": {}}, ' * (n // 70)
    + "]</tool_call>",
    "broken run objects": lambda n: "<tool_call>" + '{"name": "f", "arguments": {"k": "x}}\n' * (n // 38),
    "broken markerless list": lambda n: "[" + '{"name": "f", "arguments": {"k": "x}}, ' * (n // 38) + "]",
    "broken mistral list": lambda n: "[TOOL_CALLS][" + '{"name": "f", "arguments": {"k": "x}, ' * (n // 38),
}

#: Lists of objects that never close, in prose: bare_json and xlam (and detection) matched brackets
#: to the end of the text from every ``[`` before giving it back as content.
_UNCLOSED_LISTS: dict[str, Callable[[int], str]] = {
    "list openers": lambda n: "[{" * (n // 2),
    "prose lists": lambda n: "see [{x} " * (n // 9),
    "list members": lambda n: '[{"a": 1, ' * (n // 10),
    "empty objects": lambda n: "[{} " * (n // 4),
    "call lists": lambda n: '[{"name": "f", ' * (n // 15),
}
_ADVERSARIAL.update(_UNCLOSED_LISTS)


def _seconds(text: str, piece: int, format: str | None = None) -> float:
    """Seconds to read ``text`` whole (``piece`` 0) or streamed ``piece`` characters at a time."""
    start = time.perf_counter()
    if piece:
        parser = StreamParser(format)
        for k in range(0, len(text), piece):
            parser.feed(text[k : k + piece])
        with contextlib.suppress(ToolCallParseError):
            parser.finish()
    else:
        with contextlib.suppress(ToolCallParseError):
            parse(text, format)
    return time.perf_counter() - start


@pytest.mark.parametrize("name", sorted(_ADVERSARIAL))
def test_time_grows_linearly(name: str) -> None:
    make = _ADVERSARIAL[name]
    for piece in (0, 1):  # whole text, then one character at a time
        small, large = make(4_000), make(16_000)
        t_small = min(_seconds(small, piece) for _ in range(2))
        t_large = min(_seconds(large, piece) for _ in range(2))
        assert t_large < 8 * t_small + 0.05, f"{name}: {t_small:.4f}s -> {t_large:.4f}s for 4x the text"
        assert t_large < 2.0


@pytest.mark.parametrize(
    ("format", "opener"),
    [("llama3_python_tag", "<|python_tag|>"), ("llama3_json", "<|python_tag|>"), ("minicpm5", "<function name=")],
)
def test_repeated_openers_take_linear_time_in_named_formats(format: str, opener: str) -> None:
    """Every opener's reader gives up without looking to the end of the text for a token that is
    not there (raw code's ``<|eom_id|>``, a block's closer)."""

    def seconds(n: int, piece: int) -> float:
        return _seconds(opener * (n // len(opener)), piece, format)

    for piece in (0, 1):  # measured as the long shapes are: the cost per opener is small
        t_small = min(seconds(25_000, piece) for _ in range(2))
        t_large = min(seconds(200_000, piece) for _ in range(2))
        assert t_large < 16 * t_small + 0.05, f"{format}: {t_small:.4f}s -> {t_large:.4f}s for 8x the text"


@pytest.mark.parametrize("format", ["bare_json", "xlam"])
@pytest.mark.parametrize("name", sorted(_UNCLOSED_LISTS))
def test_unclosed_lists_take_linear_time_in_markerless_formats(format: str, name: str) -> None:
    make = _UNCLOSED_LISTS[name]

    small, large = make(4_000), make(16_000)
    t_small = min(_seconds(small, 0, format) for _ in range(2))
    t_large = min(_seconds(large, 0, format) for _ in range(2))
    assert t_large < 8 * t_small + 0.05, f"{name}: {t_small:.4f}s -> {t_large:.4f}s for 4x the text"


#: Python call blocks (issue 12, kind 1): a broken call is followed by a search for the next call
#: boundary from which the rest reads as calls, so many broken calls in a row, long unclosed
#: strings and first elements written as calls must not make that search quadratic. Each shape
#: is read under the named format (its opener, then a body of n characters).
_PYTHON_BLOCKS: dict[str, tuple[str, str]] = {
    "pythonic": ("[", "]"),
    "lfm2": ("<|tool_call_start|>[", "]<|tool_call_end|>"),
    "llama4_pythonic": ("<|python_start|>[", "]<|python_end|>"),
    "olmo3": ("<function_calls>", "</function_calls>"),
    "llama3_python_tag": ("<|python_tag|>", ""),
}
_PYTHON_SHAPES: dict[str, Callable[[int, str], str]] = {
    "unclosed strings in a row": lambda n, sep: f'a(x="1){sep} ' * (n // 10),
    "unbalanced calls in a row": lambda n, sep: f"a(x=[1){sep} " * (n // 10),
    "a long unclosed string": lambda n, sep: f'a(x=1){sep} b(y="' + f"x{sep} c(z=1) " * (n // 12),
    "first elements written as calls": lambda n, sep: f"get weather(){sep} " * (n // 15),
    "broken lists in a row": lambda n, sep: f'a(x="1){sep} b(y=2)]\n[' * (n // 18),
    # every boundary's tail reads up to the last call before failing (the re-read budget stops it)
    "calls between two broken ones": lambda n, sep: f"b(y=[1){sep} " + f"c(){sep} " * (n // 5) + "d(z=[1)",
}


@pytest.mark.parametrize("format", sorted(_PYTHON_BLOCKS))
@pytest.mark.parametrize("name", sorted(_PYTHON_SHAPES))
def test_broken_python_calls_take_linear_time(format: str, name: str) -> None:
    opener, closer = _PYTHON_BLOCKS[format]
    sep = {"olmo3": "\n", "llama3_python_tag": ";"}.get(format, ",")

    def seconds(n: int, piece: int) -> float:
        return _seconds(opener + _PYTHON_SHAPES[name](n, sep) + closer, piece, format)

    for piece in (0, 1):
        t_small = min(seconds(4_000, piece) for _ in range(2))
        t_large = min(seconds(16_000, piece) for _ in range(2))
        assert t_large < 8 * t_small + 0.05, f"{name}: {t_small:.4f}s -> {t_large:.4f}s for 4x the text"
        assert t_large < 2.0


#: Shapes whose cost was quadratic only in long texts (whitespace held back piece by piece), so they
#: are measured at 25 K and 200 K characters: linear time gives 8x, quadratic 64x.
_LONG_ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "whitespace": lambda n: " " * n,
    "newlines after prose": lambda n: "Done." + "\n" * n,
    "whitespace after a call": lambda n: '<tool_call>{"name":"f","arguments":{}}</tool_call>' + " \t" * (n // 2),
    "whitespace after a mention": lambda n: "<tool_call>{x</tool_call>" + " " * n,
    "whitespace in harmony": lambda n: "<|channel|>" + " " * n,
    "whitespace in a muse message": lambda n: "<|start|>assistant to=user<|message|>" + " " * n,
    "whitespace in an inkling call": lambda n: "<|content_invoke_tool_json|>" + " " * n,
    # a reader that looked to the text's end, once per opener, for a token that is not there
    "python tags": lambda n: "<|python_tag|>" * (n // 14),
    "function name openers": lambda n: "<function name=" * (n // 15),
    # resynchronising a list after each broken element: a JSON error's line count is O(offset)
    "broken mistral elements": lambda n: "[TOOL_CALLS][" + '{"name": "a", "arguments": {"k": "x}, ' * (n // 38) + "]",
    "broken hermes run lines": lambda n: "<tool_call>\n" + '{"name": "a", "arguments": {"s": "x}\n' * (n // 37),
}


@pytest.mark.parametrize("name", sorted(_LONG_ADVERSARIAL))
def test_time_grows_linearly_on_long_texts(name: str) -> None:
    make = _LONG_ADVERSARIAL[name]
    for piece in (0, 1):
        small, large = make(25_000), make(200_000)
        t_small = min(_seconds(small, piece) for _ in range(2))
        t_large = min(_seconds(large, piece) for _ in range(2))
        assert t_large < 16 * t_small + 0.05, f"{name}: {t_small:.4f}s -> {t_large:.4f}s for 8x the text"


def _blob_seconds(text: str) -> float:
    start = time.perf_counter()
    with contextlib.suppress(ToolCallParseError):
        parse_json_blob(text)
    return time.perf_counter() - start


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "<think>" * (n // 7),
        lambda n: "<think>x " * (n // 9) + '{"name": "f"}',
        lambda n: "<think>a</think>" * (n // 16) + "<think>" * (n // 14),
        lambda n: "{" * n,
        lambda n: "{so on} " * (n // 8) + '{"name": "f"}',
        lambda n: '{"name": "f"}' + ' {"x"}' * (n // 6),
        lambda n: ' {"x"}' * (n // 6) + '{"name": "f"}',
        lambda n: '{"name": "f"}' + " {" * (n // 2),
        lambda n: "{ " * (n // 2),
        lambda n: '{"a", ' * (n // 6),
    ],
    ids=[
        "unclosed think",
        "unclosed think then json",
        "closed then unclosed think",
        "open braces",
        "prose braces then json",
        "sets after the blob",
        "sets before the blob",
        "open braces after the blob",
        "spaced open braces",
        "open sets",
    ],
)
def test_parse_json_blob_time_grows_linearly(make: Callable[[int], str]) -> None:
    small, large = make(25_000), make(200_000)
    t_small = min(_blob_seconds(small) for _ in range(2))
    t_large = min(_blob_seconds(large) for _ in range(2))
    assert t_large < 16 * t_small + 0.05, f"{t_small:.4f}s -> {t_large:.4f}s for 8x the text"


def _named_seconds(text: str, format: str) -> float:
    start = time.perf_counter()
    parser = StreamParser(format)
    for char in text:
        parser.feed(char)
    with contextlib.suppress(ToolCallParseError):
        parser.finish()
    return time.perf_counter() - start


_K2_JSON_CALL = '<ifm|tool_call>{"name": "f"}</ifm|tool_call>'
_M3_INVOKE = ']<]minimax[>[<tool_call>]<]minimax[>[<invoke name="f">'

#: Shapes the argument streaming of the pythonic and gemma4 readers follows (format, text of size n).
_STREAMED_ADVERSARIAL: dict[str, tuple[str, Callable[[int], str]]] = {
    "long python string": ("pythonic", lambda n: "[f(a='" + "x" * n + "')]"),
    "long triple-quoted string": ("pythonic", lambda n: "[f(a='''" + "x\n" * (n // 2) + "''')]"),
    "long raw string": ("lfm2", lambda n: "<|tool_call_start|>[f(a=r'" + "x" * n + "')]<|tool_call_end|>"),
    "long name": ("olmo3", lambda n: "<function_calls>" + "f" * n + "(a=1)</function_calls>"),
    "many arguments": ("pythonic", lambda n: "[f(" + ", ".join(f"a{k}=1" for k in range(n // 6)) + ")]"),
    "gemma commas": ("gemma4", lambda n: "<|tool_call>call:f{" + "x," * (n // 2) + "}<tool_call|>"),
    "gemma quoted keys": ("gemma4", lambda n: "<|tool_call>call:f{" + '<|"|>k<|"|> ' * (n // 12) + "}<tool_call|>"),
    "gemma strings": ("gemma4", lambda n: '<|tool_call>call:f{a:<|"|>' + "x" * n + '<|"|>}<tool_call|>'),
    "positional calls": ("pythonic", lambda n: "[" + ", ".join(["f(1, a=[2, 3])"] * (n // 16)) + "]"),
    "long spread": ("pythonic", lambda n: "[f(**{" + ", ".join(f"'k{k}': [1, 2]" for k in range(n // 14)) + "})]"),
    "builtin string": ("llama3_python_tag", lambda n: '<|python_tag|>brave_search.call(query="' + "x" * n + '")'),
    "cwm spaces in a command": ("cwm", lambda n: "<tool: function>\nsh x" + " " * n + "y</tool>"),
    "cwm words": ("cwm", lambda n: "<tool: function>\nsh " + "x " * (n // 2) + "</tool>"),
    # JSON rests whose string holds </tool> and never closes: each call read again as a command
    "cwm open strings": ("cwm", lambda n: '<tool: function>\nf {"a": "</tool>", "b": "' * (n // 40)),
    "cwm unclosed strings": ("cwm", lambda n: '<tool: function>\nf {"a": "x</tool>' * (n // 26)),
    "k2 json calls": ("k2_horizon", lambda n: "<ifm|tool_calls>" + _K2_JSON_CALL * (n // 45)),
    "hy suffixed tags": ("hy_v3", lambda n: "<tool_calls:x><tool_call:x>f" + "<arg_key:x>k</arg_key:x>" * (n // 24)),
    "m3 open elements": ("minimax_m3", lambda n: _M3_INVOKE + "]<]minimax[>[<a>" * (n // 16)),
    "m3 repeated tags": ("minimax_m3", lambda n: _M3_INVOKE + "]<]minimax[>[<a>x]<]minimax[>[</a>" * (n // 34)),
    "m3 long value": ("minimax_m3", lambda n: _M3_INVOKE + "]<]minimax[>[<a>" + "x]" * (n // 2)),
    "long atem value": (
        "muse_glimmer",
        lambda n: '<|start|>assistant to=f<|message|><atem:function_calls><atem:invoke name="f">'
        '<atem:parameter name="a">' + "x<" * (n // 2) + "</atem:parameter></atem:invoke></atem:function_calls><|eom|>",
    ),
    "prose with to=": ("muse_glimmer", lambda n: "to=x " * (n // 5)),
    "long inkling string": (
        "inkling",
        lambda n: '<|content_invoke_tool_json|>{"name": "f", "args": {"a": "' + "x" * n + '"}}<|end_message|>',
    ),
    "long xml value": (
        "qwen3_coder",
        lambda n: "<function=f><parameter=a>" + "x<" * (n // 2) + "</parameter></function>",
    ),
}


@pytest.mark.parametrize("name", sorted(_STREAMED_ADVERSARIAL))
def test_streamed_arguments_time_grows_linearly(name: str) -> None:
    format, make = _STREAMED_ADVERSARIAL[name]
    small, large = make(4_000), make(16_000)
    t_small = min(_named_seconds(small, format) for _ in range(3))
    t_large = min(_named_seconds(large, format) for _ in range(3))
    assert t_large < 8 * t_small + 0.05, f"{name}: {t_small:.4f}s -> {t_large:.4f}s for 4x the text"


#: Call-free texts for the engine's search for openers with several first characters (``<`` and the
#: backtick of a fence, under hermes): each character's next opener is searched once per buffer.
_SCAN_SHAPES: dict[str, Callable[[int], str]] = {
    "markup prose": lambda n: ("See <b>docs</b> and `code`, a < b; ``x`` and [y](z).\n" * (n // 52 + 1))[:n],
    "rejected fences, then a tag": lambda n: "```py\nx = 1\n```\n" * (n // 16) + "<b>",
    "tags, then a fence": lambda n: "<b>x</b> " * (n // 9) + "```",
    "tags and fences": lambda n: "<b>x</b> ```js\n1\n``` " * (n // 22),
}


def _per_byte(text: str, format: str | None, piece: int, repeat: int) -> float:
    """CPU seconds per character (process time: the other processes of a shared machine do not count)."""

    def once() -> float:
        start = time.process_time()
        if piece:
            parser = StreamParser(format)
            for k in range(0, len(text), piece):
                parser.feed(text[k : k + piece])
            parser.finish()
        else:
            parse(text, format)
        return time.process_time() - start

    return min(once() for _ in range(repeat)) / len(text)


def _flat(make: Callable[[int], str], format: str | None, piece: int, sizes: tuple[int, int]) -> str | None:
    """None when the time per byte at ``sizes[1]`` is under 2x that at ``sizes[0]`` in one of three
    tries (a shared machine is noisy; quadratic time fails every try), else the last figures."""
    figures = ""
    for _ in range(3):
        small = _per_byte(make(sizes[0]), format, piece, 10)
        large = _per_byte(make(sizes[1]), format, piece, 2)
        if large < 2 * small:
            return None
        figures = f"{small * 1e9:.1f} ns/byte at {sizes[0]} characters, {large * 1e9:.1f} at {sizes[1]}"
    return figures


@pytest.mark.parametrize("format", ["hermes", None])
@pytest.mark.parametrize("name", sorted(_SCAN_SHAPES))
def test_opener_search_time_per_byte_is_flat(name: str, format: str | None) -> None:
    """Time per byte at 10 KB and at 1 MB within 2x (whole text; 64-character pieces up to 100 KB)."""
    make = _SCAN_SHAPES[name]
    assert _flat(make, format, 0, (10_000, 1_000_000)) is None
    assert _flat(make, format, 64, (10_000, 100_000)) is None
