"""The distributions build as wheels and install from a folder alone, extras included."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_core_and_replay_install_from_a_wheel_folder_with_no_index(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    # Build both distributions, and collect the wheels of their dependencies into the same folder.
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
            str(ROOT / "plugins" / "replay"),
        ],
        check=True,
    )
    built = sorted(p.name for p in wheels.glob("modelplug*.whl"))
    assert [n.split("-")[0] for n in built] == ["modelplug", "modelplug_replay"]

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheels),
            "modelplug[replay]",
        ],
        check=True,
    )
    script = (
        "import json, modelplug;"
        "m = modelplug.load_model('replay:demo', responses=['It works.']);"
        "names = [p.name for p in modelplug.list_providers()];"
        "print(json.dumps({'providers': names, 'answer': m.generate('hi').content}))"
    )
    out = subprocess.run([str(python), "-c", script], check=True, capture_output=True, text=True, cwd=tmp_path).stdout
    result = json.loads(out)
    assert result == {"providers": ["replay"], "answer": "It works."}
    # the console script is installed too
    version = subprocess.run(
        [str(env_dir / "bin" / "modelplug"), "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert version.returncode == 0 and "0.1.0" in version.stdout
