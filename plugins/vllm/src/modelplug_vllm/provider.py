"""Hook implementations of the ``vllm`` provider."""

from __future__ import annotations

import contextlib
import difflib
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

import modelplug
from modelplug.errors import (
    BadRequestError,
    ContextLengthError,
    InvalidOptionError,
    ModelClosedError,
    ModelLoadError,
    ModelplugError,
    ProviderError,
)
from modelplug.log import get_logger
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions, Tool
from modelplug_vllm import compat, main_guard, toolparse
from modelplug_vllm.convert import (
    OutputTracker,
    messages_to_openai,
    sampling_kwargs,
    structured_output_spec,
    tools_to_openai,
)
from modelplug_vllm.engine import EngineRunner

__all__ = [
    "ENGINE_DEFAULTS",
    "PROVIDER_OPTIONS",
    "VllmState",
    "agenerate_stream",
    "capabilities",
    "generate",
    "generate_stream",
    "load",
    "option_types",
    "parse_tool_calls",
    "unload",
]

PROVIDER = "vllm"

#: Model options read by the provider (or the core) rather than passed to ``AsyncEngineArgs``.
#: (``tool_call_format`` is the core's, taken out before ``load``: :mod:`modelplug.reserved`.)
PROVIDER_OPTIONS: Final = frozenset({"tool_parser", "tool_parser_plugin", "chat_template_kwargs"})

#: Engine options the provider sets unless the caller does (vLLM's default logs stats and requests).
ENGINE_DEFAULTS: Final[Mapping[str, Any]] = {"disable_log_stats": True}

_OPTION_TYPES: Final[Mapping[str, type]] = {
    "dtype": str,
    "max_model_len": int,
    "gpu_memory_utilization": float,
    "tensor_parallel_size": int,
    "pipeline_parallel_size": int,
    "distributed_executor_backend": str,
    "enforce_eager": bool,
    "kv_cache_memory_bytes": int,
    "max_num_seqs": int,
    "seed": int,
    "quantization": str,
    "trust_remote_code": bool,
    "tokenizer": str,
    "revision": str,
    "download_dir": str,
    "enable_prefix_caching": bool,
    "generation_config": str,
    "tool_parser": str,
    "tool_parser_plugin": str,
}


@attrs.define(eq=False)
class VllmState:
    """What ``load`` keeps for one vLLM model: the engine runner and the provider options."""

    model: str
    runner: EngineRunner | None
    tool_parser: str | None = None
    tool_parser_class: Any = None
    chat_template_kwargs: Mapping[str, Any] = attrs.field(factory=dict)
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    @property
    def engine(self) -> Any:
        """vLLM's ``AsyncLLM`` (``None`` after ``unload``)."""
        return None if self.runner is None else self.runner.engine

    def require_runner(self) -> EngineRunner:
        """The running engine.

        Raises:
            ModelClosedError: the model was unloaded (``unload``, ``Model.close()``), its engine shut down.
        """
        if self.runner is None or not self.runner.running:
            raise ModelClosedError(f"vllm model {self.model!r} is closed (its engine was shut down by close())")
        return self.runner


def _resolve_model(model_id: str) -> str:
    path = Path(model_id).expanduser()
    return str(path.resolve()) if path.exists() else model_id


def _split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    own = {k: v for k, v in options.items() if k in PROVIDER_OPTIONS}
    engine = {k: v for k, v in options.items() if k not in PROVIDER_OPTIONS}
    if "model" in engine:
        raise InvalidOptionError("give the model in the spec ('vllm:<model or folder>'), not as the 'model' option")
    known = compat.engine_arg_names()
    for key in engine:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known | PROVIDER_OPTIONS), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InvalidOptionError(f"unknown vllm model option {key!r} (not an AsyncEngineArgs field){hint}")
    return own, engine


@modelplug.hookimpl
def load(model_id: str, options: Mapping[str, Any]) -> VllmState:
    """Start vLLM's async engine for ``model_id`` (a Hugging Face id or a local folder).

    Options other than ``tool_parser``, ``tool_parser_plugin`` and ``chat_template_kwargs`` (and the
    core's reserved ones, never seen here) are ``AsyncEngineArgs`` fields, passed through (``dtype``, ``max_model_len``,
    ``gpu_memory_utilization``, ``tensor_parallel_size``, ``enforce_eager``, ``kv_cache_memory_bytes``, ...).

    Raises:
        ModelLoadError: vLLM is missing, or the engine failed to start (the message keeps vLLM's reason).
        InvalidOptionError: an unknown engine option, an unknown tool parser, or one that does not fit
            the model's tokenizer.
    """
    if main_guard.in_spawn_bootstrap():
        raise ModelLoadError(
            f"load_model('vllm:{model_id}') ran while a child process was starting: {main_guard.GUARD_HINT}",
            provider=PROVIDER,
        )
    own, engine_options = _split_options(options)
    tool_parser = own.get("tool_parser")
    if tool_parser is not None and not isinstance(tool_parser, str):
        raise InvalidOptionError(f"tool_parser must be the name of a vLLM tool parser, got {tool_parser!r}")
    parser_cls = toolparse.parser_class(tool_parser, own.get("tool_parser_plugin")) if tool_parser else None
    template_kwargs = own.get("chat_template_kwargs") or {}
    if not isinstance(template_kwargs, Mapping):
        raise InvalidOptionError(f"chat_template_kwargs must be a dict, got {template_kwargs!r}")
    model = _resolve_model(model_id)
    unguarded = main_guard.unguarded_main_line()
    if unguarded:
        get_logger().warning("vllm_unguarded_main", where=unguarded, hint=main_guard.GUARD_HINT)
    try:
        runner = EngineRunner({**ENGINE_DEFAULTS, **engine_options, "model": model})
    except ModelplugError:
        raise
    except Exception as error:
        hint = f" ({main_guard.GUARD_HINT}; the call at {unguarded} is not guarded)" if unguarded else ""
        raise ModelLoadError(
            f"vLLM could not start {model!r}: {type(error).__name__}: {error}{hint}", provider=PROVIDER, original=error
        ) from error
    state = VllmState(model, runner, tool_parser, parser_cls, dict(template_kwargs))
    if parser_cls is not None:
        try:
            toolparse.check_parser(parser_cls, runner.tokenizer, tool_parser or "")
        except BaseException:
            runner.shutdown()
            raise
    get_logger().info("vllm_loaded", model=model, vllm=compat.vllm_version(), tool_parser=tool_parser)
    return state


@modelplug.hookimpl
def capabilities(state: VllmState) -> Capabilities:
    """Streaming (sync and native async) with usage, stop sequences and structured output by vLLM; tool
    calls parsed by vLLM's parser while streaming (``native``) when ``tool_parser`` is set, else by the
    core (``text``)."""
    native = state.tool_parser is not None
    return Capabilities(
        streaming=True,
        async_streaming=True,
        tool_calling="native" if native else "text",
        streamed_tool_calls=native,
        usage_in_stream=True,
        stop_sequences=True,
        structured_output=True,
    )


@modelplug.hookimpl
def option_types() -> Mapping[str, type]:
    """The common engine options and the provider's own; any other ``AsyncEngineArgs`` field is accepted too."""
    return _OPTION_TYPES


@attrs.frozen
class _Request:
    conversation: list[dict[str, Any]]
    sampling_params: Any
    tools: list[dict[str, Any]] | None
    parser_request: Any


def _build_request(
    state: VllmState, messages: Sequence[ChatMessage], options: GenerationOptions, kind: str
) -> _Request:
    runner = state.require_runner()
    kwargs = sampling_kwargs(options, defaults=runner.sampling_defaults, allowed=compat.sampling_param_names())
    structured = structured_output_spec(options.response_format)
    if structured is not None:
        field = compat.structured_output_field()
        if field is None:
            raise InvalidOptionError(f"this vLLM ({compat.vllm_version()}) has no structured output parameters")
        name, params_class = field
        kwargs[name] = params_class(**structured)
    output_kind = compat.request_output_kind()
    if output_kind is not None:
        kwargs["output_kind"] = getattr(output_kind, kind)
    parser_request = None
    use_parser = state.tool_parser_class is not None and options.tools and options.tool_choice != "none"
    if use_parser:
        parser_request = toolparse.parser_request(options.tools, options.tool_choice)
        adjusted = toolparse.new_parser(state.tool_parser_class, runner.tokenizer, parser_request).adjust_request(
            parser_request
        )
        if getattr(adjusted, "skip_special_tokens", True) is False and "skip_special_tokens" not in options.extra:
            kwargs["skip_special_tokens"] = False  # the parser needs its special tokens (hermes: <tool_call>)
        parser_request = adjusted
    try:
        sampling_params = compat.sampling_params_class()(**kwargs)
    except Exception as error:
        if not _is_client_error(error):
            raise
        raise InvalidOptionError(f"invalid vLLM sampling option: {error}") from error
    return _Request(messages_to_openai(messages), sampling_params, tools_to_openai(options.tools), parser_request)


def _is_client_error(error: BaseException) -> bool:
    """A request error: ``ValueError``/``TypeError``, or vLLM's ``VLLMClientError`` (not a ``ValueError``
    since 0.2x; matched by name so that no vLLM import is needed)."""
    names = {cls.__name__ for cls in type(error).__mro__}
    return isinstance(error, (ValueError, TypeError)) or "VLLMClientError" in names


def _translate(error: BaseException) -> BaseException:
    """modelplug's error for a vLLM error (the original kept)."""
    if isinstance(error, ModelplugError):
        return error
    text = f"{type(error).__name__}: {error}"
    if "context length" in str(error):
        return ContextLengthError(f"vLLM: {text}", provider=PROVIDER, original=error)
    if _is_client_error(error):
        return BadRequestError(f"vLLM rejected the request: {text}", provider=PROVIDER, original=error)
    return ProviderError(f"vLLM failed: {text}", provider=PROVIDER, original=error)


def _run(state: VllmState, request: _Request) -> Iterator[Any]:
    runner = state.require_runner()
    outputs = runner.stream(
        request.conversation,
        request.sampling_params,
        tools=request.tools,
        chat_template_kwargs=state.chat_template_kwargs,
    )
    try:
        yield from outputs
    except ModelplugError:
        raise
    except Exception as error:
        raise _translate(error) from error
    finally:
        outputs.close()


async def _arun(state: VllmState, request: _Request) -> AsyncIterator[Any]:
    """:func:`_run` for a coroutine: the engine's outputs, queued on the caller's loop (no thread)."""
    runner = state.require_runner()
    outputs = runner.astream(
        request.conversation,
        request.sampling_params,
        tools=request.tools,
        chat_template_kwargs=state.chat_template_kwargs,
    )
    try:
        async for output in outputs:
            yield output
    except ModelplugError:
        raise
    except Exception as error:
        raise _translate(error) from error
    finally:
        await outputs.aclose()


@modelplug.hookimpl
def generate(state: VllmState, messages: list[ChatMessage], options: GenerationOptions) -> ChatMessage:
    """Run one request to the end (``RequestOutputKind.FINAL_ONLY``) on the model's engine.

    With ``tool_parser`` set and tools given, the answer's tool calls come from vLLM's parser.
    """
    request = _build_request(state, messages, options, "FINAL_ONLY")
    tracker = OutputTracker(cumulative=True, open_reasoning=state.tool_parser_class is None)
    text = ""
    finish_reason = None
    usage = None
    for output in _run(state, request):
        step = tracker.feed(output)
        text += step.text
        if step.finished:
            finish_reason, usage = step.finish_reason, step.usage
    message = ChatMessage(role="assistant", content=text, usage=usage, finish_reason=finish_reason)
    if request.parser_request is not None:
        runner = state.require_runner()
        parser = toolparse.new_parser(state.tool_parser_class, runner.tokenizer, request.parser_request)
        content, calls = toolparse.extract(parser, text, request.parser_request)
        if calls:
            reason = "tool_calls" if finish_reason == "stop" else finish_reason
            message = attrs.evolve(message, content=content or None, tool_calls=tuple(calls), finish_reason=reason)
    return message


@modelplug.hookimpl
def generate_stream(
    state: VllmState, messages: list[ChatMessage], options: GenerationOptions
) -> Iterator[ChatMessageStreamDelta]:
    """Stream tokens from vLLM's async engine (``RequestOutputKind.DELTA``): one delta per output, usage
    (prompt and generated token counts) and vLLM's finish reason on the last one. Closing the iterator
    aborts the request in the engine.

    Raises:
        InvalidOptionError: a sampling option vLLM refuses (at once, before the request starts).
        ModelClosedError: the model is closed.
    """
    request = _build_request(state, messages, options, "DELTA")
    return _stream(state, request)


@modelplug.hookimpl
def agenerate_stream(
    state: VllmState, messages: list[ChatMessage], options: GenerationOptions
) -> AsyncIterator[ChatMessageStreamDelta]:
    """The native async twin of :func:`generate_stream`: the same deltas, from ``AsyncLLM.generate``
    running on the engine's loop and queued on the caller's loop (no thread per stream, the caller's
    loop is never blocked). ``aclose()`` or cancelling the consuming task aborts the request in the
    engine before ``CancelledError`` propagates.

    Raises:
        InvalidOptionError: a sampling option vLLM refuses (at once, when the hook is called).
        ModelClosedError: the model is closed.
    """
    request = _build_request(state, messages, options, "DELTA")
    return _astream(state, request)


class _DeltaMaker:
    """The deltas of one streamed request, output by output: text and usage through
    :class:`OutputTracker`, tool calls through vLLM's streaming parser when the request has one.
    Shared by the sync and the async stream, so that both give the same deltas."""

    def __init__(self, state: VllmState, request: _Request) -> None:
        self._tracker = OutputTracker(
            cumulative=compat.request_output_kind() is None, open_reasoning=state.tool_parser_class is None
        )
        self._parser = None
        if request.parser_request is not None:
            runner = state.require_runner()
            self._parser = toolparse.StreamingToolParser(
                toolparse.new_parser(state.tool_parser_class, runner.tokenizer, request.parser_request),
                request.parser_request,
            )

    def feed(self, output: Any) -> list[ChatMessageStreamDelta]:
        """The deltas for one ``RequestOutput`` (none, one, or several at the end)."""
        step = self._tracker.feed(output)
        parser = self._parser
        if parser is None:
            delta = step.to_delta()
            return [] if delta is None else [delta]
        deltas = []
        if step.text or step.token_ids:
            parsed = parser.feed(step.text, step.token_ids)
            if parsed is not None:
                deltas.append(parsed)
        if step.finished:
            rest = parser.finish()
            if rest is not None:
                deltas.append(rest)
            reason = "tool_calls" if parser.called and step.finish_reason == "stop" else step.finish_reason
            deltas.append(ChatMessageStreamDelta(usage=step.usage, finish_reason=reason))
        return deltas


def _stream(state: VllmState, request: _Request) -> Iterator[ChatMessageStreamDelta]:
    maker = _DeltaMaker(state, request)
    for output in _run(state, request):
        yield from maker.feed(output)


async def _astream(state: VllmState, request: _Request) -> AsyncIterator[ChatMessageStreamDelta]:
    maker = _DeltaMaker(state, request)
    async with contextlib.aclosing(_arun(state, request)) as outputs:  # closed at once, not by the GC
        async for output in outputs:
            for delta in maker.feed(output):
                yield delta


@modelplug.hookimpl
def parse_tool_calls(state: VllmState, text: str, tools: Sequence[Tool]) -> Any:
    """Parse ``text`` with vLLM's own parser (a new instance) when the model was loaded with
    ``tool_parser``; otherwise ``None``, so the core's parser reads it."""
    if state.tool_parser_class is None:
        return None
    from modelplug.toolcalls import ParseResult

    runner = state.require_runner()
    request = toolparse.parser_request(tools)
    parser = toolparse.new_parser(state.tool_parser_class, runner.tokenizer, request)
    content, calls = toolparse.extract(parser, text, request)
    return ParseResult(content=content or None, tool_calls=tuple(calls), format=state.tool_parser if calls else None)


@modelplug.hookimpl
def unload(state: VllmState) -> None:
    """Shut the engine down (its processes exit, their CPU and GPU memory is freed), stop the event-loop
    thread and empty the CUDA cache, so another model can be loaded in this process."""
    with state.lock:
        runner, state.runner = state.runner, None
    if runner is not None:
        runner.shutdown()
        get_logger().info("vllm_unloaded", model=state.model)
