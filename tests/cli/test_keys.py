"""``modelplug keys`` (:mod:`modelplug.cli.keys`): set, list and path on a keys file of the test's own."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelplug._keys import read_keys, set_key
from modelplug.cli import main
from modelplug.secrets import redact


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point MODELPLUG_KEYS at a temp dir; the keys file is not there yet."""
    monkeypatch.setenv("MODELPLUG_KEYS", str(tmp_path / "keys" / "keys.json"))
    return tmp_path / "keys" / "keys.json"


def test_keys_file_is_private_and_keys_are_secrets_once_read(keys: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["keys", "set", "work"], input="zz-work-key-0001\n")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(keys.parent).st_mode) == 0o700
    keys.chmod(0o644)  # loosened by hand: the next write makes it private again
    set_key("home", "zz-home-key-0002")
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o600
    listed = runner.invoke(main, ["keys", "list"])
    assert listed.output.split() == ["home", "work"]
    assert "zz-" not in listed.output
    assert runner.invoke(main, ["keys", "path"]).output.strip() == str(keys)
    assert read_keys() == {"home": "zz-home-key-0002", "work": "zz-work-key-0001"}
    assert redact("a zz-work-key-0001 b") == "a *** b"


def test_a_key_given_with_value_or_piped_is_stored_without_surrounding_space(keys: Path, runner: CliRunner) -> None:
    given = runner.invoke(main, ["keys", "set", "a", "--value", "zz-given-key-0021"])
    piped = runner.invoke(main, ["keys", "set", "b"], input="  zz-piped-key-0022 \n")
    assert given.exit_code == piped.exit_code == 0, given.output + piped.output
    assert f"Key 'b' stored in {keys}" in piped.stderr and "zz-" not in piped.output
    assert read_keys() == {"a": "zz-given-key-0021", "b": "zz-piped-key-0022"}


def test_an_empty_key_is_a_usage_error_and_the_file_keeps_its_keys(keys: Path, runner: CliRunner) -> None:
    set_key("kept", "zz-kept-key-0023")
    for args, stdin in [(["--value", ""], None), ([], "\n")]:
        result = runner.invoke(main, ["keys", "set", "new", *args], input=stdin)
        assert result.exit_code == 2 and "non-empty NAME and value" in result.output, result.output
    assert read_keys() == {"kept": "zz-kept-key-0023"}
    assert runner.invoke(main, ["keys", "list"]).output == "kept\n"
