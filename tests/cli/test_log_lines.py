"""Log events on the command line (:mod:`modelplug.cli.log_lines`): one readable line each, plugin
load problems only with ``--debug`` or ``MODELPLUG_LOG``, and never glued onto the answer (in real
subprocesses, and on the handler itself)."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelplug.cli.log_lines import CliLogHandler, install_log_handler, track_output
from modelplug.cli.plain import PlainView
from modelplug.log import LOGGER_NAME
from modelplug.types import ChatMessageStreamDelta
from tests.cli.conftest import cli_env, responses, run_cli


def _broken_plugin_env(tmp_path: Path) -> dict[str, str]:
    dist = tmp_path / "site" / "modelplug_broken-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: modelplug-broken\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[modelplug]\nbroken = modelplug_broken_missing\n", encoding="utf-8")
    return cli_env(PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]))


def test_a_broken_plugin_is_one_readable_line_not_a_log_event(tmp_path: Path) -> None:
    env = _broken_plugin_env(tmp_path)
    fine = run_cli(["run", "-m", "replay:x", "-o", responses("fine"), "hi"], env=env)
    assert (fine.returncode, fine.stdout, fine.stderr) == (0, "fine\n", "")
    used = run_cli(["run", "-m", "broken:x", "hi"], env=env)
    assert used.returncode == 1
    assert used.stderr.splitlines() == [
        "Error: plugin 'broken' (modelplug_broken_missing) failed to import: "
        "ModuleNotFoundError: No module named 'modelplug_broken_missing'"
    ]
    debug = run_cli(["--debug", "run", "-m", "broken:x", "hi"], env=env)
    assert "modelplug: warning: plugin_load_failed (plugin=broken, error=plugin 'broken'" in debug.stderr
    assert "event=" not in debug.stderr  # readable, not a raw key=value event


def test_log_lines_never_glue_onto_the_answer() -> None:
    args = [sys.executable, "-m", "modelplug", "run", "-m", "replay:x", "-o", responses("no newline at the end"), "hi"]
    env = cli_env(MODELPLUG_LOG="info")
    result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=60)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "no newline at the end"
    assert lines[1].startswith("modelplug: info: generation (provider=replay, model=x")
    assert len(lines) == 2  # and no empty line between them


def _record(event: str | None, level: int = logging.WARNING, **fields: object) -> logging.LogRecord:
    """A record as modelplug's logger makes it: the event's name and fields on the record."""
    record = logging.LogRecord(LOGGER_NAME, level, __file__, 1, f"raw {event}", None, None)
    if event is not None:
        record.modelplug_event = event
        record.modelplug_fields = {"level": "warning", "timestamp": "now", **fields}
    return record


@pytest.fixture
def handler() -> Iterator[CliLogHandler]:
    """The handler, installed twice (one stays), removed at the end."""
    install_log_handler()
    installed = install_log_handler()
    logger = logging.getLogger(LOGGER_NAME)
    assert [h for h in logger.handlers if isinstance(h, CliLogHandler)] == [installed]
    yield installed
    logger.removeHandler(installed)
    track_output(None)


def test_an_event_is_one_line_with_its_fields(
    handler: CliLogHandler, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler.emit(_record("stream_close_failed", provider="p", error="boom"))
    handler.emit(_record("started"))
    handler.emit(_record(None))  # a plain record: its message
    monkeypatch.setenv("MODELPLUG_LOG_FORMAT", "json")
    handler.emit(_record("stream_close_failed", provider="p"))  # JSON lines are kept as they are
    assert capsys.readouterr().err.splitlines() == [
        "modelplug: warning: stream_close_failed (provider=p, error=boom)",
        "modelplug: warning: started",
        "raw None",
        "raw stream_close_failed",
    ]


def test_plugin_load_problems_show_only_with_debug_or_a_log_level(
    handler: CliLogHandler, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODELPLUG_LOG", raising=False)
    handler.emit(_record("plugin_load_failed", plugin="broken"))
    assert capsys.readouterr().err == ""
    CliLogHandler(debug=True).emit(_record("plugin_name_conflict", name="x"))
    monkeypatch.setenv("MODELPLUG_LOG", "info")
    handler.emit(_record("plugin_load_failed", plugin="broken"))
    assert capsys.readouterr().err.splitlines() == [
        "modelplug: warning: plugin_name_conflict (name=x)",
        "modelplug: warning: plugin_load_failed (plugin=broken)",
    ]


def test_a_log_line_ends_the_answers_line_when_both_share_a_stream(handler: CliLogHandler) -> None:
    shared = io.StringIO()
    with PlainView(shared, shared) as view, pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stderr", shared)
        view.update(ChatMessageStreamDelta(content="half a line"))
        handler.emit(_record("stream_close_failed", provider="p"))
        view.update(ChatMessageStreamDelta(content="more"))
        view.finish()
    assert shared.getvalue() == "half a line\nmodelplug: warning: stream_close_failed (provider=p)\nmore\n"
    elsewhere, err = io.StringIO(), io.StringIO()
    with PlainView(elsewhere, err) as view, pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stderr", err)
        view.update(ChatMessageStreamDelta(content="half"))
        handler.emit(_record("stream_close_failed", provider="p"))
    assert (elsewhere.getvalue(), err.getvalue()) == ("half", "modelplug: warning: stream_close_failed (provider=p)\n")
