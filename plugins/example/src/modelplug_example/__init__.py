"""The ``example`` provider: a word-level Markov chain, the subject of the plugin tutorial.

It needs no weights, no network and no GPU: ``load`` trains the chain on a bundled public-domain
text (or on any text file) in milliseconds, and ``generate_stream`` walks it one token at a time.
It is small on purpose; read it next to ``docs/writing-a-plugin.md``.

Details: docs/providers/example.md, "Specs and options".
"""

from __future__ import annotations

from modelplug_example.provider import agenerate_stream, capabilities, generate_stream, load, option_types, unload

__all__ = ["agenerate_stream", "capabilities", "generate_stream", "load", "option_types", "unload"]
