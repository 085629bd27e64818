"""The ``inference-client`` provider: stream through huggingface_hub's ``InferenceClient``.

Model specs:

``inference-client:<model>`` with ``base_url``
    any OpenAI-compatible server (TGI, vLLM, ``transformers serve``, llama.cpp): the request goes to
    ``<base_url>/chat/completions`` (``/v1`` added when missing) with ``model`` in its body.
``inference-client:<hub model id>`` (optionally ``provider="together"`` ...)
    Hugging Face Inference Providers, routed by huggingface_hub (needs a token and the network).
``inference-client:https://<endpoint URL>``
    a deployed Inference Endpoint.

Details: docs/providers/inference-client.md, "Options and behaviour".
"""

from __future__ import annotations

from modelplug_inference_client.provider import (
    agenerate_stream,
    capabilities,
    generate_stream,
    load,
    option_types,
    unload,
)

__all__ = ["agenerate_stream", "capabilities", "generate_stream", "load", "option_types", "unload"]
