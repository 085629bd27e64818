"""The example provider installs from built wheels into a fresh virtual environment and runs
through ``modelplug run``."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import modelplug

ROOT = Path(__file__).resolve().parents[3]
PROMPT = "It was the best of times"


@pytest.mark.slow
def test_the_example_installs_from_a_wheel_and_runs_through_the_cli(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    # The core and the example come from this checkout; their dependencies' wheels are collected
    # into the same folder (from pip's cache, or the index on a fresh machine).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "-w",
            str(wheels),
            str(ROOT),
            str(ROOT / "plugins" / "example"),
        ],
        check=True,
    )
    built = sorted(p.name.split("-")[0] for p in wheels.glob("modelplug*.whl"))
    assert built == ["modelplug", "modelplug_example"]

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheels),
            "modelplug-example",
        ],
        check=True,
    )

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
