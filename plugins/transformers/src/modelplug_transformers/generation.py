"""Running one generation: incremental decoding, stop sequences, cancellation, usage.

Each call builds its own :class:`TokenWatch`, the per-call streamer: it is handed to
``model.generate`` as a stopping criterion, which Transformers calls once per new token with the
ids so far. It decodes the new ids incrementally (:class:`~modelplug_transformers.decoding.IncrementalDecoder`:
the special tokens the tool-call parser reads stay in the text, the others do not), cuts stop sequences
with :class:`modelplug.stops.StopFilter` (so no partial stop sequence is ever emitted), passes the
text on, and stops generation on the very token that completes a stop sequence, or as soon as the
consumer cancels. (A ``BaseStreamer`` would see each token only *after* the stopping criteria ran,
in Transformers 5: a stop found there costs one more forward pass.)

:func:`run` is the whole generation, in the calling thread; :func:`stream` runs it in a worker
thread and yields deltas from a queue; the ``generate`` hook calls :func:`run` directly, so both
produce the same text. Usage is exact: prompt tokens are the prompt's ids, completion tokens the
ids ``generate`` produced (the end-of-sequence token included), not the number of text pieces.
"""

from __future__ import annotations

import copy
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import attrs
import torch
from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from modelplug.errors import ContextLengthError, InvalidOptionError, ProviderError
from modelplug.stops import StopFilter
from modelplug.types import ChatMessageStreamDelta, GenerationOptions, Usage
from modelplug_transformers.decoding import IncrementalDecoder
from modelplug_transformers.loading import LoadedModel

__all__ = ["DEFAULT_MAX_TOKENS", "Outcome", "TokenWatch", "generation_config", "run", "stream"]

#: ``max_tokens`` when neither the call nor the model options give one (also capped by the context).
DEFAULT_MAX_TOKENS: Final = 1024
_PROVIDER: Final = "transformers"
#: Generation options that are not GenerationConfig attributes but mean something here.
_IGNORED_EXTRA: Final = frozenset({"stream", "n"})


class TokenWatch(StoppingCriteria):
    """The per-call streamer, plugged into ``generate`` as a stopping criterion (see the module docstring).

    Args:
        tokenizer: decodes the new ids.
        prompt_length: number of prompt ids (the generated ids start after them).
        stop: stop sequences; text from the first one on is never emitted.
        emit: receives each piece of text as it is decoded (called in the generation thread).
        cancel: when set, generation stops at the next token.
        skipped: ids left out of the text (every special token but the parser's markers:
            ``LoadedModel.skipped_token_ids``); ``None`` works them out from the tokenizer.
    """

    def __init__(
        self,
        tokenizer: Any,
        prompt_length: int,
        stop: Sequence[str],
        emit: Callable[[str], None],
        cancel: threading.Event | None = None,
        skipped: frozenset[int] | None = None,
    ) -> None:
        self._decoder = IncrementalDecoder(tokenizer, skipped)
        self._filter = StopFilter(stop)
        self._emit = emit
        self._cancel = cancel
        self.prompt_length = prompt_length
        self.generated: list[int] = []

    @property
    def stopped_by_sequence(self) -> bool:
        """A stop sequence appeared in the text."""
        return self._filter.stopped

    def _push(self, text: str) -> None:
        if text and not self._filter.stopped:
            out = self._filter.feed(text)
            if out:
                self._emit(out)

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        start = self.prompt_length + len(self.generated)
        new = input_ids[0, start:].tolist()
        self.generated.extend(new)
        self._push(self._decoder.add(new))
        done = self._filter.stopped or (self._cancel is not None and self._cancel.is_set())
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]

    def finish(self) -> None:
        """Emit what the decoder and the stop filter still hold, once generation has ended."""
        self._push(self._decoder.finish())
        if not self._filter.stopped:
            rest = self._filter.flush()
            if rest:
                self._emit(rest)


@attrs.frozen
class Outcome:
    """How a generation ended: its token counts and ``finish_reason`` (``"stop"`` or ``"length"``)."""

    usage: Usage
    finish_reason: str


def _number(name: str, value: Any, kind: type) -> Any:
    if value is None:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidOptionError(f"transformers option {name!r} must be {kind.__name__}, got {value!r}")
    return value


def generation_config(loaded: LoadedModel, options: GenerationOptions, prompt_length: int) -> GenerationConfig:
    """The ``GenerationConfig`` of one call: the model's own, then the model-option defaults, then the call's options.

    ``temperature`` 0 means greedy decoding; ``None`` everywhere keeps the model's own
    ``generation_config`` (greedy for the embedded model). ``max_tokens`` defaults to
    :data:`DEFAULT_MAX_TOKENS` and is capped by what the context leaves. Other keys in
    ``options.extra`` (``top_k``, ``repetition_penalty``, ``min_p``, ...) must be
    ``GenerationConfig`` attributes.

    Raises:
        ContextLengthError: the prompt alone fills the model's context.
        InvalidOptionError: an unknown or mistyped generation option.
    """
    context = loaded.context_length
    if context is not None and prompt_length >= context:
        raise ContextLengthError(
            f"the prompt is {prompt_length} tokens; the model's context holds {context}", provider=_PROVIDER
        )
    defaults = loaded.defaults
    config: GenerationConfig = copy.deepcopy(loaded.model.generation_config)
    max_tokens = options.max_tokens or defaults.get("max_tokens") or DEFAULT_MAX_TOKENS
    if context is not None:
        max_tokens = min(max_tokens, context - prompt_length)
    temperature = _number(
        "temperature", options.temperature if options.temperature is not None else defaults.get("temperature"), float
    )
    top_p = _number("top_p", options.top_p if options.top_p is not None else defaults.get("top_p"), float)
    extra = {k: v for k, v in defaults.items() if k not in {"max_tokens", "temperature", "top_p"}}
    extra.update({k: v for k, v in options.extra.items() if k not in _IGNORED_EXTRA})
    config.max_new_tokens = max_tokens
    config.max_length = None
    if temperature is not None:
        if temperature == 0:
            config.do_sample = False
            config.temperature = None
            config.top_p = None
            config.top_k = None
        else:
            config.do_sample = True
            config.temperature = temperature
    if top_p is not None:
        config.top_p = top_p
    known = GenerationConfig()  # type: ignore[no-untyped-call]
    for key, value in extra.items():
        if not hasattr(known, key) or key.startswith("_"):
            raise InvalidOptionError(
                f"unknown generation option {key!r} for transformers models (standard options: max_tokens, "
                "temperature, top_p, seed, stop, tools; others must be transformers GenerationConfig fields, "
                "e.g. top_k, repetition_penalty, min_p)"
            )
        setattr(config, key, value)
    if config.pad_token_id is None:
        eos = config.eos_token_id
        config.pad_token_id = eos[0] if isinstance(eos, (list, tuple)) and eos else eos
    try:
        config.validate()
    except ValueError as error:
        raise InvalidOptionError(f"invalid generation options: {error}") from error
    return config


def run(
    loaded: LoadedModel,
    prompt: Sequence[int],
    config: GenerationConfig,
    stop: Sequence[str],
    emit: Callable[[str], None],
    cancel: threading.Event | None = None,
    seed: int | None = None,
    constraint: Callable[[Any, Any], Any] | None = None,
) -> Outcome:
    """Generate from ``prompt`` (token ids) in the calling thread, passing text pieces to ``emit``.

    ``seed`` seeds torch's global random generator first (sampling only; best effort when several
    generations run at once, as they share it). ``constraint`` is a logits processor for this one
    generation (a :class:`~modelplug_transformers.constrained.GrammarProcessor`), or ``None``.
    """
    model = loaded.model
    if model is None:
        raise ProviderError("the model was unloaded", provider=_PROVIDER)
    input_ids = torch.tensor([list(prompt)], dtype=torch.long, device=model.device)
    attention = torch.ones_like(input_ids)
    watch = TokenWatch(loaded.tokenizer, len(prompt), stop, emit, cancel, loaded.skipped_token_ids)
    if seed is not None:
        torch.manual_seed(seed)
    with torch.inference_mode():
        model.generate(
            input_ids=input_ids,
            attention_mask=attention,
            generation_config=config,
            stopping_criteria=StoppingCriteriaList([watch]),
            logits_processor=LogitsProcessorList([constraint]) if constraint is not None else None,
        )
    watch.finish()
    generated = watch.generated
    if watch.stopped_by_sequence or (generated and generated[-1] in loaded.eos_token_ids):
        reason = "stop"
    elif config.max_new_tokens is not None and len(generated) >= config.max_new_tokens:
        reason = "length"
    else:
        reason = "stop"
    return Outcome(Usage(prompt_tokens=len(prompt), completion_tokens=len(generated)), reason)


@attrs.frozen
class _Failed:
    error: BaseException


def stream(
    loaded: LoadedModel,
    prompt: Sequence[int],
    config: GenerationConfig,
    stop: Sequence[str],
    seed: int | None = None,
    constraint: Callable[[Any, Any], Any] | None = None,
    opening: str = "",
) -> Iterator[ChatMessageStreamDelta]:
    """Run :func:`run` in a worker thread and yield its text as deltas, then one delta with usage and finish reason.

    ``opening`` (a reasoning-span opener the prompt ended in) is the first delta's content.

    The thread starts on the first ``next()``. Closing the generator (a ``break`` in the consumer,
    ``ChatStream.close()``) cancels the generation, which ends at the next token, and joins the
    thread before returning: no thread outlives the stream. Several streams may run at once on one
    model, each with its own thread, queue and watch.

    Raises:
        ProviderError: the generation failed in the worker thread (``original`` keeps its exception).
    """
    if opening:
        yield ChatMessageStreamDelta(content=opening)
    items: queue.SimpleQueue[Any] = queue.SimpleQueue()
    cancel = threading.Event()

    def work() -> None:
        try:
            items.put(run(loaded, prompt, config, stop, items.put, cancel, seed, constraint))
        except BaseException as error:
            items.put(_Failed(error))

    thread = threading.Thread(target=work, name="modelplug-transformers-generate", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if type(item) is str:
                pieces = [item]
                while True:  # join what is already waiting: a slow consumer gets fewer, larger deltas
                    try:
                        item = items.get_nowait()
                    except queue.Empty:
                        item = None
                        break
                    if type(item) is not str:
                        break
                    pieces.append(item)
                yield ChatMessageStreamDelta(content="".join(pieces))
                if item is None:
                    continue
            if isinstance(item, _Failed):
                error = item.error
                if isinstance(error, ProviderError | InvalidOptionError):
                    raise error
                raise ProviderError(
                    f"generation failed: {type(error).__name__}: {error}", provider=_PROVIDER, original=error
                ) from error
            thread.join()
            yield ChatMessageStreamDelta(usage=item.usage, finish_reason=item.finish_reason)
            return
    finally:
        cancel.set()
        thread.join()
