"""The distributions build as wheels and install from a folder alone, extras included; every extra
names a distribution of this repository; the documented checkout install works in a fresh venv."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

from tests.wheels import ROOT, install_from_wheels

INSTALL = ROOT / "scripts" / "install_from_checkout.py"


def _project(folder: Path) -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project


def test_every_extra_names_a_distribution_built_from_this_repository() -> None:
    # An extra naming a distribution not built here would resolve it from a public index: someone else's package.
    built = {str(_project(p.parent)["name"]) for p in ROOT.glob("plugins/*/pyproject.toml")}
    extras = _project(ROOT)["optional-dependencies"]
    assert isinstance(extras, dict) and extras
    # tool extras (``testing``: what the HTTP test suite needs; ``serve`` and ``ray``: modelplug serve)
    # name well-known libraries, not providers
    tools = {"testing", "serve", "ray"}
    for extra, requirements in extras.items():
        if extra in tools:
            continue
        for requirement in requirements:
            name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
            assert name in built, f"extra {extra!r} names {name!r}, which no plugins/*/pyproject.toml builds"
    # and every provider built here has its own extra, all of them in "all" (the example plugin is a template)
    named = {r for e, rs in extras.items() if e != "all" and e not in tools for r in rs}
    assert named == set(extras["all"]) and built - named == {"modelplug-example"}


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


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "check"),
    [
        ("replay", "print(modelplug.load_model('replay:demo', responses=['It works.']).generate('hi').content)"),
        ("transformers", "print(','.join(p.name for p in modelplug.list_providers()))"),
    ],
)
def test_the_documented_checkout_install_works_in_a_fresh_venv(tmp_path: Path, extra: str, check: str) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    wheels = tmp_path / "wheels"
    command = [sys.executable, str(INSTALL), f"modelplug[{extra}]", "--python", python, "--wheels", str(wheels)]
    subprocess.run([*command, "--quiet"], check=True, cwd=tmp_path, timeout=1500)
    plugins = subprocess.run([python, "-m", "modelplug", "plugins"], capture_output=True, text=True, cwd=tmp_path)
    assert plugins.returncode == 0 and extra in plugins.stdout, plugins.stdout + plugins.stderr
    out = subprocess.run([python, "-c", f"import modelplug; {check}"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == {"replay": "It works.", "transformers": "transformers"}[extra]


def test_every_distribution_has_a_license_urls_and_a_readme_that_works_on_an_index() -> None:
    # A package index shows the README alone: a relative link into the repository leads nowhere there.
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License")
    for folder in [ROOT, *sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))]:
        project = _project(folder)
        assert project["license"] == "MIT" and (folder / "LICENSE").read_text(encoding="utf-8") == license_text
        urls = project["urls"]
        assert isinstance(urls, dict) and {"Source", "Issues"} <= set(urls), folder
        readme = folder / str(project["readme"])
        links = re.findall(r"\]\(([^)]+)\)", readme.read_text(encoding="utf-8"))
        relative = [link for link in links if "://" not in link and not link.startswith(("#", "mailto:"))]
        assert folder == ROOT or not relative, f"{readme}: relative links {relative}"
