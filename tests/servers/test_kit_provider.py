"""The third-party provider of docs/writing-a-plugin.md, built on the chat-client kit, through the
HTTP fault suites (sync and async) that every HTTP provider of the project passes."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

import modelplug
from modelplug.testing.faults import HTTPFaultSuite
from modelplug.testing.http.async_suite import AsyncHTTPFaultSuite
from modelplug.testing.http.processes import ReplayServer
from tests.servers import kit_provider

_XFAIL = {
    "invalid-utf8": "httpx-sse decodes lines with errors='replace': invalid UTF-8 arrives as U+FFFD",
}


@pytest.fixture(autouse=True)
def _kit_registered(fresh_plugins: None) -> Iterator[None]:
    modelplug.register_provider("kit", sys.modules[kit_provider.__name__])
    yield


class _KitFaults:
    """How both fault suites load the kit provider (read before the suites' defaults)."""

    xfail_faults = _XFAIL
    spec = "kit:{fault}"
    model_options = {"api_key": "sk-kit-fault-0000"}  # noqa: RUF012 (read only)


class TestKitProviderFaults(_KitFaults, HTTPFaultSuite):
    pass


class TestKitProviderAsyncFaults(_KitFaults, AsyncHTTPFaultSuite):
    pass


def test_a_503_is_retried_before_the_first_delta_and_tools_go_natively(replay_server: ReplayServer) -> None:
    selector = f"text/4@fail=503x1,retry_after=0,tag={id(replay_server)}"
    with modelplug.load_model("kit:m", base_url=replay_server.url(selector), api_key="sk-kit-0000") as model:
        assert model.state.retry.max_retries == 2  # the core's policy, handed over as `reserved.retry`
        answer = model.generate("Hi.")
    assert answer.content and answer.usage is not None
    assert [r["outcome"] for r in replay_server.requests(selector)][:1] == ["status 503"]


@pytest.mark.parametrize("override", [{}, {"tool_calling": "text"}])
def test_the_capabilities_override_reaches_the_request(replay_server: ReplayServer, override: dict[str, str]) -> None:
    tool = {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}
    selector = f"echo@tag={id(replay_server)}-{len(override)}"
    url = replay_server.url(selector)
    with modelplug.load_model("kit:m", base_url=url, api_key="sk-kit-0001", capabilities=override) as model:
        assert model.state.capabilities.tool_calling == override.get("tool_calling", "native")
        model.generate("Hi.", tools=[tool], tool_choice="auto")
    body = replay_server.requests(selector)[-1]["body"]
    # a model that writes calls as text cannot be forced: no tool_choice goes out
    assert ("tool_choice" in body) == (not override)
