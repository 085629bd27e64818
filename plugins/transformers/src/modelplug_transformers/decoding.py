"""Token ids to text: which special tokens the text keeps, and incremental decoding.

The decoder keeps special tokens that are tool-call or channel markers (``[TOOL_CALLS]``,
``<tool_call>``, harmony's ``<|channel|>``...) in the text, for the tool-call parser, and leaves
out only end, beginning, padding and role/turn tokens, as vLLM does. The set of ids to leave out
is worked out once per model (:func:`skipped_token_ids`, at load); decoding then costs what it
cost with ``skip_special_tokens=True``. The rule is in ``docs/providers/transformers.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

__all__ = ["IncrementalDecoder", "skipped_token_ids"]

#: Special tokens that frame turns or roles rather than say anything, matched on the token's text
#: (ChatML, Llama 3, Gemma, Granite, Mistral, DeepSeek's full-width bars, Phi, and the usual
#: beginning/end/padding names). Tool-call and channel markers are deliberately absent.
_ROLE_TOKEN: Final = re.compile(
    r"<[|｜](?:im_start|im_end|im_sep|endoftext|eot_id|eom_id|begin_of_text|end_of_text|start_header_id"
    r"|end_header_id|start_of_role|end_of_role|system|user|assistant|begin▁of▁sentence|end▁of▁sentence"
    r"|pad▁?|PAD|User|Assistant)[|｜]>"
    r"|</?s>|<(?:start|end)_of_turn>|<(?:pad|unk|eos|bos|mask)>|\[/?(?:INST|SYSTEM_PROMPT)\]"
)


def skipped_token_ids(tokenizer: Any, extra: Iterable[int] = ()) -> frozenset[int]:
    """The ids the decoder leaves out of the text, worked out once per tokenizer.

    They are the tokenizer's end-of-sequence, beginning, padding and unknown ids, ``extra`` (the
    model's own end ids from its generation config), and the ids of its special tokens whose text
    marks a role or a turn (``<|im_start|>``, ``<|eot_id|>``, ``<end_of_turn>``, ``[INST]``...).
    Every other special token is kept as text. Looks up the special tokens only, never the whole
    vocabulary.

    Args:
        tokenizer: a Transformers tokenizer.
        extra: more ids to leave out (ints; anything else is ignored).

    Returns:
        The ids to drop before decoding.
    """
    ids: set[Any] = {getattr(tokenizer, name, None) for name in ("eos_token_id", "bos_token_id", "pad_token_id")}
    ids.add(getattr(tokenizer, "unk_token_id", None))
    ids.update(extra)
    roles = [token for token in tokenizer.all_special_tokens if _ROLE_TOKEN.fullmatch(token)]
    if roles:
        ids.update(tokenizer.convert_tokens_to_ids(roles))
    return frozenset(i for i in ids if isinstance(i, int) and not isinstance(i, bool))


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
