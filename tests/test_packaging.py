"""The distributions build as wheels and install from a folder alone, extras included."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.wheels import install_from_wheels


@pytest.mark.slow
def test_core_and_replay_install_from_a_wheel_folder_with_no_index(tmp_path: Path) -> None:
    bin_dir = install_from_wheels(tmp_path, [".", "plugins/replay"], "modelplug[replay]")
    script = (
        "import json, modelplug;"
        "m = modelplug.load_model('replay:demo', responses=['It works.']);"
        "names = [p.name for p in modelplug.list_providers()];"
        "print(json.dumps({'providers': names, 'answer': m.generate('hi').content}))"
    )
    out = subprocess.run(
        [str(bin_dir / "python"), "-c", script], check=True, capture_output=True, text=True, cwd=tmp_path
    ).stdout
    assert json.loads(out) == {"providers": ["replay"], "answer": "It works."}
    # the console script is installed too
    version = subprocess.run([str(bin_dir / "modelplug"), "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert version.returncode == 0 and "0.1.0" in version.stdout
