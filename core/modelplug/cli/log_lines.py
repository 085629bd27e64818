"""How log events and warnings of the ``"modelplug"`` logger appear on the command line.

:func:`install_log_handler` (called by every command) puts one handler on the logger that writes
each event as one readable line on stderr: ``modelplug: warning: stream_close_failed (provider=...,
error=...)``. Two rules make it quiet and tidy:

- plugin load problems (``plugin_load_failed``, ``plugin_name_conflict``) are not shown, except
  with ``--debug`` or ``MODELPLUG_LOG`` set: ``modelplug plugins`` lists them, and using the broken
  provider fails with an ``Error:`` line that says why;
- a line never glues onto the answer's last line: when the answer on stdout is mid-line and stdout
  and stderr are the same terminal or file, a newline is written first (and the answer's view
  knows the line is ended, :func:`track_output`).

``MODELPLUG_LOG=info`` (or ``debug``) shows the ``generation`` events as well, in the same form;
``MODELPLUG_LOG_FORMAT=json`` keeps structlog's JSON lines.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Final, Protocol

__all__ = ["QUIET_EVENTS", "CliLogHandler", "install_log_handler", "track_output"]

#: Events shown only with ``--debug`` or ``MODELPLUG_LOG`` set.
QUIET_EVENTS: Final = frozenset({"plugin_load_failed", "plugin_name_conflict"})


class _LineOwner(Protocol):
    out: Any

    def end_line_elsewhere(self) -> None: ...

    def mid_line(self) -> bool: ...


_tracked: list[_LineOwner] = []


def track_output(view: _LineOwner | None) -> None:
    """Tell the handler which view writes the answer (``None``: none): before a log line, a view
    that is mid-line on the stream stderr shares gets its line ended."""
    _tracked[:] = [] if view is None else [view]


def _same_file(a: Any, b: Any) -> bool:
    try:
        return os.path.samestat(os.fstat(a.fileno()), os.fstat(b.fileno()))
    except (AttributeError, OSError, ValueError):
        return False


class CliLogHandler(logging.Handler):
    """Writes records as described in the module docstring; ``debug`` shows :data:`QUIET_EVENTS` too."""

    def __init__(self, *, debug: bool = False) -> None:
        super().__init__()
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        event = getattr(record, "modelplug_event", None)
        fields = getattr(record, "modelplug_fields", None)
        if event is None or not isinstance(fields, dict) or os.environ.get("MODELPLUG_LOG_FORMAT", "") == "json":
            return record.getMessage()
        fields = {key: value for key, value in fields.items() if key not in ("level", "timestamp")}
        detail = ", ".join(f"{key}={value}" for key, value in fields.items())
        return f"modelplug: {record.levelname.lower()}: {event}" + (f" ({detail})" if detail else "")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if getattr(record, "modelplug_event", None) in QUIET_EVENTS and not (
                self.debug or os.environ.get("MODELPLUG_LOG", "").strip()
            ):
                return
            line = self.format(record)
            err = sys.stderr
            for view in _tracked:
                if view.mid_line() and (view.out is err or _same_file(view.out, err)):
                    err.write("\n")
                    view.end_line_elsewhere()
            err.write(line + "\n")
            err.flush()
        except Exception:
            self.handleError(record)


def install_log_handler(*, debug: bool = False) -> CliLogHandler:
    """Put a :class:`CliLogHandler` on the ``"modelplug"`` logger, replacing one installed before
    (so that a test runner invoking many commands in one process keeps one)."""
    from modelplug.log import LOGGER_NAME

    logger = logging.getLogger(LOGGER_NAME)
    for old in [h for h in logger.handlers if isinstance(h, CliLogHandler)]:
        logger.removeHandler(old)
    handler = CliLogHandler(debug=debug)
    logger.addHandler(handler)
    return handler
