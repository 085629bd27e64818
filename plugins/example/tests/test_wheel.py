"""The example provider installs from built wheels into a fresh virtual environment and runs
through ``modelplug run``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.wheels import install_from_wheels

import modelplug

PROMPT = "It was the best of times"


@pytest.mark.slow
def test_the_example_installs_from_a_wheel_and_runs_through_the_cli(tmp_path: Path) -> None:
    # the core and the example from this checkout, installed with no index
    bin_dir = install_from_wheels(tmp_path, [".", "plugins/example"], "modelplug-example")
    listed = subprocess.run(
        [str(bin_dir / "modelplug"), "plugins", "--json"], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    assert [p["name"] for p in json.loads(listed.stdout)["providers"]] == ["example"], listed.stdout

    run = subprocess.run(
        [
            str(bin_dir / "modelplug"),
            "run",
            "-m",
            "example:default",
            "--temperature",
            "0",
            "--max-tokens",
            "12",
            PROMPT,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    with modelplug.load_model("example:default") as model:
        expected = model.generate(PROMPT, max_tokens=12, temperature=0).text
    assert run.stdout.strip() == expected.strip()
    assert expected.startswith(", it was the age of wisdom")
