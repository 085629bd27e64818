"""The retry policy and the retry loop of the HTTP providers (modelplug.retry)."""

from __future__ import annotations

import pytest

from modelplug import errors
from modelplug.retry import RetryPolicy, call_with_retries


def test_retry_policy_reads_and_checks_options() -> None:
    assert RetryPolicy.from_options({}, "x") == RetryPolicy(2, 0.5, 30.0)
    assert RetryPolicy.from_options({"max_retries": 0, "retry_backoff": 1, "retry_max_wait": 2}, "x") == RetryPolicy(
        0, 1.0, 2.0
    )
    for bad in ({"max_retries": -1}, {"max_retries": 1.5}, {"retry_backoff": "1"}, {"retry_max_wait": True}):
        with pytest.raises(errors.InvalidOptionError):
            RetryPolicy.from_options(bad, "x")


def test_retries_only_what_may_succeed_and_honours_retry_after() -> None:
    policy = RetryPolicy(max_retries=3, backoff=0.001, max_wait=0.5)
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise errors.RateLimitError("slow down", retry_after=0.0)
        return "ok"

    assert call_with_retries(policy, flaky, provider="p", model="m") == "ok" and len(calls) == 3
    assert policy.retryable(errors.ServerError("5xx"))
    assert policy.retryable(errors.ProviderConnectionError("reset"))
    assert not policy.retryable(errors.BadRequestError("400"))
    assert not policy.retryable(errors.AuthenticationError("401"))
    assert not policy.retryable(errors.RateLimitError("wait long", retry_after=60))  # longer than max_wait
    calls.clear()

    def always_bad() -> str:
        calls.append(1)
        raise errors.BadRequestError("no")

    with pytest.raises(errors.BadRequestError):
        call_with_retries(policy, always_bad, provider="p", model="m")
    assert len(calls) == 1
