"""The ``example`` provider: a word-level Markov chain, the subject of the plugin tutorial.

It needs no weights, no network and no GPU: ``load`` trains the chain on a bundled public-domain
text (or on any text file) in milliseconds, and ``generate_stream`` walks it one token at a time.
It is small on purpose; read it next to ``docs/writing-a-plugin.md``.

Model specs:

``example:default``
    the bundled text (the Gettysburg Address, the opening of the Declaration of Independence and
    of *A Tale of Two Cities*).
``example:<path to a .txt file>``
    your own text.

Model option: ``order`` (int, 1 to 4, default 2), the number of tokens of context.
Generation options: ``max_tokens`` (default 200), ``temperature`` (0 is greedy; default 1),
``seed``, ``stop``.
"""

from __future__ import annotations

from modelplug_example.provider import agenerate_stream, capabilities, generate_stream, load, option_types, unload

__all__ = ["agenerate_stream", "capabilities", "generate_stream", "load", "option_types", "unload"]
