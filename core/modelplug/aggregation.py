"""Aggregating stream deltas into one message, in O(1) per delta.

The rules, shared by :func:`aggregate` (for :class:`~modelplug.types.ChatMessageStreamDelta`) and
:func:`aggregate_chunks` (for raw OpenAI ``chat.completion.chunk`` dicts):

- ``content`` and ``reasoning_content`` are the concatenation of their fragments (``None`` when
  no fragment, or only empty ones, arrived). ``delta.reasoning`` counts as reasoning too.
- Tool calls merge by ``index`` and come out ordered by index, the list compacted. ``id`` and
  ``name`` come from the first non-empty value and are never overwritten, by null, ``""`` or a
  later different value (Kimi's ids mutate mid-stream). A fragment that brings a *new* id *and* a
  name on an index already in use starts a new call (servers that put every call at index 0).
  A fragment without an index continues the current call, unless it brings a new id, which starts
  a new call.
- Arguments are joined as text and decoded once at the end: ``""`` gives ``{}``; text that is not
  a JSON object gives ``arguments=None`` and ``raw_arguments`` with the text as received.
- ``finish_reason`` is the last non-empty value, verbatim.
- ``usage`` is the *last* usage seen, never summed: servers send either one usage object or
  cumulative snapshots, and summing would double count. ``total_tokens`` is computed if missing.

Building :attr:`StreamAggregator.message` joins the parts gathered so far and caches the result,
so reading it on a live stream never re-scans the deltas: it copies the text so far once (a
memory copy), rebuilds only the tool calls that changed, and decodes arguments only when their
text could be a complete JSON object.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from modelplug.errors import InvalidOptionError
from modelplug.types import ChatMessage, ChatMessageStreamDelta, ToolCall, ToolCallDelta, Usage

__all__ = ["StreamAggregator", "aggregate", "aggregate_chunks", "decode_arguments", "mint_tool_call_id"]


def mint_tool_call_id() -> str:
    """A new tool-call id, ``call_`` + 24 hex digits, for providers that send none."""
    return "call_" + secrets.token_hex(12)


def decode_arguments(raw: str) -> dict[str, Any] | None:
    """Decode the joined argument text of a tool call.

    Returns ``{}`` for blank text, the object for a JSON object (a JSON string holding an object is
    decoded once more), and ``None`` for anything else (truncated or invalid JSON, a non-object,
    nesting too deep for the JSON decoder).
    """
    if not raw or raw.isspace():
        return {}
    if raw.rstrip()[-1] not in '}"':  # cannot be a complete object (or a string holding one): skip the scan
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, dict) else None


def _joined(parts: list[str]) -> str | None:
    """Join ``parts`` in place (so the next read joins only what arrived since) and return the text."""
    if not parts:
        return None
    if len(parts) > 1:
        parts[:] = ["".join(parts)]
    return parts[0]


class _CallBuilder:
    __slots__ = ("built", "id", "name", "parts")

    def __init__(self, id: str | None, name: str | None) -> None:
        self.id = id
        self.name = name
        self.parts: list[str] = []
        self.built: ToolCall | None = None  # the last build, until a fragment changes the call

    def build(self) -> ToolCall:
        if self.built is not None:
            return self.built
        raw = "".join(self.parts)
        self.parts = [raw] if raw else []
        arguments = decode_arguments(raw)
        self.built = ToolCall(
            id=self.id or mint_tool_call_id(),
            name=self.name or "",
            arguments=arguments,
            raw_arguments=raw if arguments is None else None,
        )
        return self.built


def _bad_field(field: str, expected: str, value: Any) -> InvalidOptionError:
    return InvalidOptionError(f"delta.{field} must be {expected}, got {type(value).__name__}: {value!r:.80}")


def _check_fragment(fragment: Any) -> None:
    if type(fragment) is not ToolCallDelta and not isinstance(fragment, ToolCallDelta):
        raise _bad_field("tool_calls[]", "a modelplug.ToolCallDelta", fragment)
    index, id_, name, arguments = fragment.index, fragment.id, fragment.name, fragment.arguments
    if index is not None and (type(index) is not int or index < 0):
        raise _bad_field("tool_calls[].index", "an int ≥ 0 or None", index)
    if (
        (id_ is not None and type(id_) is not str)
        or (name is not None and type(name) is not str)
        or (arguments is not None and type(arguments) is not str)
    ):
        for field, value in (("id", id_), ("name", name), ("arguments", arguments)):
            if value is not None and not isinstance(value, str):
                raise _bad_field(f"tool_calls[].{field}", "a string or None", value)


class StreamAggregator:
    """Accumulates deltas; :attr:`message` is the aggregate so far.

    ``add`` costs O(1) (amortised) per delta; see the module docstring for the merge rules.
    """

    __slots__ = (
        "_cached",
        "_calls",
        "_content",
        "_current",
        "_ids",
        "_reasoning",
        "finish_reason",
        "usage",
    )

    def __init__(self) -> None:
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _CallBuilder] = {}
        self._ids: dict[str, int] = {}
        self._current: int | None = None
        self._cached: ChatMessage | None = None
        self.usage: Usage | None = None
        self.finish_reason: str | None = None

    def add(self, delta: ChatMessageStreamDelta) -> None:
        """Fold one delta into the aggregate.

        Raises:
            InvalidOptionError: a field of the wrong type (``content=5``, ``usage={...}``, a tool-call
                fragment that is not a :class:`ToolCallDelta` or has an ``index`` that is not an int...);
                nothing of that delta is kept.
        """
        content = delta.content
        reasoning = delta.reasoning_content
        usage = delta.usage
        finish = delta.finish_reason
        if content and not isinstance(content, str):
            raise _bad_field("content", "a string", content)
        if reasoning and not isinstance(reasoning, str):
            raise _bad_field("reasoning_content", "a string", reasoning)
        if usage is not None and not isinstance(usage, Usage):
            raise _bad_field("usage", "a modelplug.Usage", usage)
        if finish and not isinstance(finish, str):
            raise _bad_field("finish_reason", "a string", finish)
        calls = delta.tool_calls
        if calls:
            for fragment in calls:
                _check_fragment(fragment)
        self._cached = None
        if content:
            self._content.append(content)
        if reasoning:
            self._reasoning.append(reasoning)
        if calls:
            for fragment in calls:
                self._add_call(fragment)
        if usage is not None:
            self.usage = usage
        if finish:
            self.finish_reason = finish

    def add_text(self, content: str | None = None, reasoning_content: str | None = None) -> None:
        """Fold text fragments without building a delta (the fast path of :func:`aggregate_chunks`)."""
        self._cached = None
        if content:
            self._content.append(content)
        if reasoning_content:
            self._reasoning.append(reasoning_content)

    def _add_call(self, fragment: ToolCallDelta) -> None:
        calls = self._calls
        new_id = fragment.id or None
        index = fragment.index
        if index is None:
            current = self._current
            if current is None or (new_id is not None and new_id != calls[current].id and new_id not in self._ids):
                index = max(calls, default=-1) + 1
            else:
                index = self._ids.get(new_id, current) if new_id is not None else current
        elif index in calls:
            used = calls[index]
            # a new call header (new id *and* a name) on an index in use starts a new call
            if new_id is not None and fragment.name and used.id is not None and new_id != used.id:
                index = max(calls) + 1
        found = calls.get(index)
        if found is None:
            builder = calls[index] = _CallBuilder(new_id, fragment.name or None)
            if new_id is not None:
                self._ids.setdefault(new_id, index)
        else:
            builder = found
            builder.built = None
            if builder.id is None and new_id is not None:
                builder.id = new_id
                self._ids.setdefault(new_id, index)
            if not builder.name and fragment.name:
                builder.name = fragment.name
        if fragment.arguments:
            builder.parts.append(fragment.arguments)
        self._current = index

    @property
    def content(self) -> str | None:
        """The content so far (``None`` when nothing non-empty arrived)."""
        return _joined(self._content)

    @property
    def reasoning_content(self) -> str | None:
        """The reasoning text so far (``None`` when none arrived)."""
        return _joined(self._reasoning)

    @property
    def message(self) -> ChatMessage:
        """The assistant :class:`~modelplug.types.ChatMessage` aggregated so far (cached until the
        next delta). Tool calls without an id get a minted one, stable across reads."""
        cached = self._cached
        if cached is None:
            calls = []
            for index in sorted(self._calls):
                builder = self._calls[index]
                if builder.id is None:
                    builder.id = mint_tool_call_id()
                calls.append(builder.build())
            cached = self._cached = ChatMessage(
                role="assistant",
                content=self.content,
                tool_calls=tuple(calls),
                reasoning_content=self.reasoning_content,
                usage=self.usage,
                finish_reason=self.finish_reason,
            )
        return cached


def aggregate(deltas: Iterable[ChatMessageStreamDelta]) -> ChatMessage:
    """Aggregate stream deltas into one assistant :class:`~modelplug.types.ChatMessage` (see the
    module docstring for the rules). O(n) in the number of deltas."""
    aggregator = StreamAggregator()
    for delta in deltas:
        aggregator.add(delta)
    return aggregator.message


def aggregate_chunks(chunks: Iterable[Mapping[str, Any] | str]) -> ChatMessage:
    """Aggregate raw OpenAI ``chat.completion.chunk`` dicts (as decoded from SSE ``data:`` lines)
    with the same rules as :func:`aggregate`.

    Skips the ``"[DONE]"`` sentinel, chunks with ``choices: []`` (usage-only or Azure's
    prompt-filter chunks), choices without a ``delta`` and ``delta: null``. Only choice index 0 is
    read (a missing ``index`` counts as 0).

    Raises:
        modelplug.errors.InvalidOptionError: a chunk is neither a dict nor ``"[DONE]"``.
    """
    from modelplug.wire import delta_from_chunk

    aggregator = StreamAggregator()
    for chunk in chunks:
        delta = delta_from_chunk(chunk)
        if delta is not None:
            aggregator.add(delta)
    return aggregator.message
