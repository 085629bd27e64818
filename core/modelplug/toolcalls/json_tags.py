"""JSON call objects between special tags: hermes, smollm2, granite, internlm2, jamba, hunyuan_a13b,
minimax and phi4_mini_json, and the same reader under other tags (longcat, qwen25_coder,
nemotron_json, cohere_command4, gigachat3, granite_20b_fc, apertus); Step-Audio 2's named JSON and
PLaMo 3's tagged requests.

The model writes ``{"name": ..., "arguments": {...}}`` (or a list of such objects) after an
opening tag. Each format's tags and the models that write it: ``docs/toolcall-parser.md``
("JSON call objects between tags").
"""

from __future__ import annotations

from typing import Final

from modelplug.toolcalls._blocks import read_special_block
from modelplug.toolcalls._calls import OfferedTools, Outcome, Reject
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._jsoncalls import BlockCalls, read_json_arguments, read_json_calls
from modelplug.toolcalls._scan import ScanStatus
from modelplug.toolcalls._source import NAME_RE, Read, Source, accept, at, peek, skip_ws, until

__all__ = ["PLAMO_OPENER", "json_payload", "named_json", "plamo3", "tagged_json"]


def json_payload(
    src: Source,
    ctx: OfferedTools,
    format: str,
    *,
    closer: str | None,
    several: bool,
    keyed: bool = False,
    openers: tuple[str, ...] = (),
) -> Read[Outcome]:
    """Read the JSON value(s) of calls at the cursor (on ``{`` or ``[``), then ``closer`` if any.

    ``several``: more values may follow, separated by whitespace, ``,`` or ``;``. ``keyed``: call
    objects are ``{"NAME": {arguments}}`` (they go out whole when each object ends). A value that
    does not read past the first ``closer`` (an unclosed string) ends there, or, without a
    closer, where the first of ``openers`` (the format's call openers) starts
    (:meth:`~modelplug.toolcalls._source.Source.give_back`).
    """
    calls = BlockCalls(ctx, format, src, keyed=keyed)
    stops = (closer,) if closer else ()
    while True:
        skip_bad = closer is not None or calls.emitted  # a value after a call, or inside tags: one of several
        start = src.pos
        status, reason = yield from read_json_calls(src, calls, stops, skip_bad=skip_bad, run=several)
        if status != ScanStatus.COMPLETE:
            if closer is not None and src.give_back(start, closer):
                return calls.failed(reason)  # the broken call ends at its closer; later calls are read
            if closer is None and _give_back_first(src, start, openers):
                return calls.failed(reason)  # no closer: it ends where the next call opens
            if closer is not None and status == ScanStatus.INVALID and (yield from until(src, closer)):
                src.i += len(closer)  # the broken call runs to its closing tag
            return calls.failed(reason)
        value_end = src.pos
        if not several:
            break
        yield from skip_ws(src)
        c = peek(src)
        if c and c in ",;":
            src.i += 1
            yield from skip_ws(src)
            c = peek(src)
        if not c or c not in "{[":
            break
    end: int | None = value_end
    if closer is not None:
        yield from skip_ws(src)
        if (yield from accept(src, closer)):
            end = None
    if calls.unreadable and not calls.emitted and calls.unreadable == len(calls.errors):
        return calls.failed(calls.errors[0], end)  # nothing in the block reads: not a call at all
    return calls.outcome(end)


def _give_back_first(src: Source, start: int, openers: tuple[str, ...]) -> bool:
    """:meth:`~modelplug.toolcalls._source.Source.give_back` to the first of ``openers`` that occurs
    between ``start`` and the cursor (kept: it opens the next call); False when none does."""
    text = src.text(start, src.pos)
    found = [(k, opener) for opener in openers if (k := text.find(opener)) >= 0]
    return bool(found) and src.give_back(start, min(found)[1], keep=True)


_INTERPRETER: Final = "<|interpreter|>"


def tagged_json(
    opener: str,
    format: str,
    *,
    closer: str | None,
    several: bool = True,
    skip: int = 0,
    token: str | None = None,
    keyed: bool = False,
    also: tuple[str, ...] = (),
) -> Reader:
    """A reader for ``opener`` + JSON call(s) + optional ``closer``.

    ``skip``: how much of the opener to consume (``functools[`` keeps its ``[`` for the JSON);
    ``token``: a second tag that must follow the opener (InternLM's ``<|plugin|>``); ``keyed``:
    see :func:`json_payload`; ``also``: the format's other call openers, where a broken call
    without a closer ends too (GigaChat 3's ``function call<|role_sep|>`` after a
    ``<|function_call|>`` call).
    """
    consumed = skip or len(opener)

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += consumed
        calls = BlockCalls(ctx, format, src)
        yield from skip_ws(src)
        if token is not None:
            if not (yield from accept(src, token)):
                if (yield from at(src, _INTERPRETER)):  # InternLM's code interpreter: content, not a call
                    return Reject(src.pos + len(_INTERPRETER))
                return Reject(len(opener)) if peek(src) else calls.failed(f"the text ends after {opener}")
            yield from skip_ws(src)
            if not peek(src):
                return calls.failed(f"the text ends after {opener}{token}")
            if peek(src) not in "{[":
                return calls.failed(f"expected a JSON object after {opener}{token}")
        c = peek(src)
        if not c:
            return calls.failed(f"the text ends after {opener}")
        if c not in "{[":
            return Reject(len(opener))
        return (
            yield from json_payload(
                src, ctx, format, closer=closer, several=several, keyed=keyed, openers=(opener, *also)
            )
        )

    return read


def named_json(src: Source, ctx: OfferedTools, format: str, *, closer: str) -> Read[Outcome]:
    """One call written as ``NAME`` on its own line then its JSON arguments, up to ``closer``
    (Step-Audio 2's ``<tool_call>function\\nNAME\\n{...}</tool_call>``; cursor on NAME)."""
    calls = BlockCalls(ctx, format, src)
    a = src.pos
    if not (yield from until(src, "\n", 256)):
        return calls.failed("the text ends inside the call" if src.eof else "expected a tool name on its own line")
    name = src.text(a, src.pos).strip()
    src.i += 1
    if not NAME_RE.fullmatch(name):
        return calls.failed(f"a call without a valid tool name ({name[:40]!r})")
    header = calls.announce(name)
    if header is not None:
        yield header
    start = src.pos
    status, arguments, reason = yield from read_json_arguments(src, (closer,), calls, header)
    if status != ScanStatus.COMPLETE or arguments is None:
        if src.give_back(start, closer):
            return calls.failed(reason)
        if status == ScanStatus.INVALID and (yield from until(src, closer)):
            src.i += len(closer)
        return calls.failed(reason)
    yield from skip_ws(src)
    end: int | None = src.pos
    if (yield from accept(src, closer)):
        end = None
    yield from calls.complete(header, name, arguments)
    return calls.outcome(end)


_PLAMO: Final = "<|plamo:{}:plamo|>"


def _no_name(written: str) -> str:
    return f"a call without a valid tool name ({written[:40]!r})"


PLAMO_OPENER: Final = _PLAMO.format("begin_tool_requests")


def plamo3(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """PLaMo 3: ``<|plamo:begin_tool_requests:plamo|>`` + requests of a tagged name and tagged JSON
    arguments (``<|plamo:begin_tool_name:plamo|>f<|plamo:end_tool_name:plamo|>
    <|plamo:begin_tool_arguments:plamo|>{...}<|plamo:end_tool_arguments:plamo|>``) +
    ``<|plamo:end_tool_requests:plamo|>``."""
    src.i += len(PLAMO_OPENER)
    calls = BlockCalls(ctx, "plamo3", src)
    closer = _PLAMO.format("end_tool_requests")
    name_end, args_end = _PLAMO.format("end_tool_name"), _PLAMO.format("end_tool_arguments")

    def request(_: str) -> Read[tuple[str, str | None]]:
        yield from skip_ws(src)
        if not (yield from accept(src, _PLAMO.format("begin_tool_name"))):
            return "expected the tool name", None
        a = src.pos
        if not (yield from until(src, name_end, 256)):
            return "the tool name is not closed", None
        name = src.text(a, src.pos).strip()
        src.i += len(name_end)
        named = NAME_RE.fullmatch(name) is not None
        yield from skip_ws(src)
        if not (yield from accept(src, _PLAMO.format("begin_tool_arguments"))):
            return ("expected the arguments", name) if named else (_no_name(name), None)
        header = calls.announce(name) if named else None
        if header is not None:
            yield header
        # the arguments are read also after a name that is none: the request ends after its JSON
        since = src.pos
        status, arguments, reason = yield from read_json_arguments(src, (args_end,), calls, header)
        if status != ScanStatus.COMPLETE or arguments is None:
            src.give_back(since, args_end)  # an unclosed string ends at the request's arguments end
        if not named:
            return _no_name(name), None
        if status != ScanStatus.COMPLETE or arguments is None:
            return reason, name
        yield from skip_ws(src)
        if not (yield from accept(src, args_end)):
            return f"expected {args_end}", name
        yield from skip_ws(src)
        yield from accept(src, _PLAMO.format("end_tool_request"))
        yield from calls.complete(header, name, arguments)
        return "", name

    return (
        yield from read_special_block(
            src,
            calls,
            request,
            openers=(_PLAMO.format("begin_tool_request"),),
            closers=(closer,),
            ends=(_PLAMO.format("end_tool_request"),),
            expected="a tool request",
            opened=PLAMO_OPENER,
        )
    )
