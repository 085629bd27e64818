"""Real HTTP servers on 127.0.0.1 and the shared suite for HTTP provider plugins.

- :mod:`~modelplug.testing.http.replay_server`: an OpenAI-compatible SSE server that plays recorded
  streams (as recorded, CRLF, cut into small writes, without ``[DONE]``), error statuses, drops.
- :mod:`~modelplug.testing.http.fast_server`: the same streams pre-rendered, for benchmarks.
- :mod:`~modelplug.testing.http.processes`: start them (and ``transformers serve``) in subprocesses.
- :mod:`~modelplug.testing.http.suite`: :class:`~modelplug.testing.http.suite.HttpProviderSuite`,
  which a provider subclasses.
- :mod:`~modelplug.testing.http.fixtures`: pytest fixtures for the servers.

The recorded cases are read from :func:`cases_dir`. The fault suite is :mod:`modelplug.testing.faults`.
Needs ``starlette``, ``uvicorn`` and ``httpx`` (the ``testing`` extra).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CASES_ENV", "cases_dir"]

#: Environment variable naming the folder of recorded cases (``stream_cases.jsonl``, ``behaviour_cases.json``).
CASES_ENV = "MODELPLUG_HTTP_CASES"


def cases_dir() -> Path:
    """The folder of recorded cases: ``$MODELPLUG_HTTP_CASES``, else ``tests/data`` of the modelplug
    checkout this package runs from.

    Raises:
        FileNotFoundError: neither exists (an installed wheel: point ``MODELPLUG_HTTP_CASES`` at a
            checkout's ``tests/data``).
    """
    configured = os.environ.get(CASES_ENV)
    candidates = [Path(configured)] if configured else []
    candidates.append(Path(__file__).resolve().parents[4] / "tests" / "data")
    for candidate in candidates:
        if (candidate / "stream_cases.jsonl").is_file():
            return candidate
    raise FileNotFoundError(
        f"no recorded HTTP cases found (looked in {[str(c) for c in candidates]}); set {CASES_ENV} to the "
        "tests/data folder of a modelplug checkout"
    )
