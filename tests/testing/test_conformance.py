"""The conformance kit passes an honest provider and fails each kind of lying one.

Each case runs the kit in an inner pytest session (``pytester``) against :mod:`tests.testing.providers`
with one defect switched on, and checks that exactly the checks that should catch it fail, with a
message that says what is wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.testing import providers

pytest_plugins = ["pytester"]

PROVIDERS_SOURCE = Path(providers.__file__).read_text(encoding="utf-8")

INNER_TEST = """
import pytest

from modelplug import _plugins as plugins
from modelplug.errors import ProviderConnectionError
from modelplug.testing import ErrorCase, ProviderConformance

import providers

NAME = {name!r}


@pytest.fixture(scope="module", autouse=True)
def _register():
    plugins.register_provider(NAME, providers.CharProvider(NAME, {defects!r}), replace=True)
    yield
    providers.RELEASE.set()
    plugins.unregister_provider(NAME)


class TestKit(ProviderConformance):
    model_spec = NAME + ":story"
    close_timeout = 1.0
    error_cases = (ErrorCase("connection refused", expected=ProviderConnectionError, options={{"fail": "connection"}}),)
"""

ALL_CHECKS = {
    "test_capabilities_are_declared",
    "test_generate_returns_an_assistant_message",
    "test_max_tokens_limits_the_answer",
    "test_stream_yields_deltas_as_generated",
    "test_stream_aggregate_equals_generate",
    "test_stream_usage_is_reported_and_not_double_counted",
    "test_stop_sequence_is_honoured_without_partial_leaks",
    "test_breaking_out_of_a_stream_stops_the_backend",
    "test_async_stream_equals_the_sync_stream",
    "test_async_streaming_is_declared_truly",
    "test_closing_or_cancelling_an_async_stream_stops_the_backend[aclose]",
    "test_closing_or_cancelling_an_async_stream_stops_the_backend[cancel]",
    "test_tool_calls_come_back_as_tool_call_objects",
    "test_forced_tool_choice_gives_a_call",
    "test_structured_output_follows_the_schema",
    "test_structured_output_is_json",
    "test_invalid_requests_are_refused_before_the_provider",
    "test_provider_errors_are_mapped",
}


def run_kit(pytester: pytest.Pytester, defects: frozenset[str]) -> dict[str, tuple[str, str]]:
    """Run the kit against the provider with ``defects``; ``{check: (outcome, failure text)}``."""
    name = "kit-" + ("-".join(sorted(defects)) or "honest").replace("_", "-")
    pytester.makepyfile(providers=PROVIDERS_SOURCE, test_inner=INNER_TEST.format(name=name, defects=set(defects) or ()))
    recorder = pytester.inline_run("-p", "no:cacheprovider", "-p", "no:asyncio")
    results: dict[str, tuple[str, str]] = {}
    for report in recorder.getreports("pytest_runtest_logreport"):
        check = report.nodeid.rsplit("::", 1)[-1]
        if report.when == "call" or report.outcome != "passed":
            results[check] = (report.outcome, report.longreprtext)
    return results


def test_the_kit_passes_an_honest_provider(pytester: pytest.Pytester) -> None:
    results = run_kit(pytester, frozenset())
    assert set(results) == ALL_CHECKS
    failed = {check: text for check, (outcome, text) in results.items() if outcome == "failed"}
    assert not failed, failed
    skipped = {check for check, (outcome, _) in results.items() if outcome == "skipped"}
    # the honest provider declares neither structured output nor forced tool choice
    assert skipped == {
        "test_structured_output_is_json",
        "test_structured_output_follows_the_schema",
        "test_forced_tool_choice_gives_a_call",
    }


CAUGHT = [
    ("single_delta", {"test_stream_yields_deltas_as_generated": "came in 1 content delta"}),
    ("no_stream_usage", {"test_stream_usage_is_reported_and_not_double_counted": "usage_in_stream=True is declared"}),
    ("undeclared_usage", {"test_stream_usage_is_reported_and_not_double_counted": "declare usage_in_stream=False"}),
    ("usage_increments", {"test_stream_usage_is_reported_and_not_double_counted": "counts 1 completion tokens"}),
    ("partial_stop_leak", {"test_stop_sequence_is_honoured_without_partial_leaks": "part of the stop sequence leaked"}),
    ("ignores_stop", {"test_stop_sequence_is_honoured_without_partial_leaks": "containing the stop sequence"}),
    (
        "ignores_close",
        {
            "test_breaking_out_of_a_stream_stops_the_backend": "threads still running",
            "test_closing_or_cancelling_an_async_stream_stops_the_backend[aclose]": "threads still running",
            "test_closing_or_cancelling_an_async_stream_stops_the_backend[cancel]": "threads still running",
        },
    ),
    ("async_undeclared", {"test_async_streaming_is_declared_truly": "declares async_streaming=False"}),
    ("async_blocks_loop", {"test_async_streaming_is_declared_truly": "the event loop was blocked"}),
    (
        "async_ignores_close",
        {
            "test_closing_or_cancelling_an_async_stream_stops_the_backend[aclose]": "threads still running",
            "test_closing_or_cancelling_an_async_stream_stops_the_backend[cancel]": "threads still running",
        },
    ),
    (
        "undeclared_tool_calls",
        {
            "test_generate_returns_an_assistant_message": "generate() returned tool calls",
            "test_stream_aggregate_equals_generate": "stream() returned tool calls",
        },
    ),
    ("text_tool_calls", {"test_tool_calls_come_back_as_tool_call_objects": "has no tool call"}),
    ("raw_errors", {"test_provider_errors_are_mapped": "expected ProviderConnectionError"}),
    (
        "stream_differs",
        {
            "test_stream_aggregate_equals_generate": "the streamed answer differs from generate()'s",
            "test_async_stream_equals_the_sync_stream": "agenerate() gave",
            "test_stop_sequence_is_honoured_without_partial_leaks": "generate(stop=",
            "test_tool_calls_come_back_as_tool_call_objects": "has no tool call",
        },
    ),
]


@pytest.mark.parametrize(("defect", "expected"), CAUGHT, ids=[defect for defect, _ in CAUGHT])
def test_the_kit_catches_a_lying_provider(pytester: pytest.Pytester, defect: str, expected: dict[str, str]) -> None:
    results = run_kit(pytester, frozenset({defect}))
    failed = {check: text for check, (outcome, text) in results.items() if outcome == "failed"}
    assert set(failed) == set(expected), f"{defect}: expected {sorted(expected)} to fail, not {sorted(failed)}"
    for check, message in expected.items():
        assert message in failed[check], failed[check]


def test_every_defect_is_covered() -> None:
    assert {defect for defect, _ in CAUGHT} == set(providers.DEFECTS)
