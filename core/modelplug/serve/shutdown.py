"""When a server stops: every open request gets :data:`SHUTDOWN_GRACE_S`, then is cut short.

One :class:`ServerStop` per app; docs/serving.md says what a client sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

__all__ = ["SHUTDOWN_GRACE_S", "ServerStop", "server_stop_of"]

#: Seconds an open request may go on when the server stops, before it is cut short
#: (uvicorn's graceful shutdown waits 5 s in all).
SHUTDOWN_GRACE_S: Final = 3.0


class ServerStop:
    """The stop of one server, shared by all its requests.

    :meth:`begin` (called on the server's event loop when it starts to stop) starts the grace
    period; when it ends, every callback added with :meth:`add` is called once, on the loop. A
    callback added after that is called at once. Callbacks must not raise and must not block: they
    cancel a wait (a cancel scope, a task). Costs nothing per delta and nothing until a stop.

    Args:
        grace_s: the grace period, in seconds.
    """

    def __init__(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        self.grace_s = grace_s
        self._cuts: dict[Callable[[], None], None] = {}  # insertion-ordered set
        self._began = False
        self._cut = False
        self._timer: asyncio.TimerHandle | None = None

    @property
    def stopping(self) -> bool:
        """Whether :meth:`begin` was called."""
        return self._began

    def begin(self) -> None:
        """Start the grace period (idempotent). Must run on the server's event loop (uvicorn: asyncio)."""
        if self._began:
            return
        self._began = True
        self._timer = asyncio.get_running_loop().call_later(self.grace_s, self._cut_all)

    def add(self, cut: Callable[[], None]) -> None:
        """Call ``cut()`` when the grace period ends (at once if it has ended)."""
        if self._cut:
            cut()
        else:
            self._cuts[cut] = None

    def discard(self, cut: Callable[[], None]) -> None:
        """Forget ``cut`` (its request ended)."""
        self._cuts.pop(cut, None)

    def _cut_all(self) -> None:
        self._cut = True
        cuts, self._cuts = list(self._cuts), {}
        for cut in cuts:
            cut()


def server_stop_of(app: Any) -> ServerStop | None:
    """The :class:`ServerStop` of an app from :func:`~modelplug.serve.app.build_app` (``None`` for another app)."""
    stop = getattr(getattr(app, "state", None), "server_stop", None)
    return stop if isinstance(stop, ServerStop) else None
