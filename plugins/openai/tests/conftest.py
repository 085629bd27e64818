"""Fixtures for the openai provider's tests: the loopback servers."""

from __future__ import annotations

from modelplug.testing.http.fixtures import replay_server, transformers_server

__all__ = ["replay_server", "transformers_server"]
