"""The HTTP fault suite (modelplug.testing.faults) against the inference-client provider."""

from __future__ import annotations

from modelplug.testing.faults import HTTPFaultSuite


class TestInferenceClientFaults(HTTPFaultSuite):
    xfail_faults = {  # noqa: RUF012 (read only)
        "invalid-utf8": "huggingface_hub decodes stream lines with errors='replace' (httpx iter_lines): "
        "invalid UTF-8 arrives as U+FFFD and cannot be seen (the README says so)"
    }

    spec = "inference-client:{fault}"
    model_options = {"token": "hf_faulttest0000"}  # noqa: RUF012 (read only)
