"""Structured logging with structlog, loaded lazily.

modelplug logs through the standard-library logger ``"modelplug"`` with structlog processors on
top: one ``generation`` event per generation (provider, model, ttft_s, duration_s, usage, outcome)
at INFO, plugin problems at WARNING. By default only warnings reach the terminal (Python's
last-resort handler); set ``MODELPLUG_LOG=info`` (or ``debug``) to see the rest on stderr, and
``MODELPLUG_LOG_FORMAT=json`` for JSON lines. Applications can also configure the ``"modelplug"``
logger with the :mod:`logging` module as usual.

structlog (slow to import with rich installed) is imported only when an event will actually be
emitted, so ``import modelplug`` and quiet generations never pay for it. Secrets are redacted from
every event (:mod:`modelplug.secrets`). Each standard-library record also carries the event's
name and fields (``record.modelplug_event``, ``record.modelplug_fields``), so a handler can show an
event its own way (the command line does: :mod:`modelplug.cli.log_lines`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping
from typing import Any, Final

from modelplug.secrets import is_secret_option, redact_value

__all__ = ["LOGGER_NAME", "get_logger", "info_enabled"]

LOGGER_NAME = "modelplug"
_stdlib_logger = logging.getLogger(LOGGER_NAME)
_configured = False


def _configure_from_env() -> None:
    global _configured
    _configured = True
    setting = os.environ.get("MODELPLUG_LOG", "").strip()
    if setting:
        level = _LEVELS.get(setting.lower())
        _stdlib_logger.setLevel(logging.INFO if level is None else level)
        if not _stdlib_logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(message)s"))
            _stdlib_logger.addHandler(handler)
        if level is None:  # a typo must not pass unnoticed (nor crash, as a name like "basic_format" did)
            _stdlib_logger.warning(
                "MODELPLUG_LOG=%r is not a level (%s); showing info", setting, ", ".join(sorted(_LEVELS))
            )


#: The values ``MODELPLUG_LOG`` takes (case-insensitive); anything else means ``info``, with a warning.
_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def _redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if is_secret_option(key) and value is not None:
            event[key] = "***"
        else:
            event[key] = redact_value(value)  # strings, bytes, and lists / dicts of them
    return event


def _with_event(renderer: Any) -> Any:
    """Wrap ``renderer`` so that the record also carries the event's name and (redacted) fields."""

    def render(logger: Any, method: str, event: MutableMapping[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        fields = dict(event)
        name = fields.pop("event", None)
        rendered = renderer(logger, method, event)
        return (rendered,), {"extra": {"modelplug_event": name, "modelplug_fields": fields}}

    return render


class _LazyLogger:
    """Checks the level with the standard library first; builds the structlog logger on demand."""

    __slots__ = ("_bound",)

    def __init__(self) -> None:
        self._bound: Any = None

    def _emit(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if not _configured:
            _configure_from_env()
        if not _stdlib_logger.isEnabledFor(level):
            return
        if self._bound is None:
            import structlog

            renderer: Any
            if os.environ.get("MODELPLUG_LOG_FORMAT", "").lower() == "json":
                renderer = structlog.processors.JSONRenderer()
            else:
                renderer = structlog.processors.KeyValueRenderer(key_order=["event", "level"])
            self._bound = structlog.wrap_logger(
                _stdlib_logger,
                processors=[
                    structlog.stdlib.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso"),
                    _redact_event,
                    _with_event(renderer),
                ],
                wrapper_class=structlog.stdlib.BoundLogger,
            )
        self._bound.log(level, event, **fields)

    def debug(self, event: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._emit(logging.ERROR, event, fields)


_logger = _LazyLogger()


def info_enabled() -> bool:
    """Whether an INFO event would be emitted now: a field that is costly to compute (a price
    lookup) is computed only then."""
    if not _configured:
        _configure_from_env()
    return _stdlib_logger.isEnabledFor(logging.INFO)


def get_logger() -> _LazyLogger:
    """The modelplug logger: ``get_logger().info("event", key=value, ...)``."""
    return _logger
