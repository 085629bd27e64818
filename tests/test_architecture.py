"""The invariants of ARCHITECTURE.md, checked on the source: no import circle in the core."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "core" / "modelplug"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(CORE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, module: str, is_package: bool, *, deferred: bool) -> Iterator[str]:
    """Absolute names imported by ``module``: at import time, or (``deferred``) also inside functions.

    Imports under ``if TYPE_CHECKING:`` never run and are skipped.
    """
    package = module if is_package else module.rpartition(".")[0]

    def walk(nodes: list[ast.stmt]) -> Iterator[str]:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                yield from walk(node.orelse)
                continue
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                yield base
                yield from (f"{base}.{alias.name}" for alias in node.names)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not deferred:
                continue
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    yield from walk([c for c in children if isinstance(c, ast.stmt | ast.ExceptHandler)])  # type: ignore[misc]

    yield from walk(tree.body)


def import_graph(*, deferred: bool = False) -> dict[str, set[str]]:
    """Module -> the core modules it imports (``deferred``: counting imports inside functions too)."""
    paths = {_module_name(p): p for p in CORE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for imported in _imports(tree, name, path.name == "__init__.py", deferred=deferred):
            # "from modelplug import wire" names a module; "from modelplug.wire import x" its parent
            while imported and imported not in paths:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        graph[name] = targets
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_core_imports() -> None:
    graph = import_graph()
    assert "modelplug.errors" in graph["modelplug.wire"]
    assert "modelplug.types" in graph["modelplug"]


def test_find_cycles_reports_a_circle() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_core_has_no_import_circle() -> None:
    """Not even through an import inside a function: such an import cannot break import order, but
    it still ties the modules into one. Package ``__init__`` modules re-export their submodules: a
    submodule importing its own package is not a circle, and neither is an import under
    ``TYPE_CHECKING``.
    """
    assert find_cycles(import_graph(deferred=True)) == []


def test_the_graph_sees_imports_inside_functions() -> None:
    """Deferred imports count: ``modelplug.cli.run`` imports the display only inside a function."""
    assert "modelplug.cli.display" not in import_graph()["modelplug.cli.run"]
    assert "modelplug.cli.display" in import_graph(deferred=True)["modelplug.cli.run"]


CLIENT_KIT = [
    "modelplug.errors",
    "modelplug.types",
    "modelplug.tools",
    "modelplug.secrets",
    "modelplug.wire",
    "modelplug.retry",
    "modelplug.chat_client",
    "modelplug.client_stream",
]
MODEL_LAYER = [
    "modelplug._load",
    "modelplug._model",
    "modelplug._stream",
    "modelplug._astream",
    "modelplug._plugins",
    "modelplug._provider",
    "modelplug._fallback",
    "modelplug.config",
    "modelplug._pipeline",
    "modelplug._bridges",
]


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_client_kit_never_imports_the_model_layer() -> None:
    """A plugin that speaks HTTP with the client kit does not load the model machinery."""
    graph = import_graph(deferred=True)
    assert {kit: sorted(_reachable(graph, kit) & set(MODEL_LAYER)) for kit in CLIENT_KIT} == {
        kit: [] for kit in CLIENT_KIT
    }


def test_plugins_import_only_the_public_core() -> None:
    """A built-in provider uses what a third-party one can: no private ``modelplug._x`` module."""
    private = re.compile(r"\bmodelplug\.(_[a-z]\w*)")
    offenders = [
        f"{path.relative_to(CORE.parents[1])}: modelplug.{match.group(1)}"
        for path in sorted((CORE.parents[1] / "plugins").glob("*/src/**/*.py"))
        for match in private.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_each_top_level_core_module_has_its_test_file() -> None:
    """``core/modelplug/_x.py`` and ``x.py`` are tested in ``tests/core/test_x.py``."""
    modules = sorted(p.stem.lstrip("_") for p in CORE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    tests = {p.stem.removeprefix("test_") for p in (CORE.parents[1] / "tests" / "core").glob("test_*.py")}
    assert [m for m in modules if m not in tests] == []


#: The sub-packages whose modules are mirrored: ``core/modelplug/<package>/[sub/][_]x.py`` is tested in
#: ``tests/<package>/[sub/]test_x.py``.
MIRRORED_PACKAGES = ("agents", "cli", "serve", "testing", "toolcalls")

def _unmirrored_subpackage_modules(tests: Path = CORE.parents[1] / "tests") -> set[str]:
    missing = set()
    for package in MIRRORED_PACKAGES:
        for path in (CORE / package).rglob("*.py"):
            if path.stem in ("__init__", "__main__"):
                continue
            relative = path.relative_to(CORE)
            if not (tests / relative.parent / f"test_{path.stem.lstrip('_')}.py").is_file():
                missing.add(relative.with_suffix("").as_posix())
    return missing


def test_the_mirror_check_sees_subpackage_modules(tmp_path: Path) -> None:
    missing = _unmirrored_subpackage_modules()
    assert "toolcalls/_scan" not in missing  # tests/toolcalls/test_scan.py mirrors the private module
    assert "agents/agent" not in missing
    (tmp_path / "toolcalls").mkdir()
    (tmp_path / "toolcalls" / "test_scan.py").touch()
    without = _unmirrored_subpackage_modules(tmp_path)  # a tests folder with only test_scan.py
    assert {"toolcalls/xml_tags", "agents/agent"} <= without
    assert "toolcalls/_scan" not in without


def test_each_subpackage_module_has_its_test_file() -> None:
    """``core/modelplug/<package>/[_]x.py`` is tested in ``tests/<package>/test_x.py`` (cross-module
    tests live in ``test_e2e_*.py`` files)."""
    assert sorted(_unmirrored_subpackage_modules()) == [], "modules without their test file"
