"""The pytest fixtures for the loopback servers (:mod:`modelplug.testing.http.fixtures`), imported
into an inner session's ``conftest.py`` (``pytester``) the way a plugin's tests do."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["pytester"]

CONFTEST = "from modelplug.testing.http.fixtures import hf_online, replay_server  # noqa: F401\n"


def test_the_replay_server_is_shared_by_the_session_and_stopped_at_its_end(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_inner="""
import httpx

seen = []


def test_first(replay_server):
    assert httpx.get(replay_server.base_url + "/health", timeout=5).status_code == 200
    seen.append(replay_server.process.pid)


def test_second(replay_server, tmp_path_factory):
    assert seen == [replay_server.process.pid]  # the same server
    (tmp_path_factory.getbasetemp() / "pid").write_text(str(replay_server.process.pid))
"""
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=2)
    pid = int(next(pytester.path.parent.rglob("pid")).read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_hf_online_turns_offline_mode_off_for_one_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline, as the test environment runs
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_inner="""
import os

from huggingface_hub import constants


def test_online(hf_online):
    assert constants.HF_HUB_OFFLINE is False and "HF_HUB_OFFLINE" not in os.environ


def test_offline_again_after_it():
    assert constants.HF_HUB_OFFLINE is True and os.environ["HF_HUB_OFFLINE"] == "1"
"""
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=2)
