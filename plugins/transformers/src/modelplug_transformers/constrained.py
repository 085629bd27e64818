"""Grammar-constrained decoding: forced tool calls and ``response_format``, with llguidance.

A request with ``tool_choice="required"`` (or a named function) or a ``response_format`` gets a
grammar; :class:`GrammarProcessor` applies it as a Transformers logits processor, masking every
token the grammar does not allow at each step (llguidance computes the mask; see
``docs/providers/transformers.md`` for why llguidance). The call is written in the model's own
text format, so the core's tool-call parser reads it as it would any call, and streaming,
stop sequences and cancellation work as on the free path.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final

from modelplug.errors import InvalidOptionError
from modelplug.tools import tool_to_wire
from modelplug.types import GenerationOptions, Tool, forced_tool_name

__all__ = ["FORCED_FORMATS", "GrammarProcessor", "constraint_for", "forget", "grammar_for", "special_markers"]

#: Text formats whose calls can be forced, with the markers around one call's JSON object and the
#: key the format gives the arguments (a format missing here declares ``forced_tool_choice=False``).
FORCED_FORMATS: Final[Mapping[str, tuple[str, str, str]]] = {
    "hermes": ("<tool_call>", "</tool_call>", "arguments"),
    "llama3_json": ("", "", "parameters"),
}
#: JSON laid out as ``json.dumps`` does (``", "``, ``": "``, no other whitespace): a small model
#: under a grammar that allows free whitespace may write spaces forever, and this is the layout it
#: has seen most.
_COMPACT: Final = {"whitespace_flexible": False, "item_separator": ",", "key_separator": ":"}
_tokenizers: dict[int, Any] = {}
_tokenizers_lock = threading.Lock()


def _call_schema(tool: Tool, arguments_key: str) -> dict[str, Any]:
    parameters = dict(tool_to_wire(tool)["function"].get("parameters") or {"type": "object"})
    # a forced call takes the declared arguments only, unless the schema says otherwise
    parameters.setdefault("additionalProperties", False)
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, arguments_key: parameters},
        "required": ["name", arguments_key],
        "additionalProperties": False,
    }


def _marker(text: str, special: Mapping[str, int]) -> str:
    """A marker in Lark: the special token itself (``<[id]>``) when the tokenizer has one, so the
    model writes the token it was trained on (the decoder keeps it in the text), else the text."""
    return f"<[{special[text]}]>" if text in special else json.dumps(text)


def special_markers(loaded: Any) -> dict[str, int]:
    """The forced formats' markers that are single special tokens of ``loaded``'s tokenizer, text -> id."""
    tokenizer = loaded.tokenizer
    special = dict(zip(tokenizer.all_special_tokens, tokenizer.all_special_ids, strict=False))
    markers = {m for opener, closer, _ in FORCED_FORMATS.values() for m in (opener, closer) if m}
    return {m: special[m] for m in markers if m in special}


def _tool_grammar(
    tools: Sequence[Tool], tool_choice: Any, tool_call_format: str | None, special: Mapping[str, int]
) -> str:
    name = forced_tool_name(tool_choice)
    if name is not None:
        chosen = [tool for tool in tools if tool.name == name]
        if not chosen:
            offered = ", ".join(tool.name for tool in tools) or "none"
            raise InvalidOptionError(f"tool_choice names {name!r}, which is not among the tools ({offered})")
    else:
        chosen = list(tools)
    if not chosen:
        raise InvalidOptionError("tool_choice='required' needs at least one tool in `tools`")
    fmt = tool_call_format or "hermes"
    if fmt not in FORCED_FORMATS:
        raise InvalidOptionError(
            f"a forced tool call cannot be written in the {fmt!r} format on transformers models "
            f"(forced calls: {', '.join(FORCED_FORMATS)}); use tool_choice='auto'"
        )
    opener, closer, arguments_key = FORCED_FORMATS[fmt]
    body = " ".join(_marker(part, special) if part != "call" else part for part in (opener, "call", closer) if part)

    def grammar(tools: Sequence[Tool]) -> str:
        schema = {"anyOf": [_call_schema(tool, arguments_key) for tool in tools], "x-guidance": _COMPACT}
        return f"start: {body}\ncall: %json {json.dumps(schema)}\n"

    whole = grammar(chosen)
    if _grammar_fault(whole):
        for tool in chosen:  # name the tool at fault, not the whole grammar
            fault = _grammar_fault(grammar([tool]))
            if fault:
                raise InvalidOptionError(
                    f"tool {tool.name!r}: its parameters schema cannot be enforced by constrained decoding: {fault}"
                )
    return whole


_GRAMMAR_LISTING: Final = re.compile(r"^\s+1 \| ", re.MULTILINE)
_GRAMMAR_PLACE: Final = re.compile(r"^at \d+\(\d+\): ")


def _grammar_fault(grammar: str) -> str:
    """Why llguidance refuses ``grammar`` (its message, without the grammar it lists), or ``""``.

    Cheap (figures in ``docs/benchmarks.md``), so checked before a generation: a schema llguidance cannot
    enforce is a clear :class:`InvalidOptionError`, not a failure once the model is running.
    """
    import llguidance

    problem: str = llguidance.LLMatcher.validate_grammar(grammar)
    if not problem:
        return ""
    listing = _GRAMMAR_LISTING.search(problem)
    return _GRAMMAR_PLACE.sub("", problem[: listing.start() if listing else None]).strip()


def _response_schema(response_format: Any) -> dict[str, Any]:
    if not isinstance(response_format, Mapping):
        raise InvalidOptionError(f"response_format must be a dict, got {response_format!r}")
    kind = response_format.get("type")
    if kind == "json_object":
        return {"type": "object", "x-guidance": _COMPACT}
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if not isinstance(schema, Mapping):
            raise InvalidOptionError(
                "response_format type 'json_schema' needs json_schema.schema, a JSON schema object"
            )
        return {**schema, "x-guidance": _COMPACT}
    raise InvalidOptionError(
        f"response_format type must be 'json_object', 'json_schema' or 'text', got {kind!r}"
    )


def grammar_for(
    options: GenerationOptions, tool_call_format: str | None, special: Mapping[str, int] | None = None
) -> str | None:
    """The Lark grammar (llguidance's dialect) a request must follow, or ``None`` for free decoding.

    A forced tool choice (``"required"`` or ``{"type": "function", "function": {"name": ...}}``)
    with ``tools`` gives one call, in ``tool_call_format`` (``None`` means hermes, the embedded
    model's), to one of the (named) tools, its arguments following the tool's JSON schema; a
    marker found in ``special`` (marker text -> special token id, :func:`special_markers`) is
    that token, otherwise its text. Otherwise a ``response_format`` of type ``json_object`` or
    ``json_schema`` gives JSON text.

    Raises:
        InvalidOptionError: a named tool not offered, a format calls cannot be forced in, a
            ``response_format`` of an unknown shape, a tool's parameters or a response schema
            llguidance cannot enforce (the message names the tool and llguidance's reason).
    """
    forced = options.tool_choice == "required" or forced_tool_name(options.tool_choice) is not None
    if forced and options.tools:
        return _tool_grammar(options.tools, options.tool_choice, tool_call_format, special or {})
    response_format = options.response_format
    if response_format is None or (isinstance(response_format, Mapping) and response_format.get("type") == "text"):
        return None
    schema = _response_schema(response_format)
    grammar = f"start: value\nvalue: %json {json.dumps(schema)}\n"
    fault = _grammar_fault(grammar)
    if fault:
        raise InvalidOptionError(f"response_format: the schema cannot be enforced by constrained decoding: {fault}")
    return grammar


def _ll_tokenizer(loaded: Any) -> Any:
    """llguidance's view of the model's tokenizer, built once per model (its cost: ``docs/benchmarks.md``)."""
    import llguidance.hf

    key = id(loaded.tokenizer)
    with _tokenizers_lock:
        cached = _tokenizers.get(key)
        if cached is None or cached[0] is not loaded.tokenizer:
            vocab = loaded.model.get_output_embeddings().weight.shape[0]
            eos = sorted(loaded.eos_token_ids)
            cached = _tokenizers[key] = (
                loaded.tokenizer,
                llguidance.hf.from_tokenizer(loaded.tokenizer, n_vocab=vocab, eos_token=eos or None),
            )
        return cached[1]


def forget(loaded: Any) -> None:
    """Drop the llguidance tokenizer kept for ``loaded`` (called when the model is unloaded)."""
    with _tokenizers_lock:
        _tokenizers.pop(id(loaded.tokenizer), None)


class GrammarProcessor:
    """A Transformers logits processor that allows only the tokens ``grammar`` accepts next.

    One per generation (it keeps the matcher's state). Called by ``generate`` once per step with
    the ids so far and the next token's scores, shape ``(1, vocab)``: it feeds the token chosen at
    the previous step to the matcher, then masks the scores in place. When the grammar is complete
    only end-of-sequence is allowed, so the answer ends with the call or the JSON value.

    Raises:
        ProviderError: the matcher rejected a token (a bug in the grammar engine, not the model's).
    """

    def __init__(self, loaded: Any, grammar: str, prompt_length: int) -> None:
        import llguidance
        import llguidance.torch

        tokenizer = _ll_tokenizer(loaded)
        self._torch = llguidance.torch
        self._matcher = llguidance.LLMatcher(tokenizer, grammar)
        if self._matcher.is_error():
            raise InvalidOptionError(f"the constraint's grammar is invalid: {self._matcher.get_error()}")
        self._mask = llguidance.torch.allocate_token_bitmask(1, tokenizer.vocab_size)
        self._seen = prompt_length

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if input_ids.shape[1] > self._seen:
            self._matcher.consume_tokens(input_ids[0, self._seen :].tolist())
            self._seen = input_ids.shape[1]
            if self._matcher.is_error():
                from modelplug.errors import ProviderError

                problem = self._matcher.get_error()
                raise ProviderError(f"constrained decoding failed: {problem}", provider="transformers")
        self._torch.fill_next_token_bitmask(self._matcher, self._mask, 0)
        self._torch.apply_token_bitmask_inplace(scores, self._mask.to(scores.device))
        return scores


def constraint_for(
    loaded: Any, options: GenerationOptions, tool_call_format: str | None, prompt_length: int
) -> GrammarProcessor | None:
    """The :class:`GrammarProcessor` for this request (one generation), or ``None`` for free decoding.

    Built before any generation thread starts, so a bad request fails at once.

    Raises:
        InvalidOptionError: see :func:`grammar_for`; a grammar llguidance refuses.
    """
    grammar = grammar_for(options, tool_call_format, special_markers(loaded))
    return None if grammar is None else GrammarProcessor(loaded, grammar, prompt_length)
