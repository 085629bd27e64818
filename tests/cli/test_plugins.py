"""``modelplug plugins``: the core's reserved options, which no provider's ``option_types`` declares,
are listed once, in the text and in ``--json``."""

from __future__ import annotations

import json

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
