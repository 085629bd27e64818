"""``modelplug plugins``: the installed providers, without loading any model.

Each plugin is imported on its own with a time limit (:data:`DEFAULT_IMPORT_TIMEOUT_S` seconds by
default), so a hanging plugin is listed as failed instead of hanging the command. What is listed,
and the ``--json`` form: ``docs/cli.md`` (``modelplug plugins``). The core's reserved options,
which every provider takes, are listed once, after the providers.
"""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = ["DEFAULT_IMPORT_TIMEOUT_S", "plugins", "provider_rows", "reserved_option_types"]

#: Seconds ``modelplug plugins`` waits for one plugin's import before listing it as failed.
DEFAULT_IMPORT_TIMEOUT_S = 20.0


def _type_name(value: Any) -> str:
    if value is object:  # any JSON value (the command line reads it as JSON)
        return "JSON"
    return value.__name__ if isinstance(value, type) else str(value)


def reserved_option_types() -> dict[str, str]:
    """The core's reserved model options (:data:`modelplug.reserved.RESERVED_OPTIONS`), which every
    provider takes and no ``option_types`` hook declares: name -> type name, sorted by name
    (``capabilities`` and ``price`` are JSON objects: ``dict``)."""
    from modelplug.reserved import RESERVED_OPTION_TYPES, RESERVED_OPTIONS

    return {name: _type_name(RESERVED_OPTION_TYPES.get(name, dict)) for name in sorted(RESERVED_OPTIONS)}


def provider_rows(
    import_timeout_s: float | None = DEFAULT_IMPORT_TIMEOUT_S,
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """``(providers, not_installed)`` as described in the module docstring; each plugin's import is
    limited to ``import_timeout_s`` seconds (``None``: no limit)."""
    from modelplug import _plugins as plugins
    from modelplug.cli.options import provider_option_types
    from modelplug.errors import ModelplugError

    rows: list[dict[str, Any]] = []
    for info in plugins.list_providers(timeout_s=import_timeout_s):
        row: dict[str, Any] = {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "ok": info.ok,
            "error": info.error,
            "hooks": list(info.hooks),
            "option_types": {},
        }
        if info.ok and "option_types" in info.hooks:
            try:
                declared = provider_option_types(info.name, "")
                row["option_types"] = {key: _type_name(value) for key, value in declared.items()}
            except ModelplugError as error:
                row["option_types_error"] = str(error)
        rows.append(row)
    names = {row["name"] for row in rows}
    missing = [
        {"name": name, "install": plugins.install_hint(extra)}
        for name, extra in sorted(plugins.KNOWN_EXTRAS.items())
        if name not in names
    ]
    return rows, missing


def _echo_text(rows: list[dict[str, Any]], missing: list[dict[str, str]]) -> None:
    if not rows:
        click.echo("No providers installed.")
    for row in rows:
        origin = " ".join(str(part) for part in (row["distribution"], row["version"]) if part) or "(registered in code)"
        click.echo(f"{row['name']}  {origin}" + ("" if row["ok"] else "  [failed to load]"))
        if row["error"]:
            click.echo(f"  error: {row['error']}")
            continue
        click.echo(f"  hooks: {', '.join(row['hooks']) or '(none)'}")
        if row["option_types"]:
            click.echo("  options: " + ", ".join(f"{key} ({kind})" for key, kind in row["option_types"].items()))
        if row.get("option_types_error"):
            click.echo(f"  options: error: {row['option_types_error']}")
    if rows:
        reserved = reserved_option_types()
        click.echo("Every provider also takes: " + ", ".join(f"{key} ({kind})" for key, kind in reserved.items()))
    if missing:
        click.echo("Not installed: " + ", ".join(f"{m['name']} ({m['install']})" for m in missing))


@click.command(
    short_help="List the installed providers and their load errors.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
@click.option(
    "--import-timeout",
    "import_timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_IMPORT_TIMEOUT_S,
    show_default=True,
    help="Seconds to wait for each plugin's import; a slower plugin is listed as failed.",
)
def plugins(as_json: bool, import_timeout: float) -> None:
    """List the installed providers: name, distribution and version, hooks, model options, load errors."""
    rows, missing = provider_rows(import_timeout)
    if as_json:
        listing = {"providers": rows, "reserved_options": reserved_option_types(), "not_installed": missing}
        click.echo(json.dumps(listing, indent=2))
    else:
        _echo_text(rows, missing)
