"""JSON call objects between special tags: hermes, smollm2, granite, internlm2, jamba, hunyuan_a13b,
minimax and phi4_mini_json.

The model writes ``{"name": ..., "arguments": {...}}`` (or a list of such objects) after an
opening tag. Each format's tags and the models that write it: ``docs/toolcall-parser.md``
("JSON call objects between tags").
"""

from __future__ import annotations

from modelplug.toolcalls._calls import OfferedTools, Outcome, Reject
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._jsoncalls import BlockCalls, read_json_calls
from modelplug.toolcalls._scan import ScanStatus
from modelplug.toolcalls._source import Read, Source, accept, peek, skip_ws, until

__all__ = ["json_payload", "tagged_json"]


def json_payload(src: Source, ctx: OfferedTools, format: str, *, closer: str | None, several: bool) -> Read[Outcome]:
    """Read the JSON value(s) of calls at the cursor (on ``{`` or ``[``), then ``closer`` if any.

    ``several``: more values may follow, separated by whitespace, ``,`` or ``;``.
    """
    calls = BlockCalls(ctx, format, src)
    stops = (closer,) if closer else ()
    while True:
        status, reason = yield from read_json_calls(src, calls, stops)
        if status != ScanStatus.COMPLETE:
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
    return calls.outcome(end)


def tagged_json(
    opener: str,
    format: str,
    *,
    closer: str | None,
    several: bool = True,
    skip: int = 0,
    token: str | None = None,
) -> Reader:
    """A reader for ``opener`` + JSON call(s) + optional ``closer``.

    ``skip``: how much of the opener to consume (``functools[`` keeps its ``[`` for the JSON);
    ``token``: a second tag that must follow the opener (InternLM's ``<|plugin|>``).
    """
    consumed = skip or len(opener)

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += consumed
        calls = BlockCalls(ctx, format, src)
        yield from skip_ws(src)
        if token is not None:
            if not (yield from accept(src, token)):
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
        return (yield from json_payload(src, ctx, format, closer=closer, several=several))

    return read
