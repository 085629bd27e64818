"""The InferenceClient provider passes the conformance kit against ``transformers serve`` on 127.0.0.1."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from modelplug.testing.http.conformance import TransformersServeConformance

pytestmark = pytest.mark.slow


class TestInferenceClientConformance(TransformersServeConformance):
    spec = "inference-client:{model}"
    client_options = {"api_key": "hf_conformance0000"}  # noqa: RUF012 (read only)

    @classmethod
    @contextlib.contextmanager
    def context(cls) -> Iterator[None]:
        """Offline mode refuses even 127.0.0.1 (see conftest.py): off for the whole class."""
        from huggingface_hub import constants

        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("HF_HUB_OFFLINE", raising=False)
            patch.setattr(constants, "HF_HUB_OFFLINE", False)
            yield
