"""The conformance kit: checks a provider plugin runs against its own provider.

A provider package subclasses :class:`ProviderConformance` in its tests and names its model;
pytest then runs every check against it::

    # tests/test_conformance.py of a provider package
    from modelplug.testing import ErrorCase, ProviderConformance

    class TestConformance(ProviderConformance):
        model_spec = "example:default"
        error_cases = [ErrorCase("missing corpus", spec="example:/no/such/file.txt")]

The checks follow what the provider *declares* (:class:`~modelplug.types.Capabilities`): streaming
yields many deltas and aggregates to ``generate``'s answer; usage comes when declared, once or as
cumulative snapshots; stop sequences cut the answer without leaking a part of them; leaving a stream
early stops the backend; the async path (``astream``, ``agenerate``) gives the same answer, and
closing or cancelling it stops the backend too; errors are modelplug errors; tool calls come back as
:class:`~modelplug.types.ToolCall` objects. A declared capability that is not delivered fails, and so
does one that is delivered without being declared, where that can be seen.

Importing this package imports pytest; nothing else in modelplug imports it, and it is not a pytest
plugin that loads by itself. :mod:`modelplug.testing.pytest_plugin` adds fixtures for hand-written
tests (``pytest_plugins = ["modelplug.testing.pytest_plugin"]``).
"""

from __future__ import annotations

from modelplug.testing.checks import (
    StreamRun,
    aconsume,
    consume,
    pick_stop_sequence,
    stop_leak_problems,
    tool_call_problems,
    usage_problems,
)
from modelplug.testing.conformance import WEATHER_TOOL, ErrorCase, ProviderConformance
from modelplug.testing.probe import AsyncStreamProbe, CallProbe, StreamProbe

__all__ = [
    "WEATHER_TOOL",
    "AsyncStreamProbe",
    "CallProbe",
    "ErrorCase",
    "ProviderConformance",
    "StreamProbe",
    "StreamRun",
    "aconsume",
    "consume",
    "pick_stop_sequence",
    "stop_leak_problems",
    "tool_call_problems",
    "usage_problems",
]
