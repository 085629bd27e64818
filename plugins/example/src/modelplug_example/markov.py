"""The backend: a word-level Markov chain, trained in milliseconds on a text file.

A token is a word or a punctuation mark with the whitespace before it (``" nation"``, ``","``), so
joining tokens gives back the text. The chain maps the last ``order`` tokens to the tokens that
followed them in the text, with counts. Generation starts where the prompt's last known word
first occurs in the text and walks the chain: the most frequent next token at temperature 0,
otherwise a draw weighted by ``count ** (1 / temperature)`` from a ``random.Random(seed)``.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

__all__ = ["MarkovChain", "tokenize"]

_TOKEN = re.compile(r"\s*(?:[\w'-]+|[^\w\s])")
_START = "<s>"


def tokenize(text: str) -> list[str]:
    """Split ``text`` into tokens (words and punctuation, each with its leading whitespace)."""
    return _TOKEN.findall(text)


def _key(tokens: list[str]) -> tuple[str, ...]:
    return tuple(token.strip() for token in tokens)


class MarkovChain:
    """A Markov chain of ``order`` tokens over the text of ``path`` (lines starting with ``#`` are skipped)."""

    def __init__(self, path: Path, order: int = 2) -> None:
        text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))
        self.order = order
        self.tokens = [_START] * order + tokenize(text.strip())
        self.next: dict[tuple[str, ...], dict[str, int]] = defaultdict(dict)
        self.first: dict[str, int] = {}  # lower-cased word -> index of its first occurrence
        for i in range(order, len(self.tokens)):
            followers = self.next[_key(self.tokens[i - order : i])]
            followers[self.tokens[i]] = followers.get(self.tokens[i], 0) + 1
            self.first.setdefault(self.tokens[i].strip().lower(), i)
        if len(self.tokens) == order:
            raise ValueError(f"{path} holds no text")

    def start(self, prompt: str) -> list[str]:
        """The state to continue from: after the first occurrence of the prompt's last known word."""
        for token in reversed(tokenize(prompt)):
            index = self.first.get(token.strip().lower())
            if index is not None:
                return self.tokens[index + 1 - self.order : index + 1]
        return self.tokens[: self.order]

    def generate(self, prompt: str, temperature: float, seed: int | None) -> Iterator[str]:
        """Yield tokens one at a time until the chain reaches the end of the text (forever at most)."""
        rng = random.Random(seed)
        state = self.start(prompt)
        while followers := self.next.get(_key(state)):
            if temperature == 0:
                token = max(followers, key=followers.__getitem__)  # ties: the first seen
            else:
                weights = [count ** (1 / temperature) for count in followers.values()]
                token = rng.choices(list(followers), weights)[0]
            yield token
            state = [*state[1:], token]
