"""``modelplug.testing.http.conformance``: what a subclass of the HTTP conformance kit gets (its
refused-connection error case, built from its own options), checked against real providers; the kit
itself runs against ``transformers serve`` in each HTTP plugin's tests."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from modelplug import load_model
from modelplug.errors import ProviderConnectionError
from modelplug.testing.conformance import ErrorCase
from modelplug.testing.http.conformance import (
    REFUSED_URL,
    TRANSFORMERS_SERVE_CAPABILITIES,
    TransformersServeConformance,
)


class _OpenAI(TransformersServeConformance):
    __test__ = False
    spec = "openai:{model}"
    client_options: ClassVar[dict[str, Any]] = {"api_key": "sk-test-conformance"}


class _OwnCases(TransformersServeConformance):
    __test__ = False
    spec = "openai:{model}"
    error_cases = (ErrorCase("mine"),)


def test_a_subclass_gets_a_refused_connection_case_with_its_own_options() -> None:
    [case] = _OpenAI.error_cases
    assert case.expected is ProviderConnectionError
    assert case.spec == "openai:model"
    assert case.model_options == {"base_url": REFUSED_URL, "api_key": "sk-test-conformance", "max_retries": 0}


def test_error_cases_a_subclass_declares_are_kept() -> None:
    assert [case.id for case in _OwnCases.error_cases] == ["mine"]


def test_the_refused_connection_case_really_raises_its_error() -> None:
    [case] = _OpenAI.error_cases
    assert case.spec is not None and case.model_options is not None
    with load_model(case.spec, **case.model_options) as model, pytest.raises(case.expected) as raised:
        model.generate("hi")
    assert raised.value.provider == "openai"


def test_the_capabilities_override_is_what_transformers_serve_does() -> None:
    with load_model("openai:m", base_url=REFUSED_URL, capabilities=TRANSFORMERS_SERVE_CAPABILITIES) as model:
        assert model.capabilities.stop_sequences is False
        assert model.capabilities.structured_output is False
        assert model.capabilities.streaming is True
