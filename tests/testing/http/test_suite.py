"""The HTTP provider suite (:mod:`modelplug.testing.http.suite`) catches a provider that loses the
kind of its errors: the suite's error checks run in an inner pytest session (``pytester``) against
the replay server and the kit provider with its errors flattened to a bare ``ProviderError``
(:mod:`tests.testing.flat_provider`), and every one of them fails; the streams themselves pass."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = """
from typing import Any

import modelplug
from modelplug.testing.http.fixtures import replay_server  # noqa: F401
from modelplug.testing.http.suite import HttpProviderSuite
from tests.testing.inner_session import registered  # noqa: F401  (the fixture)


class TestFlat(HttpProviderSuite):
    provider = "flat"

    def load(self, base_url: str, model: str = "replay", **options: Any) -> modelplug.Model:
        return modelplug.load_model(f"flat:{model}", base_url=base_url, api_key=self.api_key, **options)
"""

ERROR_CHECKS = "error_statuses_map_to_typed_errors or client_timeout_is_a_timeout or refused_connection"


def test_a_provider_that_flattens_its_errors_fails_every_error_check_and_passes_the_streams(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_inner=INNER)
    errors = pytester.inline_run("-p", "no:cacheprovider", "-p", "no:asyncio", "-k", ERROR_CHECKS)
    passed, skipped, failed = errors.listoutcomes()
    assert len(failed) == 10 + 2 and not passed and not skipped  # ten statuses, the timeout, the refusal
    streams = pytester.inline_run("-p", "no:cacheprovider", "-p", "no:asyncio", "-k", "deltas_arrive_incrementally")
    streams.assertoutcome(passed=1)
