"""scripts/rename_private_modules.py: a no-op on this tree, and it fixes a tree written before the renames."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "rename_private_modules", ROOT / "scripts" / "rename_private_modules.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_this_tree_has_every_rename_already() -> None:
    """No reference to an old module name is left (and none can come back unnoticed)."""
    assert _script().run(ROOT, check=True, say=lambda line: None) == []


def test_a_tree_from_before_the_renames_is_fixed_once(tmp_path: Path) -> None:
    script = _script()
    package = tmp_path / "core" / "modelplug"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('__all__ = ["Model", "load_model"]\n')
    (package / "model.py").write_text(
        '"""See :class:`modelplug.stream.ChatStream`."""\nfrom modelplug import plugins\n'
    )
    plugin = tmp_path / "plugins" / "acme" / "src" / "modelplug_acme"
    plugin.mkdir(parents=True)
    (plugin / "provider.py").write_text(
        "from modelplug.model import Model\nfrom modelplug.model import parse_spec\nfrom modelplug.types import Usage\n"
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "hooks.md").write_text("`modelplug.provider.Provider` in core/modelplug/provider.py\n")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_x.py").write_text("from tests.toolcalls.strategies import split_points\n")

    assert script.run(tmp_path, check=False, say=lambda line: None)
    assert not (package / "model.py").exists()
    assert (package / "_model.py").read_text() == (
        '"""See :class:`modelplug._stream.ChatStream`."""\nfrom modelplug import _plugins as plugins\n'
    )
    assert (plugin / "provider.py").read_text() == (
        "from modelplug import Model\nfrom modelplug._model import parse_spec\nfrom modelplug.types import Usage\n"
    )
    assert (tmp_path / "docs" / "hooks.md").read_text() == (
        "`modelplug._provider.Provider` in core/modelplug/_provider.py\n"
    )
    assert (tests / "test_x.py").read_text() == "from tests.strategies import splits\n"
    assert script.run(tmp_path, check=True, say=lambda line: None) == []
