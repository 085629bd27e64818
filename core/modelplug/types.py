"""Value classes shared by the core, the providers and their users.

Every class here is an immutable attrs class (``frozen``, ``slots``) named and shaped after the
OpenAI chat-completions wire format: a :class:`ChatMessage` has ``role``, ``content`` and
``tool_calls``; a stream yields :class:`ChatMessageStreamDelta` values; token counts live in
:class:`Usage` (``prompt_tokens``, ``completion_tokens``, ``total_tokens``). Conversion to and from
wire dicts lives in :mod:`modelplug.wire`; aggregation of deltas in :mod:`modelplug._aggregation`.
:class:`Tool` is defined in :mod:`modelplug.tools` (beside its converters) and re-exported here.

The classes hold data only: no I/O, no provider logic. They are cheap to build, because a stream
builds one delta per token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeVar

import attrs

from modelplug.tools import Tool, as_tool

__all__ = [
    "ROLES",
    "TOOL_CALLING_MODES",
    "Capabilities",
    "ChatMessage",
    "ChatMessageStreamDelta",
    "GenerationOptions",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "check_tool_choice",
    "forced_tool_name",
]

#: Roles a :class:`ChatMessage` may carry (the chat-completions roles).
ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool"})

#: Values of :attr:`Capabilities.tool_calling`.
TOOL_CALLING_MODES: Final = ("native", "text", "none")


def _non_negative_int(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{attribute.name} must be a non-negative int (tokens), got {value!r}")


@attrs.frozen
class Usage:
    """Token counts of one generation, in tokens.

    ``total_tokens`` defaults to ``prompt_tokens + completion_tokens`` when not given, as some
    servers (vLLM with some parsers, Gemini) leave it out.

    In a stream, usage is either sent once or as cumulative snapshots; the aggregate keeps the
    *last* usage seen and never adds them up (see :mod:`modelplug._stream`).
    """

    prompt_tokens: int = attrs.field(default=0, validator=_non_negative_int)
    completion_tokens: int = attrs.field(default=0, validator=_non_negative_int)
    total_tokens: int = attrs.field(validator=_non_negative_int)

    @total_tokens.default
    def _total_tokens_default(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        """Sum of two *separate* generations (e.g. the steps of an agent run), never of the
        snapshots of one stream."""
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )


@attrs.frozen
class ToolCall:
    """A complete tool (function) call requested by the model.

    ``arguments`` is the decoded JSON object (a dict). When the model's arguments could not be
    decoded (truncated by ``max_tokens``, invalid JSON), ``arguments`` is ``None`` and
    ``raw_arguments`` holds the text exactly as received, so nothing is lost.
    """

    id: str
    name: str
    arguments: dict[str, Any] | None = attrs.field(factory=dict)
    raw_arguments: str | None = None
    type: str = "function"


_T = TypeVar("_T")


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return value if type(value) is tuple else tuple(value or ())


def _slot_init(cls: type[_T]) -> type[_T]:
    """Give a frozen slotted attrs class built once per token a faster ``__init__``, same signature.

    attrs' frozen ``__init__`` stores each field with ``object.__setattr__(self, "name", value)``,
    a name lookup per field; this one stores through the slots' descriptors, which the per-token
    readers feel (figures in ``docs/benchmarks.md``). Fields must have a plain default (no factory,
    no validator); the :func:`_as_tuple` converter is inlined, any other converter called.
    """
    namespace: dict[str, Any] = {}
    params, body = [], []
    for field in attrs.fields(cls):  # type: ignore[arg-type]
        name = field.name
        if field.validator is not None or isinstance(field.default, attrs.Factory) or field.alias != name:  # type: ignore[arg-type]
            raise TypeError(f"_slot_init cannot build {cls.__name__}.{name}")
        namespace[f"_default_{name}"] = field.default
        namespace[f"_set_{name}"] = getattr(cls, name).__set__
        params.append(f"{name}=_default_{name}")
        value = name
        if field.converter is _as_tuple:
            value = f"{name} if type({name}) is tuple else tuple({name} or ())"
        elif field.converter is not None:
            namespace[f"_convert_{name}"] = field.converter
            value = f"_convert_{name}({name})"
        body.append(f"    _set_{name}(self, {value})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(compile(source, f"<{cls.__name__} __init__>", "exec"), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


@_slot_init
@attrs.frozen
class ToolCallDelta:
    """A fragment of a tool call in a stream.

    ``index`` keys the call (chat-completions ``tool_calls[].index``); ``None`` means the provider
    sent no index (the aggregator then continues the current call unless a new ``id`` starts one).
    ``id`` and ``name`` normally arrive once, on the first fragment; ``arguments`` is a piece of the
    JSON text of the arguments, to be joined with the others and decoded once at the end.
    """

    index: int | None = None
    id: str | None = None
    name: str | None = None
    arguments: str | None = None


@_slot_init
@attrs.frozen
class ChatMessageStreamDelta:
    """One increment of a streamed answer.

    Every field is optional: a delta may carry only text (``content``), only reasoning text
    (``reasoning_content``, a model's visible thinking), tool-call fragments, the ``usage`` of the
    generation, the ``finish_reason`` (``"stop"``, ``"length"``, ``"tool_calls"``, or whatever the
    backend sends, kept verbatim), or several of these at once.

    ``refusal`` is a fragment of the model's refusal text (the OpenAI wire's ``delta.refusal``).
    ``content_parts`` holds content parts that are neither text, reasoning nor refusal (an image or
    audio part, a provider's own part type), each as its wire dict, kept rather than dropped.
    """

    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: tuple[ToolCallDelta, ...] = attrs.field(default=(), converter=_as_tuple)
    usage: Usage | None = None
    finish_reason: str | None = None
    refusal: str | None = None
    content_parts: tuple[dict[str, Any], ...] = attrs.field(default=(), converter=_as_tuple)


def _role(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}, got {value!r}")


def _tool_calls(value: Any) -> tuple[ToolCall, ...]:
    return value if type(value) is tuple else tuple(value or ())


@attrs.frozen
class ChatMessage:
    """One message of a conversation, or a model's complete answer.

    ``content`` is text, or a list of OpenAI content parts (``{"type": "text", "text": ...}``,
    ``{"type": "image_url", ...}``) for multimodal input, or ``None`` (a pure tool-call answer).
    An assistant answer may carry ``tool_calls``, ``reasoning_content``, the generation's ``usage``
    and its ``finish_reason``, and ``refusal`` (the text of a refused answer, as in the OpenAI wire;
    ``content`` is then usually ``None``). A ``tool`` message answers the call named by ``tool_call_id``.

    A model's answer also says who answered and what it cost (neither takes part in ``==``, nor in
    the wire form of a request message): ``model`` is the ``provider:model`` spec that generated it
    (with a fallback chain, the model that answered); ``cost`` is its price in US dollars from the
    reported ``usage`` (:mod:`modelplug._cost`), ``None`` when the price or the usage is unknown.
    """

    role: str = attrs.field(default="assistant", validator=_role)
    content: str | list[dict[str, Any]] | None = None
    tool_calls: tuple[ToolCall, ...] = attrs.field(default=(), converter=_tool_calls)
    reasoning_content: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    tool_call_id: str | None = None
    name: str | None = None
    refusal: str | None = None
    model: str | None = attrs.field(default=None, eq=False)
    cost: float | None = attrs.field(default=None, eq=False)

    @property
    def text(self) -> str:
        """The text of ``content``: the string itself, the joined text parts of a list, or ``""``."""
        content = self.content
        if content is None:
            return ""
        if isinstance(content, str):
            return content
        return "".join(part.get("text", "") for part in content if part.get("type") == "text")


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = (value,)
    elif isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise ValueError(f"stop must be a string or a list of strings, got {value!r}")
    stops = tuple(value)
    for stop in stops:
        if not isinstance(stop, str) or not stop:
            raise ValueError(f"stop sequences must be non-empty strings, got {stop!r}")
    return stops


def _tools(value: Any) -> tuple[Tool, ...]:
    if value is None or (isinstance(value, (list, tuple)) and not value):
        return ()
    if isinstance(value, (str, bytes, Mapping, Tool)) or not isinstance(value, Iterable):
        raise ValueError(
            "tools must be a list of tools (Tool objects, OpenAI tool dicts or typed functions), "
            f"got {type(value).__name__}: {value!r:.80}"
        )
    tools = []
    for number, tool in enumerate(value):
        try:
            tools.append(as_tool(tool))
        except (TypeError, ValueError) as error:  # the message names the list and the place
            raise type(error)(f"tools[{number}]: {error}") from error
    names = [tool.name for tool in tools]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"tools must have distinct names; given more than once: {', '.join(duplicates)}")
    return tuple(tools)


_TOOL_CHOICE_MODES: Final = ("auto", "none", "required")


def _tool_choice(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None or (isinstance(value, str) and value in _TOOL_CHOICE_MODES):
        return
    if not isinstance(value, Mapping):
        raise ValueError(
            "tool_choice must be 'auto', 'none', 'required' or a dict naming a function, "
            f"got {type(value).__name__}: {value!r:.80}"
        )
    if value.get("type", "function") == "function" and not isinstance(forced_tool_name(value), str):
        raise ValueError(
            "a tool_choice dict must name a function: {'type': 'function', 'function': {'name': ...}}, "
            f"got {value!r:.120}"
        )


def forced_tool_name(tool_choice: Any) -> str | None:
    """The function a ``tool_choice`` dict names (``{"type": "function", "function": {"name": n}}``,
    or the flat ``{"type": "function", "name": n}``), or ``None``."""
    if not isinstance(tool_choice, Mapping):
        return None
    function = tool_choice.get("function")
    name = function.get("name") if isinstance(function, Mapping) else tool_choice.get("name")
    return name if isinstance(name, str) else None


def check_tool_choice(options: GenerationOptions) -> None:
    """Check a request's ``tool_choice`` against its ``tools``: ``"required"`` needs tools, and a
    named function must be one of them (OpenAI answers both with a 400). Checked per request (by
    :meth:`modelplug.Model.stream` and the server), not by :class:`GenerationOptions` itself: a
    config default ``tool_choice = "required"`` is given its tools by each call.

    Raises:
        ValueError: the message starts with ``tool_choice`` and names the tools offered.
    """
    name = forced_tool_name(options.tool_choice)
    if name is not None and name not in {tool.name for tool in options.tools}:
        offered = ", ".join(tool.name for tool in options.tools) or "none"
        raise ValueError(f"tool_choice names {name!r}, which is not among the tools: {offered}")
    if options.tool_choice == "required" and not options.tools:
        raise ValueError("tool_choice='required' needs at least one tool in tools")


def _optional_mapping(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, Mapping):
        raise ValueError(f"{attribute.name} must be a dict, got {type(value).__name__}: {value!r:.80}")


def _optional_positive_int(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
        raise ValueError(f"{attribute.name} must be a positive int (tokens), got {value!r}")


def _optional_number(low: float, high: float) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
            raise ValueError(f"{attribute.name} must be a number in [{low}, {high}], got {value!r}")

    return check


def _optional_int(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{attribute.name} must be an int, got {value!r}")


@attrs.frozen
class GenerationOptions:
    """Options of one generation request, in chat-completions terms.

    ``max_tokens`` counts completion tokens; ``temperature`` 0 means greedy decoding; ``stop`` is a
    tuple of stop sequences (a single string is accepted); ``tools`` accepts :class:`Tool` objects,
    OpenAI tool dicts or typed Python functions; ``tool_choice`` and ``response_format`` are passed
    as in the chat-completions API (checked against ``tools`` per request by
    :func:`check_tool_choice`). ``extra`` carries provider-specific options unchanged
    (e.g. ``repetition_penalty`` for Transformers).

    Raises:
        ValueError: an option has the wrong type or is out of range (the message names it).
    """

    max_tokens: int | None = attrs.field(default=None, validator=_optional_positive_int)
    temperature: float | None = attrs.field(default=None, validator=_optional_number(0.0, 100.0))
    top_p: float | None = attrs.field(default=None, validator=_optional_number(0.0, 1.0))
    seed: int | None = attrs.field(default=None, validator=_optional_int)
    stop: tuple[str, ...] = attrs.field(default=(), converter=_stop)
    tools: tuple[Tool, ...] = attrs.field(default=(), converter=_tools)
    tool_choice: str | Mapping[str, Any] | None = attrs.field(default=None, validator=_tool_choice)
    response_format: Mapping[str, Any] | None = attrs.field(default=None, validator=_optional_mapping)
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_kwargs(cls, options: Mapping[str, Any]) -> GenerationOptions:
        """Split keyword options into the standard fields and ``extra`` (everything else)."""
        known = {}
        given = options.get("extra") or {}
        if not isinstance(given, Mapping):
            raise ValueError(f"extra must be a dict of provider options, got {type(given).__name__}: {given!r:.80}")
        extra = dict(given)
        for key, value in options.items():
            if key == "extra":
                continue
            if key in _GENERATION_FIELDS:
                known[key] = value
            else:
                extra[key] = value
        return cls(**known, extra=extra)


_GENERATION_FIELDS: Final = frozenset(a.name for a in attrs.fields(GenerationOptions)) - {"extra"}


def _tool_calling(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in TOOL_CALLING_MODES:
        raise ValueError(f"tool_calling must be one of {TOOL_CALLING_MODES}, got {value!r}")


def _flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be True or False, got {type(value).__name__} {value!r:.80}")


def _format_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a format name or None, got {type(value).__name__} {value!r:.80}")


@attrs.frozen
class Capabilities:
    """What a provider declares it can do for one model (returned by the ``capabilities`` hook).

    Nothing in modelplug guesses these from the provider's methods: a provider that can stream says
    ``streaming=True``; the conformance kit (:mod:`modelplug.testing`) checks that declarations are
    true.

    Attributes:
        streaming: ``generate_stream`` yields deltas as they are produced.
        async_streaming: the provider implements ``agenerate_stream``, a native async stream
            (without it, async callers get ``generate_stream`` run in a worker thread).
        tool_calling: ``"native"`` (the backend returns structured tool calls), ``"text"`` (the model
            writes calls as text, parsed by ``parse_tool_calls``) or ``"none"``.
        tool_call_format: the text format of tool calls (e.g. ``"hermes"``), when known; ``None``
            lets the parser detect it.
        streamed_tool_calls: tool calls arrive as deltas during the stream, not only at the end.
        usage_in_stream: a stream reports usage.
        stop_sequences: the backend honours ``stop``.
        structured_output: the backend honours ``response_format``.
        forced_tool_choice: the backend enforces ``tool_choice="required"`` and a named function
            (with ``tools``): the answer is a call of one of the (named) tools, never plain text.
        vision: the model accepts image content parts.
        reasoning: the model emits ``reasoning_content``.

    Raises:
        TypeError: a flag that is not a ``bool`` (``"yes"``, ``1``), a ``tool_call_format`` that is
            not a string (a provider's ``capabilities`` hook then fails with a ``PluginContractError``
            naming it; a ``capabilities`` override, with an ``InvalidOptionError``).
        ValueError: an unknown ``tool_calling`` mode.
    """

    streaming: bool = attrs.field(default=False, validator=_flag)
    async_streaming: bool = attrs.field(default=False, validator=_flag)
    tool_calling: str = attrs.field(default="none", validator=_tool_calling)
    tool_call_format: str | None = attrs.field(default=None, validator=_format_name)
    streamed_tool_calls: bool = attrs.field(default=False, validator=_flag)
    usage_in_stream: bool = attrs.field(default=False, validator=_flag)
    stop_sequences: bool = attrs.field(default=False, validator=_flag)
    structured_output: bool = attrs.field(default=False, validator=_flag)
    forced_tool_choice: bool = attrs.field(default=False, validator=_flag)
    vision: bool = attrs.field(default=False, validator=_flag)
    reasoning: bool = attrs.field(default=False, validator=_flag)
