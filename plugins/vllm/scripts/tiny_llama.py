"""Build a randomly initialised Llama model with its own tokenizer, offline, into a folder vLLM can serve.

Usage::

    python plugins/vllm/scripts/tiny_llama.py OUTPUT_FOLDER [--size tiny|small] [--dtype float32|bfloat16]

Nothing is downloaded: the tokenizer is a byte-level BPE trained here (``tokenizers``) on generated
ASCII text, with ChatML special tokens and chat template; the model is a ``LlamaForCausalLM`` with
random weights (``transformers``). Its answers are noise (but ASCII, and not looping), and the engine
does the same work as for a real model of that shape, so it serves the plugin's structural tests and
throughput comparisons on machines without network. Only ASCII text can be tokenized (other
characters become ``<|endoftext|>``).

Sizes: ``tiny`` (hidden 256, 4 layers: about 3 M parameters; for CPUs) and ``small`` (hidden 1024,
16 layers, 16 heads: about 220 M parameters, like a small real model; for GPUs). Context: 2048.
"""

from __future__ import annotations

import argparse
import itertools
import random
from pathlib import Path

SIZES = {
    "tiny": {"hidden_size": 256, "intermediate_size": 704, "num_hidden_layers": 4, "num_attention_heads": 4},
    "small": {"hidden_size": 1024, "intermediate_size": 2816, "num_hidden_layers": 16, "num_attention_heads": 16},
}
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_ENGLISH = (
    "the capital of France is Paris a city on river Seine weather sunny rain cloud tool call name arguments "
    "city get_weather json object key value true false null lighthouse keeper message bottle story robot paint "
    "what is where who how why when tell me about long short answer question please thank you"
)
WORDS = _ENGLISH.split()


SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def corpus(lines: int = 20000, seed: int = 0) -> list[str]:
    """Generated sentences (English words and made-up ones, so the vocabulary can grow to thousands of
    tokens) plus JSON and tool-call shaped lines, so that those strings get merges."""
    rng = random.Random(seed)
    made_up = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(6000)]
    text = []
    for number in range(lines):
        words = " ".join(rng.choice(WORDS if rng.random() < 0.4 else made_up) for _ in range(rng.randint(4, 16)))
        text.append(words.capitalize() + rng.choice([".", "?", "!", ","]))
        if number % 10 == 0:
            text.append('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>')
            text.append('{"city": "Paris", "temperature": 21, "sunny": true}')
    return text


def build_tokenizer(vocab_size: int) -> object:
    """A ``PreTrainedTokenizerFast`` with a byte-level BPE vocabulary and ChatML."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<|endoftext|>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        show_progress=False,
    )
    tokenizer.train_from_iterator(itertools.chain(corpus()), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        unk_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build(output: Path, size: str = "tiny", dtype: str = "float32", vocab_size: int = 4096, seed: int = 0) -> Path:
    """Write the tokenizer, config, generation config and random weights to ``output``; return it."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    tokenizer = build_tokenizer(vocab_size)
    vocab = len(tokenizer)  # type: ignore[arg-type]
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")  # type: ignore[attr-defined]
    config = LlamaConfig(
        vocab_size=vocab,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|im_start|>"),  # type: ignore[attr-defined]
        eos_token_id=eos,
        pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),  # type: ignore[attr-defined]
        tie_word_embeddings=True,
        initializer_range=0.1,  # the default 0.02 makes greedy answers loop ("ojaiojai..."): no stop sequence to pick
        **SIZES[size],
    )
    model = LlamaForCausalLM(config).to(getattr(torch, dtype))
    model.generation_config = GenerationConfig(bos_token_id=config.bos_token_id, eos_token_id=eos)
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)  # type: ignore[attr-defined]
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    args = parser.parse_args()
    print(build(args.output, args.size, args.dtype))


if __name__ == "__main__":
    main()
