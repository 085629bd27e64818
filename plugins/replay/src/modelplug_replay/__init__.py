"""The ``replay`` provider: streams recorded chat-completion chunks instead of running a model.

Model specs:

``replay:<path>``
    A JSONL file. Each line is one ``chat.completion.chunk`` dict, or ``"[DONE]"``, which ends a
    response; or each line is a whole recorded case ``{"id": ..., "chunks": [...]}`` (the shape of
    ``stream_cases.jsonl``), one response per line.
``replay:<any label>`` with the ``responses`` option
    ``responses`` is a list; each item is one response: a string (streamed in word-sized pieces),
    a list of chunk dicts, or an assistant message dict / :class:`~modelplug.types.ChatMessage`.

Details: docs/providers/replay.md, "Playing and options".
"""

from __future__ import annotations

from modelplug_replay.provider import agenerate_stream, capabilities, generate_stream, load, option_types

__all__ = ["agenerate_stream", "capabilities", "generate_stream", "load", "option_types"]
