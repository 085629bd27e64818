"""Install modelplug with any provider extra from this checkout, before (or without) a package index
that has the ``modelplug-*`` distributions.

    python scripts/install_from_checkout.py 'modelplug[transformers]'
    python scripts/install_from_checkout.py 'modelplug[replay,litellm]' --python .venv/bin/python

It builds a wheel of the core and of every provider under ``plugins/*`` (each folder with a
``pyproject.toml``) into ``build/checkout-wheels/`` and runs ``pip install --find-links`` on that
folder, with ``constraints.txt`` applied, into the Python given (the one running the script by
default). So ``modelplug[<extra>]`` resolves to the distributions built here, never to a
``modelplug-*`` name someone else published; third-party dependencies come from your index
(``PIP_INDEX_URL`` / ``PIP_EXTRA_INDEX_URL`` apply, e.g. for PyTorch's CPU build: see README.md).
Extra arguments after ``--`` are passed to ``pip install``. Exit status: pip's.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["ROOT", "build_wheels", "main", "projects"]

ROOT = Path(__file__).resolve().parents[1]


def projects() -> list[Path]:
    """The core's folder and every ``plugins/<name>`` folder holding a ``pyproject.toml``, sorted."""
    return [ROOT, *sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))]


def build_wheels(folder: Path, python: str = sys.executable) -> list[Path]:
    """Build a wheel of each of :func:`projects` into ``folder`` (emptied first; no dependencies).

    Returns the wheel paths. Raises ``subprocess.CalledProcessError`` if a build fails."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sources = [str(p) for p in projects()]
    subprocess.run([python, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder), *sources], check=True)
    return sorted(folder.glob("*.whl"))


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, build the wheels, install the requirements; returns pip's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("requirements", nargs="+", help="what to install, e.g. 'modelplug[transformers]'")
    parser.add_argument("--python", default=sys.executable, help="the Python to install into (default: this one)")
    parser.add_argument("--wheels", type=Path, default=ROOT / "build" / "checkout-wheels", help="the wheel folder")
    args, pip_args = parser.parse_known_args(argv)
    build_wheels(args.wheels, sys.executable)
    command = [args.python, "-m", "pip", "install", "--find-links", str(args.wheels)]
    command += ["-c", str(ROOT / "constraints.txt"), *[a for a in pip_args if a != "--"], *args.requirements]
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main())
