"""Pythonic call lists (:mod:`modelplug.toolcalls.pythonic`): unescaped inner quotes in pythonic
strings between markers (LFM2, Llama 4) are read when the text is unambiguous (a quote ends a
string only before ``,``, ``)``, ``]``, ``}``, ``:`` or the end), else the call is an error. Whole text and every
split agree."""

from __future__ import annotations

import json

import pytest

from modelplug.toolcalls import StreamParser
from tests.strategies import every_split
from tests.toolcalls._support import check, feed_all, merge, same, stream, whole

START, END = "<|tool_call_start|>", "<|tool_call_end|>"

RECOVERED = [
    (f"{START}[f(text='It's ok', n=1)]{END}", None, [("f", {"text": "It's ok", "n": 1})]),
    (
        f'{START}[f(a="say "hi" now"), g(b=\'x\')]{END} and after',
        "and after",
        [("f", {"a": 'say "hi" now'}), ("g", {"b": "x"})],
    ),
    (f"{START}[f(text='a', b='don't')]{END}", None, [("f", {"text": "a", "b": "don't"})]),
    (
        "<|python_start|>[f(q='rock 'n' roll')]<|python_end|>",
        None,
        [("f", {"q": "rock 'n' roll"})],
    ),
]


@pytest.mark.parametrize(("text", "content", "expected"), RECOVERED)
def test_inner_quotes_are_recovered_whole_and_at_every_split(text: str, content: str | None, expected: list) -> None:
    format = "llama4_pythonic" if text.startswith("<|python_start|>") else "lfm2"
    result = whole(text, format)
    assert result[2] is None and result[0] == content and result[1] == expected
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), result), f"split at {k}"


@pytest.mark.parametrize(
    "text",
    [
        f"{START}[f(text='It's)]{END}",  # the quote before ")" ends the string: the call does not read
        f"{START}[f(text='''a'b)]{END}",  # triple quotes are never guessed at
    ],
)
def test_ambiguous_quotes_are_an_error(text: str) -> None:
    result = whole(text, "lfm2")
    assert result[2] is not None and result[1] == []
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], "lfm2"), result), f"split at {k}"


_WRAPS = {
    "lfm2": (START, END),
    "llama4_pythonic": ("<|python_start|>", "<|python_end|>"),
    "pythonic": ("", ""),
}


@pytest.mark.parametrize("format", sorted(_WRAPS))
@pytest.mark.parametrize(
    "calls",
    [
        "[a(k='x), b(k='y')]",  # a's closing quote or b's: the recovery would swallow b
        '[a(k="x), b(k="y")]',
        "[a(k='x, m='y')]",  # the same between two arguments of one call
        "[a(k='x), b(k='y'), c(k='z')]",
        "[a(k=['x, 'y'])]",
    ],
)
def test_an_unescaped_quote_that_may_be_a_missing_closer_is_an_error(format: str, calls: str) -> None:
    opener, closer = _WRAPS[format]
    text = opener + calls + closer
    result = whole(text, format)
    assert result[2] is not None, result
    assert all(isinstance(v, str) and "=" not in v for _, arguments in result[1] for v in arguments.values())
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], format), result), f"split at {k}"


@pytest.mark.parametrize("format", ["lfm2", "llama4_pythonic"])
def test_an_inner_quote_inside_a_word_is_still_recovered_next_to_an_ambiguous_looking_call(format: str) -> None:
    opener, closer = _WRAPS[format]
    text = opener + "[a(k='It's here'), b(k='y')]" + closer
    assert whole(text, format)[1:] == ([("a", {"k": "It's here"}), ("b", {"k": "y"})], None)


# Issue 12, kind 1, in the pythonic family: one bad call never sinks its good siblings.

#: Each format's block around a body, and the separator of its calls.
_BLOCKS = {
    "pythonic": ("[{}]", ", "),
    "llama4_pythonic": ("<|python_start|>[{}]<|python_end|>", ", "),
    "lfm2": (START + "[{}]" + END, ", "),
    "pangu": (START + "[{}]" + END, ", "),
    "openpangu_v2": (START + "[{}]" + END, ", "),
    "olmo3": ("<function_calls>{}</function_calls>", "\n"),
    "llama3_python_tag": ("<|python_tag|>{}", "; "),
}

#: (calls written one after the other, the calls kept, what the error says). The ``{s}`` in a
#: body is the format's separator.
_SIBLINGS = [
    # a call with unmatched brackets: the calls after it are read from the next boundary
    (["a(x=1)", "b(y=[1)", "c(z=2)"], [("a", {"x": 1}), ("c", {"z": 2})], "call 2 ('b'): unbalanced brackets"),
    (["a(x=1)", "b(y=2", "c(z='q')"], [("a", {"x": 1}), ("c", {"z": "q"})], "call 2 ('b')"),
    (["b(y=[1)", "c(z=2)", "d()"], [("c", {"z": 2}), ("d", {})], "call 1 ('b'): unbalanced brackets"),
    # an unclosed string: the same, never a call out of the string
    (['a(x="P)', "c(z=2)"], [("c", {"z": 2})], "call 1 ('a'): the string opened at offset"),
    (["a(x=1)", 'b(y="P)', "c(z=2)", "d(w='v')"], [("a", {"x": 1}), ("c", {"z": 2}), ("d", {"w": "v"})], "('b')"),
    # a positional argument: named, with the argument
    (["f(1, 2)", "g(a=1)"], [("g", {"a": 1})], "call 1 ('f'): positional argument 1 ('1') is not supported"),
    (["g(a=1)", "f(a=1, 'x')"], [("g", {"a": 1})], "call 2 ('f'): positional argument 2 (\"'x'\") is not supported"),
]


def _body(format: str, calls: list[str]) -> str:
    template, separator = _BLOCKS[format]
    return template.format(separator.join(calls))


def _check_error(text: str, format: str, kept: list, reason: str) -> None:
    """``parse`` raises naming the bad call (``reason``) and carrying ``kept``; streaming at every
    split gives the same, each kept call's argument pieces joining to its final JSON."""
    result = whole(text, format)
    assert result[2] is not None and reason in str(result[2]), (text, result[2])
    assert result[1] == kept, text
    assert [(c.name, c.arguments) for c in result[2].tool_calls] == kept
    for pieces in every_split(text):
        assert same(stream(pieces, format), result), pieces
        deltas, _ = feed_all(StreamParser(format), pieces)
        finished = [c for c in merge(deltas)[1] if c["arguments"] is not None]
        assert [c["raw"] for c in finished] == [json.dumps(a, ensure_ascii=False) for _, a in kept], pieces


@pytest.mark.parametrize("format", sorted(_BLOCKS))
@pytest.mark.parametrize(("calls", "kept", "reason"), _SIBLINGS)
def test_one_bad_call_keeps_its_siblings_in_every_pythonic_format(
    format: str, calls: list[str], kept: list, reason: str
) -> None:
    _check_error(_body(format, calls), format, kept, reason)


@pytest.mark.parametrize("format", ["pythonic", "llama4_pythonic", "lfm2", "pangu", "openpangu_v2"])
@pytest.mark.parametrize(
    ("first", "name"), [("get weather()", "get weather"), ("1x()", "1x"), ("get-weather(city='P')", "get-weather")]
)
def test_a_first_element_written_as_a_call_keeps_the_calls_after_it(format: str, first: str, name: str) -> None:
    """``[get weather(), f(a=1)]`` under the named format or between its markers: an error naming the
    first element, carrying ``f``; whole text and every split agree."""
    _check_error(_body(format, [first, "f(a=1)"]), format, [("f", {"a": 1})], f"call 1 ({name!r})")


@pytest.mark.parametrize("format", ["pythonic", "llama4_pythonic", "lfm2", None])
@pytest.mark.parametrize("body", ["[1, 2]", "[see above]", "[see above (p. 2)]", "[1x(), 2]", "[get weather()]"])
def test_a_bracketed_list_without_a_readable_call_stays_content(format: str | None, body: str) -> None:
    text = (START + body + END if format == "lfm2" else body) + " and so on"
    if format == "lfm2" and body in ("[1, 2]", "[see above]", "[see above (p. 2)]"):
        pytest.skip("between LFM2's markers such a body is the stray-marker rule's (content or error)")
    result = whole(text, format)
    assert result == (text, [], None)
    for pieces in every_split(text):
        assert same(stream(pieces, format), result), pieces


def test_detection_reads_a_list_as_calls_only_from_a_first_call_expression() -> None:
    text = "[get weather(), f(a=1)]"
    assert whole(text, None) == (text, [], None)
    assert whole("[f(a=1), get weather()]", None)[1] == [("f", {"a": 1})]


@pytest.mark.parametrize(
    ("text", "content", "kept", "reason"),
    [
        # text after ";" that is not a call is content, the ";" included
        ('<|python_tag|>a(x="1"); hello world', "; hello world", [("a", {"x": "1"})], None),
        ('<|python_tag|>brave_search.call(query="x"); hello', "; hello", [("brave_search", {"query": "x"})], None),
        # a call expression after ";" that cannot be read is an error naming it, its text kept
        (
            '<|python_tag|>brave_search.call(query="x"); print(1) and more',
            None,
            [("brave_search", {"query": "x"})],
            "call 2 ('print'): positional argument 1 ('1')",
        ),
        (
            '<|python_tag|>a(x="1"); get weather(c=1); b(y=2)',
            None,
            [("a", {"x": "1"}), ("b", {"y": 2})],
            "('get weather')",
        ),
        # a built-in chain goes on with call expressions, and past a broken built-in call
        (
            '<|python_tag|>brave_search.call(query="x"); f(a=1)<|eom_id|>',
            None,
            [("brave_search", {"query": "x"}), ("f", {"a": 1})],
            None,
        ),
        (
            '<|python_tag|>brave_search.call(query="x); wolfram_alpha.call(query="y")<|eom_id|>',
            None,
            [("wolfram_alpha", {"query": "y"})],
            "call 1 ('brave_search'): the string opened",
        ),
    ],
)
def test_after_the_python_tags_semicolon(text: str, content: str | None, kept: list, reason: str | None) -> None:
    """Issue 12, kinds 1 and 6, after ``<|python_tag|>``'s ``;``: nothing vanishes, no good call
    is dropped; whole text and every split agree."""
    if reason is not None:
        _check_error(text, "llama3_python_tag", kept, reason)
        assert text in (whole(text, "llama3_python_tag")[0] or "")
        return
    check(text, "llama3_python_tag", content, kept)


def test_a_boundary_inside_an_unclosed_string_is_never_taken() -> None:
    """``, c(z=1)])]``: the tail from ``c`` closes the list but text follows it; no call is read out
    of the string."""
    _check_error('[a(x=1), b(y="foo, c(z=1)])]', "pythonic", [("a", {"x": 1})], "call 2 ('b')")
