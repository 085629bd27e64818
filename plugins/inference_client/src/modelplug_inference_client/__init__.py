"""The ``inference-client`` provider: stream through huggingface_hub's ``InferenceClient``.

Model specs:

``inference-client:<model>`` with ``base_url``
    any OpenAI-compatible server (TGI, vLLM, ``transformers serve``, llama.cpp): the request goes to
    ``<base_url>/chat/completions`` (``/v1`` added when missing) with ``model`` in its body.
``inference-client:<hub model id>`` (optionally ``provider="together"`` ...)
    Hugging Face Inference Providers, routed by huggingface_hub (needs a token and the network).
``inference-client:https://<endpoint URL>``
    a deployed Inference Endpoint.

Model options: ``base_url``, ``token`` (or its alias ``api_key``; else ``HF_TOKEN`` or the saved
login), ``provider``, ``timeout`` (seconds), ``headers``, ``bill_to``, and modelplug's own:
``capabilities`` (a dict overriding the declared :class:`~modelplug.types.Capabilities`),
``max_retries`` (default 2), ``retry_backoff`` (seconds, default 0.5), ``retry_max_wait`` (seconds,
default 30).

A 200 with an empty body raises :class:`~modelplug.errors.ServerError` (retried like a 5xx).
huggingface_hub refuses every request while ``HF_HUB_OFFLINE=1``, even to a loopback ``base_url``:
loading a model then fails with a :class:`~modelplug.errors.ModelLoadError` that says so.
Async callers get ``AsyncInferenceClient`` (``agenerate_stream``). ``generate`` comes from the
core's aggregation of the stream.
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
