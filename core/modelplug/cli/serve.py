"""``modelplug serve``: serve models as an OpenAI-compatible HTTP endpoint (docs/serving.md).

Needs the ``serve`` extra (Starlette, uvicorn, sse-starlette); ``--ray`` needs the ``ray`` extra.
Each ``-m SPEC`` is served under the matching ``--name`` (in order), or under its spec. ``-o
key=value`` goes to every model; ``-o NAME:key=value`` only to the model served as ``NAME``.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from typing import Any

import click

from modelplug.cli import EXIT_CANNOT_SERVE

__all__ = ["model_entries", "serve"]


def _install(extra: str) -> str:
    from modelplug._plugins import install_hint

    return install_hint(f"modelplug[{extra}]")


def model_entries(specs: Sequence[str], names: Sequence[str], options: Sequence[str]) -> list[Any]:
    """The :class:`~modelplug.serve.models.ModelEntry` list of the command's ``-m``, ``--name`` and ``-o``
    (options typed with each provider's ``option_types``; the default model when no ``-m``).

    Raises:
        click.BadParameter: more names than models, an ``-o NAME:`` naming no served model, a bad value.
        ModelplugError: an unknown provider or a malformed spec.
    """
    from modelplug._load import parse_spec
    from modelplug.cli.options import alias_spec, parse_options, provider_option_types, resolve_model
    from modelplug.serve.models import ModelEntry

    specs = list(specs) or [resolve_model(None)[0]]
    if len(names) > len(specs):
        raise click.BadParameter(
            f"{len(names)} names for {len(specs)} models: give one -m per --name", param_hint="'--name'"
        )
    served_names = [*names, *specs[len(names) :]]
    general: list[str] = []
    targeted: dict[str, list[str]] = {}
    for pair in options:
        key = pair.partition("=")[0]
        target, sep, _ = key.partition(":")
        if sep:
            if target not in served_names:
                raise click.BadParameter(
                    f"{pair!r} names no served model; served: {', '.join(served_names)}", param_hint="'-o'"
                )
            targeted.setdefault(target, []).append(pair.partition(":")[2])
        else:
            general.append(pair)
    entries = []
    for name, spec in zip(served_names, specs, strict=True):
        pairs = general + targeted.get(name, [])
        provider, model_id = parse_spec(alias_spec(spec))  # an alias of the config file serves its model
        types = provider_option_types(provider, model_id) if pairs else None
        entries.append(ModelEntry(name, spec, parse_options(pairs, types)))
    return entries


@click.command(short_help="Serve models as an OpenAI-compatible endpoint.")
@click.option("-m", "--model", "specs", multiple=True, metavar="SPEC", help="A model to serve (repeatable).")
@click.option("--name", "names", multiple=True, metavar="NAME", help="The name clients use for the matching -m.")
@click.option(
    "-o",
    "--option",
    "options",
    multiple=True,
    metavar="[NAME:]KEY=VALUE",
    help="A model option for every model, or for the one served as NAME; repeatable.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to bind.")
@click.option(
    "--api-key",
    envvar="MODELPLUG_SERVE_API_KEY",
    metavar="KEY",
    help="Require 'Authorization: Bearer KEY' on /v1 requests (also MODELPLUG_SERVE_API_KEY).",
)
@click.option(
    "--max-body-size",
    default=4 * 1024 * 1024,
    show_default=True,
    type=click.IntRange(min=1),
    metavar="BYTES",
    help="Largest request body (413 above).",
)
@click.option(
    "--max-concurrency",
    default=64,
    show_default=True,
    type=click.IntRange(min=1),
    metavar="N",
    help="Requests one model serves at once (429 with Retry-After above).",
)
@click.option("--ray", "use_ray", is_flag=True, help="Deploy as a Ray Serve application (the 'ray' extra).")
@click.option("--num-replicas", type=click.IntRange(min=1), metavar="N", help="With --ray: a fixed number of replicas.")
@click.option(
    "--min-replicas", type=click.IntRange(min=0), metavar="A", help="With --ray: autoscale from A replicas..."
)
@click.option("--max-replicas", type=click.IntRange(min=1), metavar="B", help="...up to B replicas.")
@click.option("--ray-address", metavar="ADDR", help="With --ray: join this Ray cluster (default: start a local one).")
@click.option(
    "--replica-cpus", default=1.0, show_default=True, type=click.FloatRange(min=0), help="With --ray: CPUs per replica."
)
@click.option(
    "--replica-gpus", default=0.0, show_default=True, type=click.FloatRange(min=0), help="With --ray: GPUs per replica."
)
@click.pass_context
def serve(
    ctx: click.Context,
    specs: tuple[str, ...],
    names: tuple[str, ...],
    options: tuple[str, ...],
    host: str,
    port: int,
    api_key: str | None,
    max_body_size: int,
    max_concurrency: int,
    use_ray: bool,
    num_replicas: int | None,
    min_replicas: int | None,
    max_replicas: int | None,
    ray_address: str | None,
    replica_cpus: float,
    replica_gpus: float,
) -> None:
    """Serve models as an OpenAI-compatible endpoint: POST /v1/chat/completions, GET /v1/models, GET /health.

    \b
    Examples:
      modelplug serve -m transformers:default
      modelplug serve -m transformers:default --name local -m replay:demo.jsonl
      modelplug serve -m transformers:default --host 0.0.0.0 --api-key "$KEY"
      modelplug serve -m transformers:default --ray --num-replicas 2
    """
    missing = [m for m in ("starlette", "uvicorn", "sse_starlette") if importlib.util.find_spec(m) is None]
    if missing:
        raise click.UsageError(f"modelplug serve needs {', '.join(missing)}: {_install('serve')}")
    if use_ray and importlib.util.find_spec("ray") is None:
        raise click.UsageError(f"modelplug serve --ray needs Ray Serve: {_install('ray')}")
    ray_flags = (num_replicas, min_replicas, max_replicas, ray_address)
    if not use_ray and any(flag is not None for flag in ray_flags):
        raise click.UsageError("--num-replicas, --min-replicas, --max-replicas and --ray-address need --ray")
    from modelplug.serve.server import is_loopback

    api_key = api_key or None
    entries = model_entries(specs, names, options)
    if not api_key and not is_loopback(host):
        click.echo(
            f"Warning: serving on {host} without an API key: anyone who can reach port {port} can use these "
            "models. Pass --api-key or set MODELPLUG_SERVE_API_KEY.",
            err=True,
        )
    logging.getLogger("modelplug.serve").setLevel(logging.INFO)  # the one line per request
    listing = ", ".join(f"{e.name} ({e.spec})" if e.name != e.spec else e.name for e in entries)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/v1"
    if use_ray:
        from modelplug.serve.ray import RayOptions, run

        settings = RayOptions(num_replicas, min_replicas, max_replicas, replica_cpus, replica_gpus)
        try:
            settings.deployment_options(max_concurrency)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        click.echo(f"Deploying {listing} on Ray Serve; serving on {url}", err=True)
        run(
            entries,
            address=ray_address,
            host=host,
            port=port,
            ray_options=settings,
            api_key=api_key,
            max_body_bytes=max_body_size,
            max_concurrency=max_concurrency,
        )
        return
    from modelplug.serve.app import build_app
    from modelplug.serve.models import close_models, load_models
    from modelplug.serve.server import BindError, bind, serve_forever

    try:
        sock = bind(host, port)  # before the models load: a port in use fails at once
    except BindError as error:
        raise _CannotServe(str(error)) from None
    url = f"http://{host if ':' not in host else f'[{host}]'}:{sock.getsockname()[1]}/v1"  # port 0: the one given
    with sock:
        served = load_models(entries, max_concurrency=max_concurrency)
        try:
            app = build_app(served, api_key=api_key, max_body_bytes=max_body_size, max_concurrency=max_concurrency)
            click.echo(f"Serving {listing} on {url}", err=True)  # bound and listening: requests queue from now
            serve_forever(app, host=host, port=port, sock=sock)
        finally:
            close_models(served)


class _CannotServe(click.ClickException):
    """The server cannot listen (port in use, not permitted): ``Error: ...``, exit status 3."""

    exit_code = EXIT_CANNOT_SERVE
