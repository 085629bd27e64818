"""Building this repository's distributions as wheels and installing them into fresh virtual
environments from that folder alone (``--no-index``), as a user without our index would."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

__all__ = ["ROOT", "install_from_wheels"]

ROOT = Path(__file__).resolve().parents[1]


def install_from_wheels(tmp_path: Path, projects: list[str], requirement: str) -> Path:
    """Build ``projects`` (paths relative to the repository root, ``"."`` for the core) into
    ``tmp_path/wheels`` with their dependencies' wheels, create a venv in ``tmp_path/venv`` and
    install ``requirement`` into it from that folder with no index. Returns the venv's ``bin`` folder.

    Raises:
        AssertionError: a project did not build into a ``modelplug*`` wheel.
        subprocess.CalledProcessError: pip failed.
    """
    wheels = tmp_path / "wheels"
    sources = [str(ROOT / project) for project in projects]
    # dependencies' wheels come from pip's cache, or the index on a fresh machine
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "-w", str(wheels), *sources], check=True)
    built = sorted(p.name.split("-")[0] for p in wheels.glob("modelplug*.whl"))
    assert len(built) == len(projects), f"expected {len(projects)} modelplug wheels, built {built}"
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheels)]
    subprocess.run([*pip, requirement], check=True)
    return bin_dir
