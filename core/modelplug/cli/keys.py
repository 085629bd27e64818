"""``modelplug keys``: API keys kept in a file readable only by the user (:mod:`modelplug._keys`).

``keys set NAME`` stores a key (typed at a hidden prompt, or read from stdin when piped, or given
with ``--value``); ``keys list`` shows the names (never the keys); ``keys path`` prints the file's
path. An alias uses a key with ``api_key = "key:NAME"`` (see ``docs/configuration.md``).
"""

from __future__ import annotations

import sys

import click

__all__ = ["keys"]


@click.group(
    short_help="Store API keys outside code and config files.", context_settings={"help_option_names": ["-h", "--help"]}
)
def keys() -> None:
    """Manage the keys file ($MODELPLUG_KEYS, else <user config dir>/modelplug/keys.json, mode
    0600). An alias refers to a key with `api_key = "key:NAME"`."""


@keys.command("set", short_help="Store the key NAME.")
@click.argument("name")
@click.option("--value", metavar="KEY", help="The key (else a hidden prompt, or stdin when piped).")
def set_(name: str, value: str | None) -> None:
    """Store the key NAME (replacing it if it exists)."""
    from modelplug._keys import set_key

    if value is None:
        if sys.stdin is not None and not sys.stdin.isatty():
            value = sys.stdin.read().strip()
        else:
            value = click.prompt(f"Key for {name}", hide_input=True)
    path = set_key(name, value)
    click.echo(f"Key {name!r} stored in {path}", err=True)


@keys.command("list", short_help="List the names of the stored keys.")
def list_() -> None:
    """List the names of the stored keys (the keys themselves are never shown)."""
    from modelplug._keys import read_keys

    for name in sorted(read_keys()):
        click.echo(name)


@keys.command("path", short_help="Print the path of the keys file.")
def path() -> None:
    """Print the path of the keys file."""
    from modelplug._keys import keys_path

    click.echo(str(keys_path()))
