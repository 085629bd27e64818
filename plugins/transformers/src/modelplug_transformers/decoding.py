"""Token ids to text: which special tokens the text keeps, and incremental decoding.

The decoder keeps exactly the special tokens that the tool-call parser reads (call and channel
markers, reasoning tags, separators: :func:`modelplug.toolcalls.markers` of the model's format)
and leaves out every other special token (end, beginning, padding, role and turn tokens), as
vLLM's parsers see them. The set of ids to leave out is worked out once per model
(:func:`skipped_token_ids`, at load); decoding then costs what it cost with
``skip_special_tokens=True``. The rule is in ``docs/providers/transformers.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from modelplug.toolcalls import markers

__all__ = ["IncrementalDecoder", "skipped_token_ids"]


def _special_tokens(tokenizer: Any) -> dict[str, int]:
    """Every special token of ``tokenizer``, text -> id: the named ones (``all_special_tokens``)
    and every added token marked special (Llama 3's ``<|eom_id|>``, Kimi's ``<|im_middle|>`` are
    only there), which is what ``skip_special_tokens=True`` would leave out."""
    special: dict[str, int] = {}
    added = getattr(tokenizer, "added_tokens_decoder", None) or {}
    for token_id, token in added.items():
        if getattr(token, "special", False) and isinstance(token_id, int):
            special[str(token.content)] = token_id
    names = list(getattr(tokenizer, "all_special_tokens", ()))
    if names:
        special.update(zip(names, tokenizer.convert_tokens_to_ids(names), strict=True))
    return special


def skipped_token_ids(tokenizer: Any, extra: Iterable[int] = (), format: str | None = None) -> frozenset[int]:
    """The ids the decoder leaves out of the text, worked out once per tokenizer.

    A special token is kept when its text occurs in a marker the tool-call parser reads for
    ``format`` (:func:`modelplug.toolcalls.markers`; ``<|python_tag|>``, ``<|eom_id|>`` for Llama 3.1,
    ``<|tool_call_begin|>``, ``<|channel|>``...; a token that is part of a longer marker, like Kimi
    K3's ``<|sep|>`` in ``<|open|>tools<|sep|>``, too). Every other special token is left out:
    end, beginning, padding and unknown tokens, role and turn tokens (``<|im_start|>``,
    ``<|im_middle|>``, ``<|END_OF_TURN_TOKEN|>``...) and the rest. The end, beginning, padding and
    unknown ids and ``extra`` (the model's end ids from its generation config) are left out too,
    unless a marker of a *named* format (an end id is kept only when the format is known to read
    it, like Llama 3.1's ``<|eom_id|>`` or harmony's ``<|call|>``). Looks up the special tokens
    only, never the whole vocabulary.

    Args:
        tokenizer: a Transformers tokenizer.
        extra: more end ids to leave out (ints; anything else is ignored).
        format: the model's tool-call format (a name :mod:`modelplug.toolcalls` knows), or None
            when it is detected from the text (the markers of every format are kept then).

    Returns:
        The ids to drop before decoding.

    Raises:
        InvalidOptionError: ``format`` is not a known format name.
    """
    marks = "\0".join(markers(format))  # one search per token finds it inside any marker
    special = _special_tokens(tokenizer)
    kept = {i for text, i in special.items() if text.strip() and "\0" not in text and text in marks}
    ends: set[Any] = {getattr(tokenizer, name, None) for name in ("eos_token_id", "bos_token_id", "pad_token_id")}
    ends.add(getattr(tokenizer, "unk_token_id", None))
    ends.update(extra)
    ends = {i for i in ends if isinstance(i, int) and not isinstance(i, bool)}
    skipped = (set(special.values()) - kept) | (ends - kept if format is not None else ends)
    return frozenset(i for i in skipped if isinstance(i, int) and not isinstance(i, bool))


class IncrementalDecoder:
    """Decode token ids as they arrive into text deltas whose concatenation is the decoded whole.

    Keeps two offsets into the ids (the prefix/read offsets of TGI and vLLM): each step decodes a
    short window twice and emits the difference, so the cost per token does not grow with the
    length of the answer. Text ending in an incomplete UTF-8 character (``"\\ufffd"``) is held
    until the next token completes it. Ids in ``skipped`` are dropped as they arrive (one set
    look-up per id); every other id, special or not, is decoded into the text.

    Args:
        tokenizer: a Transformers tokenizer.
        skipped: ids to leave out of the text; ``None`` works them out with :func:`skipped_token_ids`
            (pass the set kept at load so that is not redone per call).
    """

    __slots__ = ("_ids", "_prefix", "_read", "_skipped", "_tokenizer")

    def __init__(self, tokenizer: Any, skipped: frozenset[int] | None = None) -> None:
        self._tokenizer = tokenizer
        self._skipped = skipped_token_ids(tokenizer) if skipped is None else skipped
        self._ids: list[int] = []
        self._prefix = 0
        self._read = 0

    def _decode(self, ids: list[int]) -> str:
        return str(self._tokenizer.decode(ids, skip_special_tokens=False))

    def add(self, ids: Sequence[int]) -> str:
        """Add new token ids; return the text they complete (maybe "")."""
        skipped = self._skipped
        kept = [i for i in ids if i not in skipped]
        if not kept:
            return ""
        self._ids.extend(kept)
        before = self._decode(self._ids[self._prefix : self._read])
        after = self._decode(self._ids[self._prefix :])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self._ids)
            return after[len(before) :]
        return ""

    def finish(self) -> str:
        """The text still held back when the ids end (an incomplete character is emitted as is)."""
        before = self._decode(self._ids[self._prefix : self._read])
        after = self._decode(self._ids[self._prefix :])
        self._prefix = self._read = len(self._ids)
        return after[len(before) :]
