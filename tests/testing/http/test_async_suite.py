"""The async HTTP fault suite (:mod:`modelplug.testing.http.async_suite`) catches a provider whose
``agenerate_stream`` loses the kind of each fault: the suite runs in an inner pytest session
(``pytester``) against the documented kit provider with its errors flattened to a bare
``ProviderError`` (:mod:`tests.testing.flat_provider`).
(The honest kit provider passing both fault suites: ``tests/servers/test_kit_provider.py``; the
sync suite: ``tests/testing/test_faults.py``.)"""

from __future__ import annotations

import pytest

from modelplug.testing.faults import EXPECTED
from tests.testing.inner_session import fault_outcomes

pytest_plugins = ["pytester"]

INNER = """
from modelplug.testing.http.async_suite import AsyncHTTPFaultSuite
from tests.testing.inner_session import registered  # noqa: F401  (the fixture)


class TestFlatAsync(AsyncHTTPFaultSuite):
    spec = "flat:{fault}"
    model_options = {"api_key": "sk-flat-0000"}
"""


def test_an_async_stream_that_flattens_its_errors_fails_exactly_the_faults_that_have_a_kind(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_inner=INNER)
    only = "async_fault_gives_the_typed_error"
    recorder = pytester.inline_run("-p", "no:cacheprovider", "-p", "no:asyncio", "-k", only)
    failed, passed = fault_outcomes(recorder)
    assert failed == {fault for fault, kind in EXPECTED.items() if kind is not None}
    assert passed == {fault for fault, kind in EXPECTED.items() if kind is None}
