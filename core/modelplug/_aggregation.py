"""Aggregating stream deltas into one message, in O(1) per delta.

:func:`aggregate` (modelplug deltas) and :func:`aggregate_chunks` (raw ``chat.completion.chunk``
dicts) share one set of rules, :class:`StreamAggregator`'s; they are listed in
``docs/concepts/streams.md`` ("Aggregation rules").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from modelplug.errors import InvalidOptionError
from modelplug.types import ChatMessage, ChatMessageStreamDelta, ToolCall, ToolCallDelta, Usage
from modelplug.wire import FieldGetter, decode_arguments, delta_from_chunk, mint_tool_call_id, no_choices_error

__all__ = ["StreamAggregator", "aggregate", "aggregate_chunks", "decode_arguments", "mint_tool_call_id"]


class _Text:
    """Append-only fragments of one text field, with a cached join extended incrementally.

    ``text(n)`` is the join of the first ``n`` fragments; the cache ``(count, text)`` is replaced as
    one tuple, so a reader on another thread sees either the old or the new join, both correct.
    """

    __slots__ = ("joined", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.joined: tuple[int, str] = (0, "")

    def text(self, n: int) -> str | None:
        if n == 0:
            return None
        count, text = self.joined
        if count == n:
            return text
        if count < n:
            text = text + "".join(self.parts[count:n])
            self.joined = (n, text)
            return text
        return "".join(self.parts[:n])  # an older snapshot read after a newer one


class _CallBuilder:
    __slots__ = ("arguments", "built", "id", "name")

    def __init__(self, id: str | None, name: str | None) -> None:
        self.id = id
        self.name = name
        self.arguments = _Text()
        self.built: tuple[int, str | None, str | None, ToolCall] | None = None  # the last build

    def complete(self) -> bool:
        """Whether the arguments so far are a complete JSON object."""
        raw = self.arguments.text(len(self.arguments.parts))
        return raw is not None and not raw.isspace() and decode_arguments(raw) is not None

    def build(self, n: int, id: str | None, name: str | None) -> ToolCall:
        built = self.built
        if built is not None and built[0] == n and built[1] == id and built[2] == name:
            return built[3]
        raw = self.arguments.text(n) or ""
        arguments = decode_arguments(raw)
        call = ToolCall(
            id=id or "",
            name=name or "",
            arguments=arguments,
            raw_arguments=raw if arguments is None else None,
        )
        self.built = (n, id, name, call)
        return call


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


_MESSAGE_FIELDS = ("content", "reasoning_content", "refusal", "tool_calls")


class _MessageView(ChatMessage):
    """A snapshot of a :class:`StreamAggregator`: a :class:`ChatMessage` whose ``content``,
    ``reasoning_content``, ``refusal``, ``tool_calls`` and ``cost`` are built on first read (then cached).

    Everything that takes a ``ChatMessage`` takes it; ``attrs.evolve``, ``copy`` and ``pickle`` give
    a plain ``ChatMessage``.
    """

    __slots__ = ("_aggregator", "_calls", "_counts", "_values")

    _aggregator: StreamAggregator
    _counts: tuple[int, int, int, int]
    _calls: tuple[tuple[_CallBuilder, int, str | None, str | None], ...]
    _values: dict[str, Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:  # attrs.evolve and friends construct the class: give a plain message
            return ChatMessage(*args, **kwargs)
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # filled by StreamAggregator.message
        pass

    def snapshot(self) -> ChatMessage:
        """This message as a plain :class:`ChatMessage` (every field built)."""
        return ChatMessage(**{f: getattr(self, f) for f in _ALL_FIELDS})

    def __reduce__(self) -> Any:
        return self.snapshot().__reduce__()

    def __repr__(self) -> str:
        return repr(self.snapshot())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _MessageView):
            other = other.snapshot()
        if not isinstance(other, ChatMessage):
            return NotImplemented
        return self.snapshot() == other

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self.snapshot())

    def _get(self, field: str) -> Any:
        values = self._values
        if field in values:
            return values[field]
        aggregator = self._aggregator
        content_n, reasoning_n, refusal_n, parts_n = self._counts
        value: Any
        if field == "content":
            value = aggregator._content.text(content_n)
            if parts_n:
                text = [{"type": "text", "text": value}] if value else []
                value = text + [dict(part) for part in aggregator._parts[:parts_n]]
        elif field == "reasoning_content":
            value = aggregator._reasoning.text(reasoning_n)
        elif field == "refusal":
            value = aggregator._refusal.text(refusal_n)
        elif field == "cost":
            value = aggregator._priced(self.usage)
        else:
            value = tuple(builder.build(n, id, name) for builder, n, id, name in self._calls)
        values[field] = value
        return value

    @property
    def content(self) -> str | list[dict[str, Any]] | None:
        return self._get("content")  # type: ignore[no-any-return]

    @property
    def reasoning_content(self) -> str | None:
        return self._get("reasoning_content")  # type: ignore[no-any-return]

    @property
    def refusal(self) -> str | None:
        return self._get("refusal")  # type: ignore[no-any-return]

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self._get("tool_calls")  # type: ignore[no-any-return]

    @property
    def cost(self) -> float | None:
        return self._get("cost")  # type: ignore[no-any-return]


_ALL_FIELDS = tuple(field.name for field in ChatMessage.__attrs_attrs__)


class StreamAggregator:
    """Accumulates deltas; :attr:`message` is the aggregate so far.

    ``add`` costs O(1) (amortised) per delta, and so does reading :attr:`message` after each delta;
    see the module docstring for the merge rules. One thread adds deltas; any thread may read.
    """

    __slots__ = (
        "_cached",
        "_calls",
        "_content",
        "_cost",
        "_current",
        "_ids",
        "_lock",
        "_parts",
        "_reasoning",
        "_refusal",
        "_version",
        "finish_reason",
        "model",
        "pricing",
        "usage",
    )

    def __init__(self) -> None:
        self._content = _Text()
        self._reasoning = _Text()
        self._refusal = _Text()
        self._parts: list[dict[str, Any]] = []
        self._calls: dict[int, _CallBuilder] = {}
        self._ids: dict[str, int] = {}
        self._current: int | None = None
        # (version, snapshot): the snapshot of .message built while ``_version`` was that version
        self._cached: tuple[int, ChatMessage] | None = None
        self._version = 0
        self._lock = threading.Lock()  # taken only to mint ids and by the rare new-call path
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        #: The ``provider:model`` that answers, put on the message (``message.model``).
        self.model: str | None = None
        #: Usage -> cost in USD (or ``None``), for ``message.cost``; ``None``: no cost.
        self.pricing: Callable[[Usage], float | None] | None = None
        self._cost: tuple[Usage, float | None] | None = None

    def _priced(self, usage: Usage | None) -> float | None:
        """The cost of ``usage`` (priced once per usage object)."""
        pricing = self.pricing
        if usage is None or pricing is None:
            return None
        cached = self._cost
        if cached is None or cached[0] is not usage:
            cached = self._cost = (usage, pricing(usage))
        return cached[1]

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
        refusal = delta.refusal
        if content and not isinstance(content, str):
            raise _bad_field("content", "a string", content)
        if reasoning and not isinstance(reasoning, str):
            raise _bad_field("reasoning_content", "a string", reasoning)
        if refusal and not isinstance(refusal, str):
            raise _bad_field("refusal", "a string", refusal)
        if usage is not None and not isinstance(usage, Usage):
            raise _bad_field("usage", "a modelplug.Usage", usage)
        if finish and not isinstance(finish, str):
            raise _bad_field("finish_reason", "a string", finish)
        parts = delta.content_parts
        for part in parts:
            if not isinstance(part, Mapping):
                raise _bad_field("content_parts[]", "a dict", part)
        calls = delta.tool_calls
        if calls:
            for fragment in calls:
                _check_fragment(fragment)
        if content:
            self._content.parts.append(content)
        if reasoning:
            self._reasoning.parts.append(reasoning)
        if refusal:
            self._refusal.parts.append(refusal)
        if parts:
            self._parts.extend(parts)
        if calls:
            for fragment in calls:
                self._add_call(fragment)
        if usage is not None:
            self.usage = usage
        if finish:
            self.finish_reason = finish
        # after the fields: a snapshot read on another thread meanwhile is tagged with the old
        # version and rebuilt at the next read (invalidating first let such a snapshot, missing
        # this delta, stay cached for good when this was the last delta)
        self._version += 1

    def add_text(self, content: str | None = None, reasoning_content: str | None = None) -> None:
        """Fold text fragments without building a delta."""
        if content:
            self._content.parts.append(content)
        if reasoning_content:
            self._reasoning.parts.append(reasoning_content)
        self._version += 1

    def _add_call(self, fragment: ToolCallDelta) -> None:
        calls = self._calls
        new_id = fragment.id or None
        name = fragment.name or None
        index = fragment.index
        current = self._current
        if new_id is None and name is None and current is not None and (index is None or index == current):
            # nearly every fragment: more arguments of the current call (what the rules below give it)
            if fragment.arguments:
                calls[current].arguments.parts.append(fragment.arguments)
            return
        if index is None:
            current = self._current
            if current is None or (new_id is not None and new_id != calls[current].id and new_id not in self._ids):
                index = max(calls, default=-1) + 1
            else:
                index = self._ids.get(new_id, current) if new_id is not None else current
        elif index in calls:
            used = calls[index]
            if name is not None and (
                # a new call header (new id *and* a name) on an index in use starts a new call
                (new_id is not None and used.id is not None and new_id != used.id)
                # a whole call after a complete one on the same index, without ids (Ollama via LiteLLM)
                or ((fragment.arguments or name != used.name) and new_id is None and used.complete())
            ):
                index = max(calls) + 1
        found = calls.get(index)
        if found is None:
            builder = calls[index] = _CallBuilder(new_id, name)
            if new_id is not None:
                self._ids.setdefault(new_id, index)
        else:
            builder = found
            if builder.id is None and new_id is not None:
                with self._lock:
                    if builder.id is None:
                        builder.id = new_id
                self._ids.setdefault(new_id, index)
            if not builder.name and name:
                builder.name = name
        if fragment.arguments:
            builder.arguments.parts.append(fragment.arguments)
        self._current = index

    @property
    def content(self) -> str | None:
        """The content so far (``None`` when nothing non-empty arrived)."""
        return self._content.text(len(self._content.parts))

    @property
    def reasoning_content(self) -> str | None:
        """The reasoning text so far (``None`` when none arrived)."""
        return self._reasoning.text(len(self._reasoning.parts))

    @property
    def refusal(self) -> str | None:
        """The refusal text so far (``None`` when none arrived)."""
        return self._refusal.text(len(self._refusal.parts))

    @property
    def message(self) -> ChatMessage:
        """The assistant :class:`~modelplug.types.ChatMessage` aggregated so far: a snapshot that
        later deltas do not change, cached until the next delta. Its strings are built when first
        read. Tool calls without an id get a minted one, stable across reads."""
        version = self._version  # read before the fields: the snapshot holds at least this version
        cached = self._cached
        if cached is not None and cached[0] == version:
            return cached[1]
        view = _MessageView()
        setattr_ = object.__setattr__
        calls = []
        for index in sorted(self._calls):
            builder = self._calls[index]
            if builder.id is None:
                with self._lock:
                    if builder.id is None:
                        builder.id = mint_tool_call_id()
            calls.append((builder, len(builder.arguments.parts), builder.id, builder.name))
        setattr_(view, "_aggregator", self)
        setattr_(
            view,
            "_counts",
            (len(self._content.parts), len(self._reasoning.parts), len(self._refusal.parts), len(self._parts)),
        )
        setattr_(view, "_calls", tuple(calls))
        setattr_(view, "_values", {})
        for field, value in (
            ("role", "assistant"),
            ("usage", self.usage),
            ("finish_reason", self.finish_reason),
            ("tool_call_id", None),
            ("name", None),
            ("model", self.model),
        ):
            setattr_(view, field, value)
        self._cached = (version, view)
        return view


def aggregate(deltas: Iterable[ChatMessageStreamDelta]) -> ChatMessage:
    """Aggregate stream deltas into one assistant :class:`~modelplug.types.ChatMessage` (see the
    module docstring for the rules). O(n) in the number of deltas."""
    aggregator = StreamAggregator()
    for delta in deltas:
        aggregator.add(delta)
    return aggregator.message


def aggregate_chunks(chunks: Iterable[Any], get: FieldGetter | None = None) -> ChatMessage:
    """Aggregate ``chat.completion.chunk`` dicts (as decoded from SSE ``data:`` lines), or a client
    library's chunk objects with ``get`` (:func:`modelplug.wire.attribute_getter`), with the rules
    of :func:`aggregate`, each chunk read by :func:`modelplug.wire.delta_from_chunk`.

    Skips the ``"[DONE]"`` sentinel, chunks with ``choices: []`` (usage-only or Azure's
    prompt-filter chunks), choices without a ``delta`` and ``delta: null``. Only choice index 0 is
    read (a missing ``index`` counts as 0).

    Raises:
        modelplug.errors.ProviderError: a chunk is an error object (the class
            :func:`modelplug.wire.error_from_wire` picks), or no chunk had any choice
            (:func:`modelplug.wire.no_choices_error`, naming the chunks' ``model``).
        modelplug.errors.InvalidOptionError: a chunk is neither a dict nor ``"[DONE]"``, or a field
            has the wrong type.
    """
    aggregator = StreamAggregator()
    any_choice = False
    model: Any = None
    for chunk in chunks:
        delta = delta_from_chunk(chunk, get)
        if not any_choice and not isinstance(chunk, str):
            read = get or _get_item
            any_choice = bool(read(chunk, "choices"))
            model = model or read(chunk, "model")
        if delta is not None:
            aggregator.add(delta)
    if not any_choice:
        raise no_choices_error(model if isinstance(model, str) else None)
    return aggregator.message


def _get_item(obj: Any, name: str) -> Any:
    return obj.get(name)
