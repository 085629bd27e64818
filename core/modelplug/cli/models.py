"""``modelplug models``: the config file's model aliases, and the models of providers that list them.

For each alias: its name, what ``model`` says, the ``provider:model`` spec it comes down to, its
model options (secret values shown as ``***``; ``key:NAME`` and ``*_env`` references as written),
its generation defaults and its fallback chain. An alias that cannot be resolved is listed with its
error. Then, for each provider implementing the ``list_models`` hook, the specs of its models.

``--json`` prints one object::

    {"config": "/home/me/.config/modelplug/config.toml",
     "aliases": [{"name": "fast", "model": "openai:gpt-4o-mini", "spec": "openai:gpt-4o-mini",
                  "line": 3, "options": {"api_key": "key:openai"}, "defaults": {"temperature": 0.2},
                  "fallback": ["local"], "error": null}, ...],
     "providers": [{"name": "transformers", "models": ["transformers:default"], "error": null}, ...]}
"""

from __future__ import annotations

import json
import threading
from typing import Any, Final

import click

from modelplug.cli.plugins import DEFAULT_IMPORT_TIMEOUT_S

__all__ = ["LIST_TIMEOUT_S", "alias_rows", "models", "provider_model_rows", "shown_options"]

#: Seconds ``modelplug models`` waits for one provider's ``list_models`` (a server that does not answer).
LIST_TIMEOUT_S: Final = 15.0


def shown_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with secret values masked (``***``); ``key:NAME`` references are kept, they are no secrets."""
    from modelplug._keys import KEY_PREFIX
    from modelplug.secrets import redact_mapping

    masked = redact_mapping(options)
    for key, value in options.items():
        if isinstance(value, str) and value.startswith(KEY_PREFIX):
            masked[key] = value
    return masked


def alias_rows() -> tuple[str, list[dict[str, Any]]]:
    """``(config file path, one row per alias)`` as described in the module docstring.

    Raises:
        ConfigFileError: the file cannot be read or an alias table is malformed.
    """
    from modelplug.config import ConfigFileError, config_path, find_aliases, resolve_alias

    path = config_path()
    aliases = find_aliases(path)
    rows = []
    for name, alias in aliases.items():
        row: dict[str, Any] = {
            "name": name,
            "model": alias.model,
            "spec": None,
            "line": alias.line,
            "options": shown_options(alias.options),
            "defaults": alias.defaults,
            "fallback": list(alias.fallback),
            "error": None,
        }
        try:
            row["spec"] = resolve_alias(name, aliases, path=path).spec
        except ConfigFileError as error:
            row["error"] = str(error)
        rows.append(row)
    return str(path), rows


def provider_model_rows(
    *, import_timeout_s: float | None = DEFAULT_IMPORT_TIMEOUT_S, list_timeout_s: float | None = LIST_TIMEOUT_S
) -> list[dict[str, Any]]:
    """One row per provider that implements ``list_models``: its name, its model specs, or its error.

    A plugin's import is limited to ``import_timeout_s`` seconds, its ``list_models`` to
    ``list_timeout_s`` (``None``: no limit): a plugin that hangs is a row with an error saying so,
    not a command that never ends."""
    from modelplug import _plugins as plugins

    rows = []
    for info in plugins.list_providers(timeout_s=import_timeout_s):
        if not info.ok or "list_models" not in info.hooks:
            continue
        row: dict[str, Any] = {"name": info.name, "models": [], "error": None}
        row["models"], row["error"] = _listed(info.name, list_timeout_s)
        rows.append(row)
    return rows


def _listed(provider: str, timeout_s: float | None) -> tuple[list[str], str | None]:
    """``(model specs, None)`` from the provider's ``list_models``, or ``([], error message)``; the
    hook runs in a daemon thread waited for ``timeout_s`` seconds (left behind past it)."""
    from modelplug._provider import Provider
    from modelplug.errors import ModelplugError

    outcome: list[tuple[list[str], str | None]] = []

    def work() -> None:
        try:
            outcome.append(([f"{provider}:{model_id}" for model_id in Provider.get(provider).list_models()], None))
        except ModelplugError as error:
            outcome.append(([], str(error)))
        except BaseException as error:  # a thread's exception has nowhere else to go
            outcome.append(([], f"list_models failed: {type(error).__name__}: {error}"))

    worker = threading.Thread(target=work, name=f"modelplug-list-{provider}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if not outcome:
        return [], f"provider {provider!r}: list_models did not answer within {timeout_s:g} s"
    return outcome[0]


def _settings(row: dict[str, Any]) -> str:
    parts = [f"{key}={json.dumps(value)}" for key, value in {**row["options"], **row["defaults"]}.items()]
    if row["fallback"]:
        parts.append("fallback: " + ", ".join(row["fallback"]))
    return ", ".join(parts)


@click.command(
    short_help="List model aliases and the models providers offer.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def models(as_json: bool) -> None:
    """List the model aliases of the config file ($MODELPLUG_CONFIG, else <user config
    dir>/modelplug/config.toml; see docs/configuration.md) with their settings, then the models of
    the providers that can list theirs. Use an alias as a model: `modelplug run -m ALIAS`.

    Exit status: 0 ok, 2 the config file is malformed.
    """
    path, aliases = alias_rows()
    providers = provider_model_rows()
    if as_json:
        click.echo(json.dumps({"config": path, "aliases": aliases, "providers": providers}, indent=2))
        return
    if aliases:
        click.echo(f"Aliases ({path}):")
        for row in aliases:
            target = row["spec"] if row["spec"] == row["model"] else f"{row['model']} ({row['spec']})"
            click.echo(f"  {row['name']}: {target if row['error'] is None else row['model']}")
            if row["error"]:
                click.echo(f"    error: {row['error']}")
            settings = _settings(row)
            if settings:
                click.echo(f"    {settings}")
    else:
        click.echo(f"No aliases ({path}: add [models.<alias>] tables, see docs/configuration.md).")
    for row in providers:
        click.echo(f"{row['name']}:")
        if row["error"]:
            click.echo(f"  error: {row['error']}")
        for spec in row["models"]:
            click.echo(f"  {spec}")
