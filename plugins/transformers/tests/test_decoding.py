"""The decoder's special-token rule on small real tokenizers built here (tokenizers library, no
download): the special tokens the tool-call parser reads for the model's format
(:func:`modelplug.toolcalls.markers`) stay in the text; every other special token (end,
beginning, padding, role and turn tokens) does not."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.strategies import FAMILY, RENDER

from modelplug.toolcalls import markers, parse
from modelplug_transformers.decoding import IncrementalDecoder, skipped_token_ids

WORDS = ["<unk>", "call", "f", "{}", "hello"]
#: Special tokens the tool-call parser reads, per family (Mistral, hermes-style, harmony, DeepSeek,
#: Llama 3.1, Kimi K2, Kimi K3's parts of a longer marker).
MARKERS = ["[TOOL_CALLS]", "<tool_call>", "</tool_call>", "<|channel|>", "<|message|>", "<|start|>", "<|end|>",
           "<｜tool▁calls▁begin｜>", "<｜tool▁call▁end｜>", "<|python_tag|>", "<|eom_id|>",
           "<|tool_call_argument_begin|>", "<|sep|>", "<think>"]
#: Special tokens that frame turns (ChatML, Llama 3, Gemma, Mistral, DeepSeek's full-width bars, Kimi,
#: Cohere) or mean nothing to the parser.
ROLES = ["<|im_start|>", "<|eot_id|>", "<|start_header_id|>", "<end_of_turn>", "[INST]", "[/INST]",
         "<｜Assistant｜>", "<｜end▁of▁sentence｜>", "<|im_middle|>", "<|im_assistant|>", "<|END_OF_TURN_TOKEN|>",
         "<|fim_prefix|>", "<|constrain|>"]


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


def _byte_tokenizer(special: list[str], eos: str = "<|im_end|>") -> Any:
    """A byte-level BPE tokenizer without merges (it encodes any text, one token per byte) whose
    ``special`` tokens are added tokens marked special but not named in ``all_special_tokens``, as
    Llama 3's ``<|eom_id|>`` and Kimi's ``<|im_middle|>`` are in their tokenizers."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    backend = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token=eos)
    tokenizer.add_tokens([AddedToken(token, special=True, normalized=False) for token in special])
    return tokenizer


def _decoded(tokenizer: Any, ids: list[int], skipped: frozenset[int]) -> str:
    decoder = IncrementalDecoder(tokenizer, skipped)
    return "".join(decoder.add([i]) for i in ids) + decoder.finish()


def _ids(tokenizer: Any, tokens: list[str]) -> list[int]:
    ids = tokenizer.convert_tokens_to_ids(tokens)
    assert tokenizer.unk_token_id not in ids or tokens == ["<unk>"]
    return list(ids)


def test_markers_are_special_in_this_tokenizer(tokenizer: Any) -> None:
    special = set(tokenizer.all_special_ids)
    assert set(_ids(tokenizer, MARKERS + ROLES)) <= special


def test_skipped_ids_are_every_special_token_but_the_markers(tokenizer: Any) -> None:
    skipped = skipped_token_ids(tokenizer, extra=[3, True, "x"])  # type: ignore[list-item]
    framing = {tokenizer.eos_token_id, tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.unk_token_id}
    assert skipped == framing | set(_ids(tokenizer, ROLES)) | {3}
    assert not skipped & set(_ids(tokenizer, MARKERS))


def test_a_named_format_keeps_its_own_markers_only(tokenizer: Any) -> None:
    skipped = skipped_token_ids(tokenizer, format="hermes")
    kept = {t for t in MARKERS + ROLES if tokenizer.convert_tokens_to_ids(t) not in skipped}
    assert kept == {"<tool_call>", "</tool_call>", "<think>"}
    assert tokenizer.convert_tokens_to_ids("<|sep|>") not in skipped_token_ids(tokenizer, format="kimi_k3")


@pytest.mark.parametrize("marker", MARKERS)
def test_a_special_marker_reaches_the_text_and_role_tokens_do_not(tokenizer: Any, marker: str) -> None:
    tokens = ["<s>", "<|im_start|>", "hello", marker, "call", "f", "{}", "[/INST]", "<|eot_id|>", "<|im_middle|>",
              "<|END_OF_TURN_TOKEN|>", "<|im_end|>", "<pad>"]
    ids = _ids(tokenizer, tokens)
    assert _decoded(tokenizer, ids, skipped_token_ids(tokenizer)) == f"hello {marker} call f {{}}"
    # what decoding with skip_special_tokens=True would have handed the parser: the marker lost
    assert marker not in tokenizer.decode(ids, skip_special_tokens=True)


def test_given_skip_set_is_used_as_is(tokenizer: Any) -> None:
    marker = tokenizer.convert_tokens_to_ids("[TOOL_CALLS]")
    decoder = IncrementalDecoder(tokenizer, skipped=frozenset({marker}))
    text = decoder.add(_ids(tokenizer, ["hello", "[TOOL_CALLS]", "<|im_start|>"])) + decoder.finish()
    assert text == "hello <|im_start|>"


def test_llama_eom_is_kept_for_the_llama_formats_though_it_ends_the_generation() -> None:
    """Llama 3.1 ends a built-in tool call with ``<|eom_id|>``, one of the model's end ids; raw code
    ending in it is a code_interpreter call, so the decoder keeps it for the formats that read it."""
    tokenizer = _byte_tokenizer(["<|python_tag|>", "<|eom_id|>", "<|start_header_id|>"], eos="<|eot_id|>")
    eom, eot = tokenizer.convert_tokens_to_ids(["<|eom_id|>", "<|eot_id|>"])
    ids = tokenizer.encode("<|start_header_id|><|python_tag|>import math\nprint(math.pi)<|eom_id|>",
                           add_special_tokens=False)
    assert eom in ids and tokenizer.all_special_tokens == ["<|eot_id|>"]
    for format in ("llama3_json", "llama3_python_tag"):
        text = _decoded(tokenizer, ids, skipped_token_ids(tokenizer, [eom, eot], format))
        assert text == "<|python_tag|>import math\nprint(math.pi)<|eom_id|>"
        assert [(c.name, c.arguments) for c in parse(text, format).tool_calls] == [
            ("code_interpreter", {"code": "import math\nprint(math.pi)"})
        ]
    # a format that does not read it, and detection (which cannot tell an end id is markup), leave it out
    assert eom in skipped_token_ids(tokenizer, [eom, eot], "hermes")
    assert eom in skipped_token_ids(tokenizer, [eom, eot], None)


#: Substrings of the rendered texts that tokenizers make special tokens (``<|x|>``, ``<｜x｜>``,
#: ``[X]``, Gemma's ``<|x>`` / ``<x|>``, tags without attributes).
_TOKEN = re.compile(
    r"<\|[^<>|\n]{1,48}\|>|<｜[^｜\n]{1,48}｜>|\[[A-Z_]{2,24}\]|<\|[\w\"]{1,32}>|<[\w\"]{1,32}\|>|</?[A-Za-z_:|]{1,40}>"
)


def _specials(text: str) -> list[str]:
    """The pieces of ``text`` a tokenizer would make special tokens: every ``<|x|>``, ``<｜x｜>``,
    ``[X]`` and Gemma-like piece, and tags some format reads (``<div>`` in a value is text)."""
    every = markers(None)
    return sorted({t for t in _TOKEN.findall(text) if not t.startswith("<") or "|" in t or "｜" in t
                   or any(t in marker for marker in every)})


_ARGUMENTS = {"json": {"a": 1, "s": "x, y}"}, "python": {"a": 1, "s": "x, y"}, "xml": {"a": "1", "s": "x, y"},
              "atem": {"a": "1", "s": "x, y"},
              "gemma": {"a": 1, "s": "x, y}"}, "harmony": {"a": 1}}
_TURN = ("<|im_start|>", "<|im_middle|>", "<|im_end|>", "<|END_OF_TURN_TOKEN|>")


@pytest.mark.parametrize("format", sorted(FAMILY))
def test_every_format_reads_the_same_calls_from_the_decoded_text(format: str) -> None:
    """Every format's text, with each marker-like piece and the turn tokens special, decoded with the
    format's skip set: the parser reads the same calls and content as from the text the model wrote,
    and no turn token is left in it."""
    arguments = _ARGUMENTS.get(FAMILY[format], {"a": "1", "s": "x, y"})
    if format == "minimax_m3":
        # its parameters are elements named by their key: `</s>` would be GigaChat 3's `</s>`, a
        # special token in this test's tokenizer, which a MiniMax-M3 tokenizer does not have
        arguments = {"a": "1", "city": "x, y"}
    calls = [("f", arguments), ("g", arguments)]
    written = RENDER[format](calls, "Before.", "After.")
    tokenizer = _byte_tokenizer(sorted({*_specials(written), *_TURN}))
    ids = tokenizer.encode(f"<|im_start|>assistant<|im_middle|>{written}<|END_OF_TURN_TOKEN|><|im_end|>",
                           add_special_tokens=False)
    text = _decoded(tokenizer, ids, skipped_token_ids(tokenizer, [tokenizer.eos_token_id], format))
    assert not any(turn in text for turn in _TURN)
    expected, got = parse("assistant" + written, format), parse(text, format)
    assert [(c.name, c.arguments) for c in got.tool_calls] == [(c.name, c.arguments) for c in expected.tool_calls]
    assert [c.name for c in got.tool_calls] == ["f", "g"]
    assert got.content == expected.content
    assert got.reasoning_content == expected.reasoning_content
    # the rule is the markers' data: every special token kept is inside one of them
    kept = {t for t in _TOKEN.findall(text)} & set(tokenizer.get_added_vocab())
    assert all(any(t in m for m in markers(format)) for t in kept)


def _cases() -> list[Any]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "tests" / "data" / "toolcall_cases.jsonl"
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [pytest.param(case["format"], case["text"], id=case["id"]) for case in cases]


def _outcome(text: str, format: str) -> Any:
    from modelplug.errors import ToolCallParseError

    try:
        result = parse(text, format)
    except ToolCallParseError as error:
        return "error", [(c.name, c.arguments) for c in error.tool_calls]
    return result.content, [(c.name, c.arguments) for c in result.tool_calls]


@pytest.mark.parametrize(("format", "written"), _cases())
def test_every_fixture_case_reads_the_same_from_the_decoded_text(format: str, written: str) -> None:
    """The fixture texts (from vLLM's and SGLang's parser tests, bug reports), every marker-like
    piece special: decoded with the format's skip set, the parser reads what it reads from the
    text as written, less only the special tokens no reader needs."""
    tokenizer = _byte_tokenizer(_specials(written))
    ids = tokenizer.encode(written, add_special_tokens=False)
    text = _decoded(tokenizer, ids, skipped_token_ids(tokenizer, [tokenizer.eos_token_id], format))
    dropped = set(_specials(written)) - set(_TOKEN.findall(text))
    assert not any(token in marker for token in dropped for marker in markers(format))
    expected = _outcome(written, format)
    got = _outcome(text, format)
    assert got[1] == expected[1]
    assert (got[0] == "error") == (expected[0] == "error")
