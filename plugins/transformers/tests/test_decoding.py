"""The decoder's special-token rule on a small real tokenizer built here (tokenizers library, no
download): tool-call and channel markers that are special tokens stay in the text; end, beginning,
padding and role tokens do not."""

from __future__ import annotations

from typing import Any

import pytest

from modelplug_transformers.decoding import IncrementalDecoder, skipped_token_ids

WORDS = ["<unk>", "call", "f", "{}", "hello"]
#: Special tokens the tool-call parser reads, per family (Mistral, hermes-style, harmony, DeepSeek, Llama 3.1).
MARKERS = ["[TOOL_CALLS]", "<tool_call>", "</tool_call>", "<|channel|>", "<|message|>", "<|start|>", "<|end|>",
           "<｜tool▁calls▁begin｜>", "<｜tool▁call▁end｜>", "<|python_tag|>"]
#: Special tokens that frame turns (ChatML, Llama 3, Gemma, Mistral, DeepSeek's full-width bars).
ROLES = ["<|im_start|>", "<|eot_id|>", "<|start_header_id|>", "<end_of_turn>", "[INST]", "[/INST]",
         "<｜Assistant｜>", "<｜end▁of▁sentence｜>"]


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", eos_token="<|im_end|>", bos_token="<s>", pad_token="<pad>"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": MARKERS + ROLES})
    return tokenizer


def _ids(tokenizer: Any, tokens: list[str]) -> list[int]:
    ids = tokenizer.convert_tokens_to_ids(tokens)
    assert tokenizer.unk_token_id not in ids or tokens == ["<unk>"]
    return list(ids)


def test_markers_are_special_in_this_tokenizer(tokenizer: Any) -> None:
    special = set(tokenizer.all_special_ids)
    assert set(_ids(tokenizer, MARKERS + ROLES)) <= special


def test_skipped_ids_are_end_beginning_padding_unknown_and_roles_only(tokenizer: Any) -> None:
    skipped = skipped_token_ids(tokenizer, extra=[3, True, "x"])  # type: ignore[list-item]
    framing = {tokenizer.eos_token_id, tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.unk_token_id}
    assert skipped == framing | set(_ids(tokenizer, ROLES)) | {3}
    assert not skipped & set(_ids(tokenizer, MARKERS))


@pytest.mark.parametrize("marker", MARKERS)
def test_a_special_marker_reaches_the_text_and_role_tokens_do_not(tokenizer: Any, marker: str) -> None:
    tokens = ["<s>", "<|im_start|>", "hello", marker, "call", "f", "{}", "[/INST]", "<|eot_id|>", "<|im_end|>", "<pad>"]
    ids = _ids(tokenizer, tokens)
    decoder = IncrementalDecoder(tokenizer)
    pieces = [decoder.add([i]) for i in ids]
    text = "".join(pieces) + decoder.finish()
    assert text == f"hello {marker} call f {{}}"
    # what decoding with skip_special_tokens=True would have handed the parser: the marker lost
    assert marker not in tokenizer.decode(ids, skip_special_tokens=True)


def test_given_skip_set_is_used_as_is(tokenizer: Any) -> None:
    marker = tokenizer.convert_tokens_to_ids("[TOOL_CALLS]")
    decoder = IncrementalDecoder(tokenizer, skipped=frozenset({marker}))
    text = decoder.add(_ids(tokenizer, ["hello", "[TOOL_CALLS]", "<|im_start|>"])) + decoder.finish()
    assert text == "hello <|im_start|>"
