"""The example provider passes the conformance kit."""

from __future__ import annotations

from modelplug.errors import InvalidOptionError, ModelLoadError
from modelplug.testing import ErrorCase, ProviderConformance


class TestExampleConformance(ProviderConformance):
    model_spec = "example:default"
    error_cases = (
        ErrorCase("missing text file", expected=ModelLoadError, spec="example:/no/such/corpus.txt"),
        ErrorCase("order out of range", expected=InvalidOptionError, model_options={"order": 9}),
    )
