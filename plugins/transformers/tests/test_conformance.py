"""The Transformers provider passes the conformance kit on the embedded model (CPU)."""

from __future__ import annotations

from typing import Any

import pytest

from modelplug.errors import ModelLoadError
from modelplug.testing import ErrorCase, ProviderConformance

pytestmark = pytest.mark.slow


class TestTransformersConformance(ProviderConformance):
    max_tokens = 32
    expect_tool_call = False  # SmolLM2-135M rarely calls a tool; calls it does make are still checked
    error_cases = (ErrorCase("missing model folder", expected=ModelLoadError, spec="transformers:/no/such/model"),)

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_model(cls, model: Any) -> Any:
        return model  # the session's embedded model (conftest.py), loaded once
