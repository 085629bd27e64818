"""Reading Python literals and call expressions without evaluating anything.

Pythonic tool-call formats (Llama 3.2/4, LFM2, Olmo 3, ToolACE) write calls as Python:
``[get_weather(city='Paris', days=3), search(**{'q': 'x'})]``. This module reads exactly that
subset with a small recursive-descent parser: strings (any quoting and prefix; escapes decoded by
:func:`ast.literal_eval` on the string token alone), numbers, ``True/False/None`` and their JSON
spellings ``true/false/null``, lists, tuples (read as lists), sets (lists), dicts (keys turned into
JSON keys), calls with keyword arguments (any identifier, even a Python keyword such as ``from``)
and ``**{...}``. Nothing is ever evaluated; names, operators and other expressions are refused.

Values that are valid syntax but have no JSON form (``b'bytes'``, f-strings, bare names) mark the
call that holds them as unusable instead of failing the whole list, so a bad sibling can be skipped.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from typing import Any, Final, final

__all__ = [
    "LiteralSyntaxError",
    "LiteralValueError",
    "PyCall",
    "Twice",
    "lines_before_the_fault",
    "parse_call_list",
    "parse_calls",
    "parse_literal",
    "read_literal",
    "resync_calls",
    "unfinished_call",
    "written_as_call",
    "written_name",
]

_MAX_DEPTH: Final = 200
_IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*")
_WS = re.compile(r"\s*")
_NUMBER = re.compile(
    r"[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+"
    r"|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?)"
)
_STRING_START = re.compile(r"(?:[rRbBuUfF]{1,2})?['\"]")
_STRING_TOKEN: Final = {
    "'": re.compile(r"'(?:[^\\']|\\.)*'", re.DOTALL),
    '"': re.compile(r'"(?:[^\\"]|\\.)*"', re.DOTALL),
    "'''": re.compile(r"'''(?:[^\\']|\\.|'(?!''))*'''", re.DOTALL),
    '"""': re.compile(r'"""(?:[^\\"]|\\.|"(?!""))*"""', re.DOTALL),
}
_OPENED: Final = {"(": "(...)", "[": "[...]", ".": ".<name>"}
_NAMES: Final[dict[str, object]] = {
    "True": True,
    "False": False,
    "None": None,
    "true": True,
    "false": False,
    "null": None,
}


class LiteralSyntaxError(ValueError):
    """The text is not a literal / call expression of the supported subset. ``pos`` is where,
    ``reason`` what is wrong there."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(f"{message} at offset {pos}")
        self.pos = pos
        self.reason = message


class LiteralValueError(LiteralSyntaxError):
    """A value that is no literal with a JSON form: an expression (``float('nan')``), bytes, an
    f-string, a number JSON has not (``1j``), a key that cannot be a JSON key."""


@final
class PyCall:
    """One call expression: ``name`` and its keyword ``arguments``; ``arguments`` is None when the
    call cannot be used, and ``error`` then says why (a value without a JSON form, a syntax error
    inside this call; ``name`` is then what could be read of it, possibly ``""``)."""

    __slots__ = ("arguments", "error", "name")

    def __init__(self, name: str, arguments: dict[str, Any] | None, error: str | None = None) -> None:
        self.name = name
        self.arguments = arguments
        self.error = error if error is not None or arguments is not None else "a value has no JSON form"

    def __repr__(self) -> str:
        return f"PyCall({self.name!r}, {self.arguments!r})"


@final
class Twice(dict):  # type: ignore[type-arg]
    """A decoded object (JSON or a Python dict literal) in which key ``twice`` is written more than
    once (the value is the last one, as decoders keep it). Arguments stream as they are written, so
    a later value cannot honestly replace an earlier one that went out: such a call is an error
    (:func:`~modelplug.toolcalls._calls.read_call`, :func:`~modelplug.toolcalls._jsoncalls.bad_value`)."""

    __slots__ = ("twice",)

    twice: str


class _Unusable(Exception):
    """A value is valid syntax without a JSON form; the enclosing call is unusable."""


def _json_key(key: object) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    raise _Unusable


@final
class _Parser:
    __slots__ = ("depth", "i", "t", "unusable", "unusable_at", "unusable_value")

    def __init__(self, text: str) -> None:
        self.t = text
        self.i = 0
        self.depth = 0
        #: Why the first value without a JSON form cannot be used (``"the bytes b'ab' has no JSON
        #: form"``), and where it starts.
        self.unusable: str | None = None
        self.unusable_at = 0
        self.unusable_value = False  # not a bare name (which may be a key left unquoted)

    def mark_unusable(self, what: str, at: int, *, value: bool = True) -> None:
        """Record a value that is valid syntax without a JSON form (the first one is reported);
        ``value``: it is a value, not a bare name."""
        if self.unusable is None:
            self.unusable, self.unusable_at = f"{what} has no JSON form", at
            self.unusable_value = value

    def unusable_error(self) -> LiteralSyntaxError:
        """The error for the recorded value without a JSON form."""
        kind = LiteralValueError if self.unusable_value else LiteralSyntaxError
        return kind(self.unusable or "a value has no JSON form", self.unusable_at)

    def fail(self, message: str) -> LiteralSyntaxError:
        return LiteralSyntaxError(message, self.i)

    def ws(self) -> None:
        self.i = _WS.match(self.t, self.i).end()  # type: ignore[union-attr]

    def peek(self) -> str:
        return self.t[self.i : self.i + 1]

    def peek_after(self, at: int) -> str:
        """The first character after the whitespace at ``at``."""
        return self.t[_WS.match(self.t, at).end() :][:1]  # type: ignore[union-attr]

    def expect(self, char: str) -> None:
        self.ws()
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.i += 1

    def end(self) -> None:
        self.ws()
        if self.i != len(self.t):
            raise self.fail("unexpected text after the expression")

    # values -------------------------------------------------------------------------------------

    def value(self) -> Any:
        self.ws()
        c = self.peek()
        if not c:
            raise self.fail("expected a value")
        if c in "[({":
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.fail("nesting too deep")
            try:
                if c == "{":
                    return self.brace()
                return self.sequence("]" if c == "[" else ")")
            finally:
                self.depth -= 1
        m = _STRING_START.match(self.t, self.i)
        if m is not None:
            return self.string(m.end() - 1)
        m = _NUMBER.match(self.t, self.i)
        if m is not None:
            return self.number(m.group())
        m = _IDENT.match(self.t, self.i)
        if m is not None:
            self.i = m.end()
            if m.group() in _NAMES:
                return _NAMES[m.group()]
            self.ws()
            if self.peek() in ("(", ".", "["):
                self.i = m.start()
                raise LiteralValueError(
                    f"{m.group()}{_OPENED[self.peek_after(m.end())]} is an expression, only literal values are allowed",
                    self.i,
                )
            self.mark_unusable(f"the name {m.group()!r}", m.start(), value=False)  # a variable: valid syntax, no value
            return None
        raise self.fail("expected a value")

    def number(self, token: str) -> int | float:
        self.i += len(token)
        body = token.lstrip("+-")
        try:
            if body[:2].lower() in ("0x", "0o", "0b"):
                value: int | float = int(body, 0)
            elif any(ch in body for ch in ".eE"):
                value = float(body)
            else:
                value = int(body)
        except ValueError as error:  # also an integer too long to convert (sys.get_int_max_str_digits)
            raise LiteralValueError(f"bad number {_short(token)}: {error}", self.i - len(token)) from None
        suffix = _IDENT.match(self.t, self.i)
        if suffix:  # 1j (complex), 10L, 1abc
            self.i -= len(token)
            raise LiteralValueError(f"{token + suffix.group()!r} is not a JSON number", self.i)
        return -value if token.startswith("-") else value

    def string(self, quote_at: int) -> Any:
        start = self.i
        t = self.t
        q = t[quote_at]
        triple = t.startswith(q * 3, quote_at)
        m = _STRING_TOKEN[q * 3 if triple else q].match(t, quote_at)
        if m is None:
            self.i = len(t)
            raise self.fail(f"the string opened at offset {quote_at} is not closed: the text ends")
        self.i = m.end()
        token = t[start : self.i]
        prefix = t[start:quote_at].lower()
        if not prefix and q == '"' and not triple:
            try:
                return json.loads(token, strict=False)
            except ValueError:
                pass
        if "f" in prefix:
            self.mark_unusable(f"the f-string {_short(token)}", start)
            return None
        if not triple and "\n" in token:
            token = token.replace("\r\n", "\\n").replace("\n", "\\n")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = ast.literal_eval(token)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise self.fail("bad string literal") from None
        if not isinstance(value, str):
            self.mark_unusable(f"the bytes {_short(token)}", start)
            return None
        return value

    def sequence(self, close: str) -> Any:
        self.i += 1
        items: list[Any] = []
        trailing_comma = False
        while True:
            self.ws()
            if self.peek() == close:
                self.i += 1
                if close == ")" and len(items) == 1 and not trailing_comma:
                    return items[0]  # (x) is x
                return items
            items.append(self.value())
            self.ws()
            c = self.peek()
            if c == ",":
                self.i += 1
                trailing_comma = True
                continue
            trailing_comma = False
            if c != close:
                raise self.fail(f"expected ',' or {close!r}")

    def brace(self) -> Any:
        self.i += 1
        self.ws()
        if self.peek() == "}":
            self.i += 1
            return {}
        key_at = self.i
        first = self.value()
        self.ws()
        if self.peek() != ":":  # a set: read as a list
            items = [first]
            while self.peek() == ",":
                self.i += 1
                self.ws()
                if self.peek() == "}":
                    break
                items.append(self.value())
                self.ws()
            self.expect("}")
            return items
        result: dict[str, Any] = {}
        key = first
        twice: str | None = None
        while True:
            self.expect(":")
            value = self.value()
            try:
                name = _json_key(key)
            except _Unusable:
                self.mark_unusable(f"the key {key!r}", key_at)
            else:
                if twice is None and name in result:
                    twice = name
                result[name] = value
            self.ws()
            c = self.peek()
            if c == "}":
                self.i += 1
                return _with_twice(result, twice)
            if c != ",":
                raise self.fail("expected ',' or '}'")
            self.i += 1
            self.ws()
            if self.peek() == "}":
                self.i += 1
                return _with_twice(result, twice)
            key_at = self.i
            key = self.value()

    # calls --------------------------------------------------------------------------------------

    def call(self) -> PyCall:
        self.ws()
        m = _DOTTED.match(self.t, self.i)
        if m is None:
            raise self.fail("expected a function name")
        name = m.group()
        self.i = m.end()
        self.expect("(")
        self.unusable = None
        arguments: dict[str, Any] = {}
        while True:
            self.ws()
            if self.peek() == ")":
                self.i += 1
                break
            if self.t.startswith("**", self.i):
                self.i += 2
                spread = self.value()
                if not isinstance(spread, dict):
                    raise self.fail("'**' needs a dict")
                arguments.update(spread)
            else:
                k = _IDENT.match(self.t, self.i)
                at = self.i
                if k is not None:
                    self.i = k.end()
                    self.ws()
                if k is None or self.peek() != "=" or self.t.startswith("==", self.i):
                    self.i = at
                    raise self._positional(len(arguments) + 1)
                self.i += 1
                arguments[k.group()] = self.value()
            self.ws()
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c != ")":
                raise self.fail("expected ',' or ')'")
        return PyCall(name, None if self.unusable else arguments, self.unusable)

    def _positional(self, number: int) -> LiteralSyntaxError:
        """The error for a positional argument at the cursor (argument ``number`` of the call),
        quoting it: only keyword arguments map to a tool's parameters."""
        at = self.i
        end = _element_end(self.t, at, ",")
        written = self.t[at:end].strip()
        if len(written) > 40:
            written = written[:37] + "..."
        error = LiteralSyntaxError(f"positional argument {number} ({written!r}) is not supported, only k=v", at)
        return error


def parse_literal(text: str) -> Any:
    """The value of a Python (or JSON) literal. Raises LiteralSyntaxError, also for values without
    a JSON form."""
    parser = _Parser(text)
    try:
        value = parser.value()
        parser.end()
    except RecursionError:
        raise LiteralSyntaxError("nesting too deep", parser.i) from None
    if parser.unusable:
        raise parser.unusable_error()
    return value


def read_literal(text: str, start: int) -> tuple[Any, int]:
    """The Python (or JSON) literal that starts at ``text[start]`` and the offset just past it;
    text after it is not read. Raises LiteralSyntaxError (``pos`` an offset into ``text``), also
    for values without a JSON form and for nesting deeper than 200 levels."""
    parser = _Parser(text)
    parser.i = start
    try:
        value = parser.value()
    except RecursionError:
        raise LiteralSyntaxError("nesting too deep", parser.i) from None
    if parser.unusable:
        raise parser.unusable_error()
    return value, parser.i


def _short(token: str) -> str:
    return token if len(token) <= 30 else token[:27] + "..."


def _with_twice(result: dict[str, Any], twice: str | None) -> dict[str, Any]:
    """``result``, as a :class:`Twice` when key ``twice`` was written more than once."""
    if twice is None:
        return result
    marked = Twice(result)
    marked.twice = twice
    return marked


_QUOTE_OR_BRACKET: Final = re.compile(r"""["'()\[\]{},;\n]""")


def _element_end(text: str, start: int, stops: str) -> int:
    """Where the call starting at ``start`` ends: the first character of ``stops`` outside brackets
    and quotes, or an unmatched closing bracket (the end of the enclosing list), or the end."""
    depth = 0
    i = start
    n = len(text)
    while True:
        m = _QUOTE_OR_BRACKET.search(text, i)
        if m is None:
            return n
        c, i = m.group(), m.start()
        if c in "\"'":
            k = i + 1
            while k < n and text[k] != c and text[k] != "\n":
                k += 2 if text[k] == "\\" else 1
            i = k + 1
        elif c in "([{":
            depth += 1
            i += 1
        elif c in ")]}":
            if depth == 0:
                return i
            depth -= 1
            i += 1
        elif depth == 0 and c in stops:
            return i
        else:
            i += 1


def _broken_call(parser: _Parser, start: int, error: LiteralSyntaxError, stops: str) -> PyCall:
    """A call that could not be parsed: skip to its end so that the calls after it are still read."""
    parser.i = max(_element_end(parser.t, start, stops), error.pos if error.pos > start else start + 1)
    parser.i = min(parser.i, len(parser.t))
    name = written_name(parser.t[start : parser.i])
    if name and _DOTTED.fullmatch(name) is None:
        return PyCall(name, None, f"{name!r} is not a function name (at offset {start})")
    return PyCall(name, None, str(error))


#: What an element written as a call holds before its ``(``: words of any characters but spaces,
#: brackets, quotes, commas and ``;`` (``get weather``, ``1x``, ``get-weather``), at most 64.
_ATTEMPT: Final = re.compile(r"""\s*([^\s,;()\[\]{}'"=]{1,64}(?:[ \t]+[^\s,;()\[\]{}'"=]{1,64}){0,3})[ \t]*\(""")


def written_name(element: str) -> str:
    """The name a call element was written with: the dotted name it starts with when a ``(``
    follows it, else the text before its ``(`` when the element is written as a call
    (``get weather()``: ``'get weather'``), else the dotted name it starts with, or ``""``."""
    m = _DOTTED.match(element, _WS.match(element).end())  # type: ignore[union-attr]
    if m is not None and element[m.end() :].lstrip(" \t").startswith("("):
        return m.group()
    attempt = _ATTEMPT.match(element)
    if attempt is not None:
        return attempt.group(1)
    return m.group() if m else ""


def written_as_call(text: str, start: int) -> bool:
    """Whether the element at ``text[start]`` is written as a call: a name (or any words without
    brackets, quotes or commas: ``get weather``, ``1x``) and then ``(`` (see :func:`written_name`)."""
    return _ATTEMPT.match(text, start) is not None


#: Where a further call may start after a broken one: a separator, then ``NAME(``.
_BOUNDARY: Final = {sep: re.compile(re.escape(sep) + r"\s*[A-Za-z_][A-Za-z_0-9.]*\s*\(") for sep in (",", ";", "\n")}


def resync_calls(text: str, start: int, separator: str, closer: str, budget: int) -> tuple[int, list[PyCall], int, int]:
    """Kind 1 of issue 12 after a call whose brackets or strings do not match: the first boundary
    after ``start`` (a ``separator``, then ``NAME(``) from which the rest of ``text`` reads as
    calls separated by ``separator`` and ended by ``closer`` (``"]"``; ``""``: by the end of the
    text), with only spaces after it up to a line break or the end of ``text``. Every call of such
    a tail must parse (a syntax error anywhere rejects the boundary), so no call is read out of a
    string: a tail that starts inside an unclosed string ends inside it or breaks on its closing
    quote.

    Returns ``(boundary, calls, end, cost)``: the offset of the separator (``-1`` when no
    boundary qualifies), the calls of the tail, the offset after its ``closer`` (or after the
    last call) and the characters read, which never exceed ``budget`` by more than one tail
    (then the search stops: no boundary)."""
    cost = 0
    pattern = _BOUNDARY[separator]
    m = pattern.search(text, start)
    depth = _Depth(text, start)
    while m is not None and cost <= budget:
        if not depth.at_top(m.start()):  # nested in the broken call's brackets: an argument
            m = pattern.search(text, m.start() + 1)
            continue
        parser = _Parser(text)
        parser.i = m.start() + 1
        try:
            found = _tail(parser, separator, closer)
        except (LiteralSyntaxError, RecursionError):
            found = None
        cost += max(parser.i - m.start(), 1)
        if found is not None:
            rest = text[parser.i :]
            tail = rest.lstrip(" \t")
            if not tail or tail[0] in "\r\n" or (not closer and separator != "\n" and not tail.strip()):
                return m.start(), found, parser.i, cost
        m = pattern.search(text, m.start() + 1)
    return -1, [], len(text), cost


class _Depth:
    """How deep in brackets each offset of ``text`` is, read forward from ``start`` (inside a
    broken call's name or its brackets) with Python strings skipped; offsets asked in order."""

    __slots__ = ("depth", "i", "quote", "text")

    def __init__(self, text: str, start: int) -> None:
        self.text, self.i, self.depth, self.quote = text, start, 0, ""

    def at_top(self, k: int) -> bool:
        """Whether offset ``k`` may be a boundary between calls: inside a string (one left open
        turns the text after it inside out, the case the boundary is for) or within the broken
        call's own brackets at most (``b(y=1, c(z=2)]``), never deeper (``b(y=max(1, c(z=2)]``:
        ``c`` is an argument)."""
        text, i, depth, quote = self.text, self.i, self.depth, self.quote
        while i < k:
            c = text[i]
            if quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = ""
            elif c in "\"'":
                quote = c
            elif c in "([{":
                depth += 1
            elif c in ")]}":
                depth = max(depth - 1, 0)
            i += 1
        self.i, self.depth, self.quote = max(i, self.i), depth, quote
        return bool(quote) or depth <= 1


def _tail(parser: _Parser, separator: str, closer: str) -> list[PyCall]:
    """Calls from the cursor, separated by ``separator`` and ended by ``closer`` (consumed; ``""``:
    where no separator follows a call). Raises LiteralSyntaxError."""
    calls: list[PyCall] = []
    while True:
        start = parser.i
        calls.append(parser.call())
        if separator == "\n":
            parser.i = _SPACES.match(parser.t, parser.i).end()  # type: ignore[union-attr]
        else:
            parser.ws()
        c = parser.peek()
        if c == separator:
            parser.i += 1
            if separator == "\n":
                parser.ws()
                if not parser.peek():
                    return calls
            continue
        if closer:
            if c != closer:
                raise parser.fail(f"expected {separator!r} or {closer!r}")
            parser.i += 1
            return calls
        if parser.i == start:  # pragma: no cover - call() always consumes
            raise parser.fail("expected a call")
        return calls


_SPACES: Final = re.compile(r"[ \t\r]*")


def unfinished_call(text: str, offset: int = 0) -> PyCall:
    """The call that the text ends inside (``text``: from its name to the end of the text; it
    starts at ``offset`` of the call list): named, with why it cannot be read (a string that is not
    closed, and where it opens in the list)."""
    m = _DOTTED.match(text, _WS.match(text).end())  # type: ignore[union-attr]
    i = text.find("(")
    while i >= 0:
        quote = _STRING_QUOTE.search(text, i)
        if quote is None:
            break
        token = _STRING_TOKEN[quote.group()].match(text, quote.start())
        if token is None:
            where = offset + quote.start()
            return PyCall(m.group() if m else "", None, f"the string opened at offset {where} is not closed")
        i = token.end()
    return PyCall(m.group() if m else "", None, "the text ends inside the call")


_STRING_QUOTE: Final = re.compile(r"\'\'\'|\"\"\"|\'|\"")


def parse_call_list(text: str) -> list[PyCall]:
    """``[f(a=1), g(b='x')]`` → calls (an empty list is fine). Raises LiteralSyntaxError."""
    parser = _Parser(text)
    parser.ws()
    if parser.peek() != "[":
        raise parser.fail("expected '['")
    parser.i += 1
    calls: list[PyCall] = []
    try:
        while True:
            parser.ws()
            if parser.peek() == "]":
                parser.i += 1
                break
            if not parser.peek():
                raise parser.fail("expected ']'")
            start = parser.i
            try:
                calls.append(parser.call())
            except LiteralSyntaxError as error:
                calls.append(_broken_call(parser, start, error, ","))
            parser.ws()
            c = parser.peek()
            if c == ",":
                parser.i += 1
            elif c != "]":
                raise parser.fail("expected ',' or ']'")
        parser.end()
    except RecursionError:
        raise LiteralSyntaxError("nesting too deep", parser.i) from None
    return calls


def lines_before_the_fault(text: str, fault: int) -> tuple[list[PyCall], int]:
    """The calls written one per line (or separated by ``,``) in ``text`` before the one that
    holds offset ``fault`` (where its brackets or strings stop matching), and the offset where
    that call starts. A call before it that does not parse is kept as unusable (named)."""
    parser = _Parser(text)
    calls: list[PyCall] = []
    while True:
        parser.ws()
        while parser.peek() == ",":
            parser.i += 1
            parser.ws()
        start = parser.i
        if start >= min(fault, len(text)):
            return calls, start
        try:
            call = parser.call()
        except (LiteralSyntaxError, RecursionError):
            end = _element_end(text, start, ",\n")
            if end >= fault or end <= start:
                return calls, start
            parser.i = end
            call = _broken_call(parser, start, LiteralSyntaxError("expected a call", start), ",\n")
            parser.i = end
        if parser.i > fault:
            return calls, start
        calls.append(call)


def parse_calls(text: str, separators: str) -> list[PyCall]:
    """Calls written one after the other, separated by whitespace or any of ``separators``
    (``f(a=1)\\ng(b=2)``, ``f(a=1); g(b=2)``). Raises LiteralSyntaxError."""
    parser = _Parser(text)
    calls: list[PyCall] = []
    try:
        while True:
            parser.ws()
            while parser.peek() and parser.peek() in separators:
                parser.i += 1
                parser.ws()
            if not parser.peek():
                return calls
            start = parser.i
            try:
                calls.append(parser.call())
            except LiteralSyntaxError as error:
                calls.append(_broken_call(parser, start, error, separators + "\n"))
    except RecursionError:
        raise LiteralSyntaxError("nesting too deep", parser.i) from None
