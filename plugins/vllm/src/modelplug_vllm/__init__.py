"""The ``vllm`` provider: vLLM's engine in this process, with real token streaming.

Model specs: ``vllm:<Hugging Face id or local folder>``, with vLLM's engine options as model options::

    model = modelplug.load_model("vllm:/models/smollm2", dtype="float32", max_model_len=2048,
                                 enforce_eager=True, kv_cache_memory_bytes=512 * 2**20)
    for delta in model.stream("What is the capital of France?"):
        ...
    model.close()     # shuts the engine down and frees its memory (GPU memory too)

Details: docs/providers/vllm.md, "Options and engine".
"""

from __future__ import annotations

from modelplug_vllm.provider import (
    agenerate_stream,
    capabilities,
    generate,
    generate_stream,
    load,
    option_types,
    parse_tool_calls,
    unload,
)

__all__ = [
    "agenerate_stream",
    "capabilities",
    "generate",
    "generate_stream",
    "load",
    "option_types",
    "parse_tool_calls",
    "unload",
]
