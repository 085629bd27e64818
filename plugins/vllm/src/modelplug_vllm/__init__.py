"""The ``vllm`` provider: vLLM's engine in this process, with real token streaming.

Model specs: ``vllm:<Hugging Face id or local folder>``, with vLLM's engine options as model options::

    model = modelplug.load_model("vllm:/models/smollm2", dtype="float32", max_model_len=2048,
                                 enforce_eager=True, kv_cache_memory_bytes=512 * 2**20)
    for delta in model.stream("What is the capital of France?"):
        ...
    model.close()     # shuts the engine down and frees its memory (GPU memory too)

Every ``AsyncEngineArgs`` field is accepted as a model option (``gpu_memory_utilization``,
``tensor_parallel_size``, ``quantization``, ...). The provider's own options: ``tool_parser`` (the
name of one of vLLM's tool parsers, e.g. ``"hermes"``: tool calls are then parsed by vLLM, also while
streaming), ``tool_parser_plugin`` (a file registering a custom parser) and ``chat_template_kwargs``
(passed to the chat template, e.g. ``{"enable_thinking": False}``).

Generation options map onto ``SamplingParams`` (``max_tokens``, ``temperature``, ``top_p``, ``seed``,
``stop``; ``response_format`` → structured output; other keyword options such as ``top_k`` pass
through). ``generate``, ``generate_stream`` and ``agenerate_stream`` (``Model.astream``: native async,
no thread per stream) run on one ``AsyncLLM`` per model, whose event loop lives in a background thread.

Importing this package does not import vLLM (that takes seconds); loading a model does. On vLLM's
CPU build the engine starts in spawned processes: keep a script's code under
``if __name__ == "__main__":``.
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
