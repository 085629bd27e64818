"""One structured ``generation`` event per generation, quiet by default, secrets redacted."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

import modelplug
import modelplug.secrets


@pytest.fixture
def info_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="modelplug")
    return caplog


def _events(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if f"event='{name}'" in r.getMessage()]


def test_one_event_per_streamed_generation(fresh_plugins: None, info_logs: pytest.LogCaptureFixture) -> None:
    chunks = [
        {"choices": [{"delta": {"content": "hi"}}]},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}},
    ]
    model = modelplug.load_model("replay:x", responses=[chunks])
    list(model.stream("q"))
    (event,) = _events(info_logs, "generation")
    for field in ("provider='replay'", "model='x'", "outcome='ok'", "usage=[3, 1, 4]", "ttft_s=", "duration_s="):
        assert field in event


def test_generate_and_cancelled_streams_are_logged_once_each(
    fresh_plugins: None, info_logs: pytest.LogCaptureFixture
) -> None:
    model = modelplug.load_model("replay:x", responses=["one two three"], loop=True)
    model.generate("q")
    with model.stream("q") as stream:
        next(stream)
    outcomes = [e.split("outcome=")[1].split()[0] for e in _events(info_logs, "generation")]
    assert outcomes == ["'ok'", "'cancelled'"]


def test_secrets_are_redacted_from_events(fresh_plugins: None, info_logs: pytest.LogCaptureFixture) -> None:
    from modelplug.log import get_logger

    modelplug.secrets.register_secret("s3cr3t-value-for-log-test")
    get_logger().info("probe", api_key="anything", detail="uses s3cr3t-value-for-log-test here")
    (event,) = _events(info_logs, "probe")
    assert "s3cr3t" not in event and "anything" not in event and "***" in event


def test_nothing_reaches_the_terminal_by_default() -> None:
    code = (
        "import modelplug;"
        "m = modelplug.load_model('replay:x', responses=['hello there']);"
        "print(m.generate('q').content)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "hello there"
    assert result.stderr == ""
    assert (
        "structlog"
        not in subprocess.run(
            [sys.executable, "-c", code + ";import sys;print([m for m in sys.modules if m.startswith('structlog')])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()[-1]
    )


@pytest.mark.parametrize("setting", ["verbose", "basic_format"])  # a typo; a name logging defines but is no level
def test_an_unknown_log_level_is_named_and_shows_info(setting: str) -> None:
    code = (
        "import modelplug;"
        "m = modelplug.load_model('replay:x', responses=['hello there']);"
        "print(m.generate('q').content)"
    )
    env = {**os.environ, "MODELPLUG_LOG": setting}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello there"
    assert f"MODELPLUG_LOG='{setting}' is not a level" in result.stderr
    assert "generation" in result.stderr  # shown at info
