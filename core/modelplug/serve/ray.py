"""The same app as a Ray Serve application (the ``ray`` extra): replicas, autoscaling, many machines.

Each replica loads its models once (:func:`~modelplug.serve.models.load_models`) and serves
:func:`~modelplug.serve.app.build_app`; Ray's proxy balances requests over the replicas and
replaces a replica that dies. Ray is imported only by the functions here.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Sequence
from functools import cache
from typing import Any, Final

import attrs

from modelplug.serve.app import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONCURRENCY
from modelplug.serve.models import ModelEntry, check_entries

__all__ = ["APP_NAME", "REPLICA_HEADER", "RayOptions", "application", "run", "start_ray"]

#: The Serve application name ``modelplug serve --ray`` deploys.
APP_NAME: Final = "modelplug"
#: Response header naming the replica (``<host>:<pid>``) that answered.
REPLICA_HEADER: Final = "x-modelplug-replica"


@attrs.frozen
class RayOptions:
    """How many replicas and what each one reserves.

    ``num_replicas`` fixes the count; ``min_replicas`` / ``max_replicas`` let Ray autoscale between
    them instead (on ongoing requests per replica). ``replica_cpus`` / ``replica_gpus`` are reserved
    per replica (a vLLM replica with tensor parallelism needs its GPUs here).
    """

    num_replicas: int | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    replica_cpus: float = 1.0
    replica_gpus: float = 0.0

    def deployment_options(self, max_concurrency: int) -> dict[str, Any]:
        """The options of ``serve.deployment`` for these settings.

        Raises:
            ValueError: ``num_replicas`` given with min/max, or a count below 1 (min may be 0).
        """
        options: dict[str, Any] = {
            "ray_actor_options": {"num_cpus": self.replica_cpus, "num_gpus": self.replica_gpus},
            # Ray queues past this; the app answers 429 past its own limit, which is the same number
            "max_ongoing_requests": max_concurrency,
        }
        if self.min_replicas is not None or self.max_replicas is not None:
            if self.num_replicas is not None:
                raise ValueError("give either --num-replicas or --min-replicas/--max-replicas, not both")
            low = 1 if self.min_replicas is None else self.min_replicas
            high = max(low, 1) if self.max_replicas is None else self.max_replicas
            if low < 0 or high < max(low, 1):
                raise ValueError(f"replicas must satisfy 0 <= min <= max and max >= 1, got min={low} max={high}")
            options["autoscaling_config"] = {"min_replicas": low, "max_replicas": high}
        else:
            count = 1 if self.num_replicas is None else self.num_replicas
            if count < 1:
                raise ValueError(f"--num-replicas must be at least 1, got {count}")
            options["num_replicas"] = count
        return options


class _ReplicaHeader:
    """ASGI middleware adding :data:`REPLICA_HEADER` to every response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.value = f"{socket.gethostname()}:{os.getpid()}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (REPLICA_HEADER.encode(), self.value)]}
            await send(message)

        await self.app(scope, receive, tagged if scope["type"] == "http" else send)


@cache
def _deployment_class() -> Any:
    from ray import serve

    @serve.ingress()
    class ModelplugReplica:
        """One replica: its models, loaded once, behind the OpenAI-compatible app."""

        def __init__(self, entries: Sequence[ModelEntry], app_options: dict[str, Any]) -> None:
            from modelplug.serve.app import build_app
            from modelplug.serve.models import load_models

            self._served = load_models(entries, max_concurrency=app_options["max_concurrency"])
            self._app = _ReplicaHeader(build_app(self._served, **app_options))

        def __serve_build_asgi_app__(self) -> Any:
            return self._app

    return ModelplugReplica


def application(
    entries: Sequence[ModelEntry],
    *,
    ray_options: RayOptions | None = None,
    api_key: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
) -> Any:
    """The bound Ray Serve application (``ray.serve.Application``) serving ``entries``: pass it to
    ``serve.run``, or let :func:`run` do it.

    Raises:
        InvalidOptionError: no entries or a name twice. ValueError: bad replica settings.
    """
    from ray import serve

    check_entries(entries)
    settings = (ray_options or RayOptions()).deployment_options(max_concurrency)
    deployment = serve.deployment(name="ModelplugServer", **settings)(_deployment_class())
    app_options = {"api_key": api_key, "max_body_bytes": max_body_bytes, "max_concurrency": max_concurrency}
    return deployment.bind(list(entries), app_options)


def start_ray(
    address: str | None = None, *, host: str = "127.0.0.1", port: int = 8000, num_cpus: int | None = None
) -> None:
    """Connect to the Ray cluster at ``address``, or start a local one (dashboard off, ``num_cpus``
    CPUs: all by default), and start Serve's HTTP proxy on ``host:port``."""
    import ray
    from ray import serve

    if not ray.is_initialized():
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    serve.start(http_options={"host": host, "port": port})


def run(
    entries: Sequence[ModelEntry],
    *,
    address: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    ray_options: RayOptions | None = None,
    api_key: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    blocking: bool = True,
) -> None:
    """Deploy ``entries`` on Ray Serve (see :func:`start_ray`) and, with ``blocking``, serve until
    interrupted, then shut Serve down (and the local Ray instance, when this call started it).

    Raises:
        InvalidOptionError, ValueError: as :func:`application`.
        RuntimeError: a replica failed to start (Ray's error says why).
    """
    import ray
    from ray import serve

    app = application(
        entries,
        ray_options=ray_options,
        api_key=api_key,
        max_body_bytes=max_body_bytes,
        max_concurrency=max_concurrency,
    )
    started_here = not ray.is_initialized()
    start_ray(address, host=host, port=port)
    serve.run(app, name=APP_NAME, route_prefix="/")
    if not blocking:
        return
    try:
        while True:
            time.sleep(3600)
    finally:
        serve.delete(APP_NAME)
        if started_here and not address:
            serve.shutdown()  # type: ignore[no-untyped-call,unused-ignore]
            ray.shutdown()
