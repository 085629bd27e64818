"""Pure conversions between modelplug's types and vLLM's request and output objects.

Nothing here imports vLLM: the functions read vLLM's objects by attribute (duck typing) and build
plain keyword dicts for vLLM's classes, so they are tested in a venv without vLLM (with stand-in
objects) and again with vLLM's real classes where it is installed.

Details: docs/providers/vllm.md, "vLLM object shapes read".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from modelplug.errors import InvalidOptionError
from modelplug.tools import tool_to_wire
from modelplug.types import ChatMessage, ChatMessageStreamDelta, GenerationOptions, Tool, ToolCallDelta, Usage
from modelplug.wire import message_to_wire

__all__ = [
    "RESERVED_SAMPLING_KEYS",
    "OutputStep",
    "OutputTracker",
    "delta_from_delta_message",
    "deltas_from_outputs",
    "message_from_output",
    "messages_to_openai",
    "sampling_kwargs",
    "structured_output_spec",
    "tools_to_openai",
]

#: ``SamplingParams`` fields the provider sets itself; passing them as options is an error.
RESERVED_SAMPLING_KEYS: Final = frozenset({"n", "output_kind", "detokenize"})


def structured_output_spec(response_format: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The keyword arguments of vLLM's ``StructuredOutputsParams`` (or ``GuidedDecodingParams``) for
    a chat-completions ``response_format``, or ``None`` when the output is free text.

    ``{"type": "text"}`` → ``None``; ``{"type": "json_object"}`` → ``{"json_object": True}``;
    ``{"type": "json_schema", "json_schema": {"schema": {...}}}`` → ``{"json": {...}}``. vLLM's own
    kinds are accepted too: ``{"type": "regex", "regex": ...}``, ``{"type": "choice", "choice": [...]}``,
    ``{"type": "grammar", "grammar": ...}``.

    Raises:
        InvalidOptionError: an unknown ``type`` or a ``json_schema`` without a schema.
    """
    if response_format is None:
        return None
    if not isinstance(response_format, Mapping):
        raise InvalidOptionError(
            f"response_format must be a dict like {{'type': 'json_object'}}, got {response_format!r}"
        )
    kind = response_format.get("type", "text")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"json_object": True}
    if kind == "json_schema":
        wrapper = response_format.get("json_schema")
        schema = wrapper.get("schema") if isinstance(wrapper, Mapping) else response_format.get("schema")
        if not isinstance(schema, (Mapping, str)):
            raise InvalidOptionError(
                "response_format of type 'json_schema' needs {'json_schema': {'name': ..., 'schema': {...}}}"
            )
        return {"json": dict(schema) if isinstance(schema, Mapping) else schema}
    if kind in ("regex", "choice", "grammar") and kind in response_format:
        value = response_format[kind]
        return {kind: list(value) if kind == "choice" else value}
    raise InvalidOptionError(
        f"unsupported response_format type {kind!r}; use 'text', 'json_object', 'json_schema', "
        "or vLLM's 'regex', 'choice', 'grammar'"
    )


def sampling_kwargs(
    options: GenerationOptions,
    *,
    defaults: Mapping[str, Any] | None = None,
    allowed: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``vllm.SamplingParams`` from the generation ``options``.

    ``defaults`` are the model's own sampling defaults (vLLM's ``model_config.get_diff_sampling_param()``,
    read from ``generation_config.json``), overridden by what the caller sets. An unset ``max_tokens``
    becomes ``None``, which vLLM reads as "up to the end of the context" (its own default, 16, would cut
    answers short). ``stop`` becomes a list. Keys of ``options.extra`` are passed unchanged (``top_k``,
    ``min_p``, ``repetition_penalty``, ``presence_penalty``, ``ignore_eos``, ...). ``response_format`` and
    ``tools`` are not handled here (see :func:`structured_output_spec`).

    Args:
        options: the generation options.
        defaults: the model's sampling defaults, or ``None``.
        allowed: the ``SamplingParams`` field names, to reject misspelled extras; ``None`` skips the check.

    Raises:
        InvalidOptionError: an extra option that ``SamplingParams`` does not take, or one the provider
            sets itself (``n``, ``output_kind``, ``detokenize``).
    """
    kwargs: dict[str, Any] = dict(defaults or {})
    kwargs["max_tokens"] = options.max_tokens if options.max_tokens is not None else kwargs.get("max_tokens")
    if options.temperature is not None:
        kwargs["temperature"] = float(options.temperature)
    if options.top_p is not None:
        kwargs["top_p"] = float(options.top_p)
    if options.seed is not None:
        kwargs["seed"] = options.seed
    if options.stop:
        kwargs["stop"] = list(options.stop)
    names = None if allowed is None else frozenset(allowed)
    for key, value in options.extra.items():
        if key in RESERVED_SAMPLING_KEYS:
            raise InvalidOptionError(f"the vllm provider sets {key!r} itself; leave it out")
        if names is not None and key not in names:
            import difflib

            close = difflib.get_close_matches(key, sorted(names), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InvalidOptionError(f"vLLM's SamplingParams has no option {key!r}{hint}")
        kwargs[key] = value
    return kwargs


def _arguments_as_object(call: dict[str, Any]) -> dict[str, Any]:
    import contextlib
    import json

    function = dict(call.get("function") or {})
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):
            function["arguments"] = json.loads(arguments) if arguments.strip() else {}
    return {**call, "function": function}


def messages_to_openai(messages: Sequence[ChatMessage], *, arguments_as_objects: bool = False) -> list[dict[str, Any]]:
    """The chat-completions dicts of ``messages``, as vLLM's renderer takes them.

    ``arguments_as_objects`` decodes tool-call arguments into dicts, as Hugging Face chat templates
    expect when the template is applied directly (vLLM's renderer does this itself).
    """
    result = []
    for message in messages:
        data = message_to_wire(message)
        data.pop("reasoning_content", None)
        if arguments_as_objects and data.get("tool_calls"):
            data["tool_calls"] = [_arguments_as_object(call) for call in data["tool_calls"]]
        result.append(data)
    return result


def tools_to_openai(tools: Sequence[Tool]) -> list[dict[str, Any]] | None:
    """The chat-completions ``tools`` list (``None`` when there are no tools)."""
    return [tool_to_wire(tool) for tool in tools] or None


@attrs.frozen
class OutputStep:
    """What one ``RequestOutput`` added: the new text and token ids, and, on the last one, the
    finish reason, the matched stop and the usage."""

    text: str
    token_ids: tuple[int, ...]
    finished: bool
    finish_reason: str | None
    stop_reason: str | int | None
    usage: Usage | None

    def to_delta(self) -> ChatMessageStreamDelta | None:
        """The stream delta of this step, or ``None`` when it carries nothing."""
        if not self.text and not self.finished:
            return None
        return ChatMessageStreamDelta(content=self.text or None, usage=self.usage, finish_reason=self.finish_reason)


class OutputTracker:
    """Turns the successive ``RequestOutput`` objects of one request into :class:`OutputStep` values.

    With ``cumulative=False`` (``RequestOutputKind.DELTA``) each output carries only its new text and
    token ids; with ``cumulative=True`` (``CUMULATIVE`` or ``FINAL_ONLY``) each carries everything so far
    and the tracker takes the difference. Usage: ``prompt_tokens`` is ``len(prompt_token_ids)`` (present
    on every output), ``completion_tokens`` the number of generated token ids; it is reported once, on
    the finishing step.

    With ``open_reasoning=True`` (the core reads tool calls from the text), a reasoning span the
    rendered prompt leaves open (``output.prompt`` ending with ``<think>``, as Qwen3's and
    DeepSeek-R1's templates do; :func:`modelplug.toolcalls.open_span`) starts the first step's
    text with its opener, so the text read by the core holds the whole span and its reasoning goes
    to ``reasoning_content``.
    """

    __slots__ = ("_cumulative", "_look", "_sent_text", "completion_tokens", "prompt_tokens", "token_ids")

    def __init__(self, *, cumulative: bool = False, open_reasoning: bool = False) -> None:
        self._cumulative = cumulative
        self._look = open_reasoning
        self._sent_text = 0
        self.prompt_tokens: int | None = None
        self.completion_tokens = 0
        self.token_ids: list[int] = []

    def feed(self, output: Any) -> OutputStep:
        """Read one ``RequestOutput`` (only its first completion: the provider asks for ``n=1``)."""
        completion = output.outputs[0]
        ids = tuple(completion.token_ids or ())
        if self._cumulative:
            text = completion.text[self._sent_text :]
            self._sent_text = len(completion.text)
            new_ids = ids[len(self.token_ids) :]
        else:
            text = completion.text
            new_ids = ids
        if self._look:
            self._look = False
            from modelplug.toolcalls import open_span

            text = (open_span(getattr(output, "prompt", None) or "") or "") + text
        self.token_ids.extend(new_ids)
        self.completion_tokens = len(self.token_ids)
        prompt = getattr(output, "prompt_token_ids", None)
        if prompt is not None:
            self.prompt_tokens = len(prompt)
        finished = bool(output.finished) or completion.finish_reason is not None
        usage = Usage(self.prompt_tokens or 0, self.completion_tokens) if finished else None
        return OutputStep(
            text=text,
            token_ids=new_ids,
            finished=finished,
            finish_reason=completion.finish_reason if finished else None,
            stop_reason=completion.stop_reason if finished else None,
            usage=usage,
        )


def deltas_from_outputs(outputs: Iterable[Any], *, cumulative: bool = False) -> list[ChatMessageStreamDelta]:
    """The stream deltas of a sequence of ``RequestOutput`` objects (one request)."""
    tracker = OutputTracker(cumulative=cumulative)
    deltas = []
    for output in outputs:
        delta = tracker.feed(output).to_delta()
        if delta is not None:
            deltas.append(delta)
    return deltas


def message_from_output(output: Any) -> ChatMessage:
    """The assistant message of a finished (cumulative / final-only) ``RequestOutput``, with usage and
    the finish reason as vLLM gives it."""
    step = OutputTracker(cumulative=True).feed(output)
    return ChatMessage(role="assistant", content=step.text, usage=step.usage, finish_reason=step.finish_reason)


def delta_from_delta_message(message: Any) -> ChatMessageStreamDelta | None:
    """The modelplug delta of a vLLM tool parser's streaming ``DeltaMessage`` (``None`` when empty)."""
    if message is None:
        return None
    reasoning = getattr(message, "reasoning", None) or getattr(message, "reasoning_content", None)
    calls = []
    for call in getattr(message, "tool_calls", None) or ():
        function = getattr(call, "function", None)
        if isinstance(function, Mapping):
            name, arguments = function.get("name"), function.get("arguments")
        else:
            name = getattr(function, "name", None)
            arguments = getattr(function, "arguments", None)
        calls.append(ToolCallDelta(index=getattr(call, "index", None), id=call.id, name=name, arguments=arguments))
    content = getattr(message, "content", None)
    if not (content or reasoning or calls):
        return None
    return ChatMessageStreamDelta(content=content or None, reasoning_content=reasoning or None, tool_calls=calls)
