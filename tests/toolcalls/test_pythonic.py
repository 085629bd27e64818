"""Pythonic call lists (:mod:`modelplug.toolcalls.pythonic`): unescaped inner quotes in pythonic
strings between markers (LFM2, Llama 4) are read when the text is unambiguous (a quote ends a
string only before ``,``, ``)``, ``]``, ``}``, ``:`` or the end), else the call is an error. Whole text and every
split agree."""

from __future__ import annotations

import pytest

from tests.toolcalls._support import same, stream, whole

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
