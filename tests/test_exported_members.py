"""What ``modelplug`` and its public modules export: ``__all__``, the lazy-import table and the
real attributes agree (after httpx's test of the same name)."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys

import pytest

import modelplug

PUBLIC_MODULES = [
    "modelplug.types",
    "modelplug.errors",
    "modelplug.hookspecs",
    "modelplug.wire",
    "modelplug.chat_client",
    "modelplug.client_stream",
    "modelplug.reserved",
    "modelplug.retry",
    "modelplug.secrets",
    "modelplug.stops",
    "modelplug.tools",
    "modelplug.log",
    "modelplug.config",
    "modelplug.toolcalls",
    "modelplug.testing",
    "modelplug.testing.http",
    "modelplug.agents",
    "modelplug.cli",
    "modelplug.serve",
]


def test_all_is_sorted_and_has_no_duplicate() -> None:
    assert modelplug.__all__ == sorted(set(modelplug.__all__))


def test_all_is_the_eager_names_plus_the_lazy_table() -> None:
    """Every name in ``__all__`` is either imported by ``modelplug/__init__.py`` or in ``_LAZY``;
    nothing public is left out of ``__all__``."""
    code = (
        "import inspect, json, modelplug;"
        "print(json.dumps(sorted(n for n, v in vars(modelplug).items() if not n.startswith('_')"
        " and not inspect.ismodule(v))))"
    )
    eager = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    eager_names = set(json.loads(eager)) - {"annotations", "import_module", "TYPE_CHECKING", "Any"}
    assert not eager_names & set(modelplug._LAZY)
    assert sorted(eager_names | set(modelplug._LAZY) | {"__version__"}) == modelplug.__all__


@pytest.mark.parametrize("name", sorted(modelplug._LAZY))
def test_the_lazy_table_names_where_each_object_is_defined(name: str) -> None:
    value = getattr(modelplug, name)
    assert not inspect.ismodule(value)
    assert getattr(importlib.import_module(modelplug._LAZY[name]), name) is value
    assert value.__module__ == modelplug._LAZY[name]


@pytest.mark.parametrize("name", [n for n in sorted(modelplug.__all__) if n != "__version__"])
def test_each_exported_member_is_defined_in_modelplug(name: str) -> None:
    """Classes and functions come from modelplug's own modules (``hookimpl`` is pluggy's marker object)."""
    value = getattr(modelplug, name)
    if name == "hookimpl":
        assert value is importlib.import_module("modelplug.hookspecs").hookimpl
        return
    assert getattr(value, "__module__", "").split(".")[0] == "modelplug", (name, value)


def test_dir_lists_exactly_all() -> None:
    assert dir(modelplug) == sorted(modelplug.__all__)


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        modelplug.no_such_thing  # noqa: B018


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_a_public_module_exports_what_it_defines(module_name: str) -> None:
    """Each name in the module's ``__all__`` (once) is a real attribute."""
    module = importlib.import_module(module_name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), f"{module_name}.__all__ names a member twice"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == []
