"""The conformance kit (:class:`~modelplug.testing.ProviderConformance`) for an HTTP provider,
against ``transformers serve`` on the embedded model on 127.0.0.1 (the ``transformers_server``
fixture of :mod:`modelplug.testing.http.fixtures`), plus a refused connection."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from modelplug._load import load_model
from modelplug._model import Model
from modelplug.errors import ProviderConnectionError
from modelplug.testing.conformance import ErrorCase, ProviderConformance

__all__ = ["TRANSFORMERS_SERVE_CAPABILITIES", "TransformersServeConformance"]

#: What ``transformers serve`` really does, as the ``capabilities`` override: it ignores ``stop``
#: and ``response_format`` (which an HTTP provider declares by default, for servers that honour them).
TRANSFORMERS_SERVE_CAPABILITIES: dict[str, Any] = {"stop_sequences": False, "structured_output": False}
#: A port nothing listens on.
REFUSED_URL = "http://127.0.0.1:9/v1"


class TransformersServeConformance(ProviderConformance):
    """Set :attr:`spec` (``"myprovider:{model}"``), :attr:`url_option` and :attr:`client_options`;
    the model is loaded with ``{url_option: <server URL>, **client_options}`` and
    :data:`TRANSFORMERS_SERVE_CAPABILITIES`, and ``error_cases`` checks a refused connection.

    Attributes:
        spec: the model spec with ``{model}`` where the served model's name goes.
        url_option: the model option that takes the base URL (``base_url``, ``api_base``).
        client_options: other model options (an ``api_key``, ...).
    """

    max_tokens = 32
    expect_tool_call = False  # SmolLM2-135M rarely calls a tool; calls it does make are still checked
    spec: ClassVar[str] = ""
    url_option: ClassVar[str] = "base_url"
    client_options: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.spec and "error_cases" not in vars(cls):
            options = {cls.url_option: REFUSED_URL, **cls.client_options, "max_retries": 0}
            spec = cls.spec.format(model="model")
            cls.error_cases = (ErrorCase("connection refused", ProviderConnectionError, spec, options),)

    @classmethod
    def context(cls) -> contextlib.AbstractContextManager[Any]:
        """What the model is loaded and used in, for the whole class (default: nothing), e.g. a
        client library's offline mode turned off."""
        return contextlib.nullcontext()

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_model(cls, transformers_server: Any) -> Iterator[Model]:
        options = {cls.url_option: transformers_server.url, **cls.client_options}
        spec = cls.spec.format(model=transformers_server.model_name)
        with cls.context(), load_model(spec, **options, capabilities=TRANSFORMERS_SERVE_CAPABILITIES) as model:
            yield model
