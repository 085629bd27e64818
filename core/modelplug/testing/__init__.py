"""The conformance kit: checks a provider plugin runs against its own provider.

A provider package subclasses :class:`ProviderConformance` in its tests and names its model; pytest
then runs every check against what the provider declares. Importing this package imports pytest
(nothing else in modelplug imports it). The guide and the list of checks: ``docs/conformance.md``.
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
