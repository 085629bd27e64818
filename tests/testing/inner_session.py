"""What the inner pytest sessions (``pytester``) of the suite tests share: the ``flat`` provider
registered around each inner test, and the outcome of each parametrized fault."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from modelplug import _plugins as plugins
from tests.testing import flat_provider


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    """:mod:`tests.testing.flat_provider` registered as ``flat`` (import this into an inner test module)."""
    plugins.register_provider("flat", flat_provider)
    yield
    plugins.unregister_provider("flat")


def fault_outcomes(recorder: Any) -> tuple[set[str], set[str]]:
    """The parameter ids (``test_x[<fault>]``) of the inner session's failed and passed calls."""

    def fault(report: Any) -> str:
        return str(report.nodeid).rsplit("[", 1)[1].rstrip("]")

    reports = [report for report in recorder.getreports("pytest_runtest_logreport") if report.when == "call"]
    return {fault(r) for r in reports if r.failed}, {fault(r) for r in reports if r.passed}
