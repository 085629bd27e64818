"""Fixtures for the tests of the loopback servers themselves."""

from __future__ import annotations

from modelplug.testing.http.fixtures import replay_server  # noqa: F401
