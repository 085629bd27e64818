"""The HTTP fault suite (:mod:`modelplug.testing.faults`) catches a provider that loses the kind of
each fault: the suite runs in an inner pytest session (``pytester``) against the documented kit
provider (:mod:`tests.servers.kit_provider`) with its errors flattened to a bare ``ProviderError``.
(The honest kit provider passing both fault suites: ``tests/servers/test_kit_provider.py``.)"""

from __future__ import annotations

import pytest

from modelplug.testing.faults import EXPECTED

pytest_plugins = ["pytester"]

FLATTENING = """
import modelplug
from modelplug.errors import ProviderError
from tests.servers import kit_provider

# every hook but generate_stream is the kit provider's own
capabilities, load, option_types, unload = (
    kit_provider.capabilities, kit_provider.load, kit_provider.option_types, kit_provider.unload
)


@modelplug.hookimpl
def generate_stream(state, messages, options):
    try:
        yield from kit_provider.generate_stream(state, messages, options)
    except ProviderError as error:
        raise ProviderError(str(error), provider="flat") from None
"""

INNER = """
import sys
from collections.abc import Iterator

import pytest

from modelplug import _plugins as plugins
from modelplug.testing.faults import HTTPFaultSuite

import flat


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    plugins.register_provider("flat", flat)
    yield
    plugins.unregister_provider("flat")


class TestFlat(HTTPFaultSuite):
    spec = "flat:{fault}"
    model_options = {"api_key": "sk-flat-0000"}
"""


def test_a_provider_that_flattens_its_errors_fails_exactly_the_faults_that_have_a_kind(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(flat=FLATTENING, test_inner=INNER)
    recorder = pytester.inline_run("-p", "no:cacheprovider", "-p", "no:asyncio", "-k", "typed_error")
    failed = {report.nodeid.rsplit("[", 1)[1].rstrip("]") for report in recorder.getfailures() if report.when == "call"}
    passed = {
        report.nodeid.rsplit("[", 1)[1].rstrip("]")
        for report in recorder.getreports("pytest_runtest_logreport")
        if report.when == "call" and report.passed
    }
    assert failed == {fault for fault, kind in EXPECTED.items() if kind is not None}
    assert passed == {fault for fault, kind in EXPECTED.items() if kind is None}
