"""``modelplug plugins``: the core's reserved options, which no provider's ``option_types`` declares,
are listed once, in the text and in ``--json``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from modelplug.cli import main
from modelplug.reserved import RESERVED_OPTIONS


def test_the_reserved_options_are_listed_once_with_their_types(runner: CliRunner) -> None:
    listing = json.loads(runner.invoke(main, ["plugins", "--json"], catch_exceptions=False).output)
    assert set(listing["reserved_options"]) == set(RESERVED_OPTIONS)
    assert listing["reserved_options"]["max_retries"] == "int"
    assert listing["reserved_options"]["retry_backoff"] == "float"
    assert listing["reserved_options"]["capabilities"] == "dict"
    text = runner.invoke(main, ["plugins"], catch_exceptions=False).output
    [line] = [line for line in text.splitlines() if line.startswith("Every provider also takes: ")]
    assert all(f"{name} (" in line for name in RESERVED_OPTIONS)


def test_a_provider_not_installed_gets_the_checkout_install_command(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The distributions are not on a package index: ``pip install 'modelplug[nothere]'`` would
    resolve ``modelplug-nothere`` from whatever index pip uses (README, CONTRIBUTING "Releasing")."""
    from modelplug import _plugins as plugins

    monkeypatch.setitem(plugins.KNOWN_EXTRAS, "nothere", "modelplug[nothere]")
    listing = json.loads(runner.invoke(main, ["plugins", "--json"], catch_exceptions=False).output)
    missing = {row["name"]: row["install"] for row in listing["not_installed"]}
    assert missing["nothere"] == "python scripts/install_from_checkout.py 'modelplug[nothere]'"
    text = runner.invoke(main, ["plugins"], catch_exceptions=False).output
    assert "nothere (python scripts/install_from_checkout.py 'modelplug[nothere]')" in text
    assert "pip install" not in text
