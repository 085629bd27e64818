"""Fixtures for a provider's hand-written tests, as an opt-in pytest plugin.

Enable it in the provider's top-level ``conftest.py``::

    pytest_plugins = ["modelplug.testing.pytest_plugin"]

It is never loaded automatically (no ``pytest11`` entry point), so it costs nothing to projects
that do not ask for it. The conformance checks themselves need no plugin: subclass
:class:`modelplug.testing.ProviderConformance`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelplug.testing.probe import CallProbe

__all__ = ["modelplug_probe", "modelplug_thread_guard"]


@pytest.fixture
def modelplug_probe() -> Iterator[CallProbe]:
    """A :class:`~modelplug.testing.CallProbe` installed for the test: ``probe.calls`` lists the
    provider hooks called, ``probe.streams`` the wrapped streams (``closeable``, ``close_called``,
    ``generator_state``, ``exhausted``)."""
    with CallProbe() as probe:
        yield probe


@pytest.fixture
def modelplug_thread_guard() -> Iterator[None]:
    """Fail the test when it leaves a thread running that it started (after a 10 s grace period)."""
    import threading
    import time

    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 10.0
    while True:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if left:
        pytest.fail("threads left running: " + ", ".join(t.name for t in left), pytrace=False)
