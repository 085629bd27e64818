"""Docstrings and docs cannot drift: every cross-reference resolves to where the object is defined,
and no docstring quotes a timing (timings live in ``docs/benchmarks.md``, produced by ``bench/``)."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "core", *sorted((ROOT / "plugins").glob("*/src"))]
ROLE = re.compile(r":(mod|class|func|meth):`~?\.?([\w.]+)(?:\(\))?`")
# a backticked dotted name in the docs: `modelplug.x.y` or `modelplug_openai.provider.f()`
DOCS_NAME = re.compile(r"`((?:modelplug|modelplug_\w+)(?:\.\w+)+)(?:\(\))?`")
# dotted names in the docs that are wire tags, not Python objects
NOT_PYTHON = {"modelplug.result"}
# A measured figure: "12 ms", "3.5 µs", "0.2 seconds", "40ns"; in words: "tens of microseconds",
# "a few microseconds", "about a second"; a ratio: "3x faster", "(5.7×)", "ten times the cost",
# "twice as fast". Units ("a timeout in milliseconds"), counts ("three times") and versions
# ("since 0.2x;") are not figures, nor "a few seconds" (a grace period, not a measurement).
_UNIT = r"(?:micro|milli|nano)?seconds?"
_COMPARED = r"(?:faster|slower|quicker|cheaper|more|less|the|as)"
_NUMBER_WORD = r"(?:two|three|four|five|six|seven|eight|nine|ten|twenty|fifty|a\s+hundred|hundreds?|thousands?)"
TIMING = re.compile(
    r"\b\d+(?:\.\d+)?\s?(?:µs|us|ns|ms|(?:micro|milli|nano)?seconds?)(?!\w)"
    r"|\b(?:tens|hundreds|thousands|a\s+few|several)(?:\s+of)?\s+(?:micro|milli|nano)seconds?\b"
    rf"|\babout\s+(?:a|an|one|half\s+a)\s+{_UNIT}\b"
    rf"|\b\d+(?:\.\d+)?\s?[x×](?:\s+{_COMPARED}\b|\))"
    rf"|\b{_NUMBER_WORD}\s+times\s+{_COMPARED}\b"
    r"|\btwice\s+as\s+(?:fast|slow|quick|much)\b",
    re.IGNORECASE,
)


def _module_name(source: Path, path: Path) -> str:
    parts = list(path.relative_to(source).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _docstrings() -> Iterator[tuple[str, str, str, str]]:
    """(file, module, enclosing class or "", docstring) for every module, class and function."""
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            module = _module_name(source, path)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where = str(path.relative_to(ROOT))

            def visit(
                node: ast.AST, owner: str, where: str = where, module: str = module
            ) -> Iterator[tuple[str, str, str, str]]:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                        inner = f"{owner}.{child.name}".lstrip(".") if isinstance(child, ast.ClassDef) else owner
                        doc = ast.get_docstring(child, clean=False)
                        if doc:
                            yield where, module, inner, doc
                        yield from visit(child, inner)

            doc = ast.get_docstring(tree, clean=False)
            if doc:
                yield where, module, "", doc
            yield from visit(tree, "")


def _attr_path(obj: Any, names: list[str]) -> Any:
    for name in names:
        obj = getattr(obj, name)
    return obj


def _defined_in(module: Any, name: str, obj: Any) -> bool:
    """``obj``, reached as ``module.name``, is defined there or re-exported in ``module.__all__``."""
    if inspect.ismodule(obj):
        return True
    home = getattr(obj, "__module__", None)
    return home is None or home == module.__name__ or name in getattr(module, "__all__", ())


def resolve(target: str, module: str = "", owner: str = "") -> str | None:
    """Why ``target`` (as written in ``module``, inside class ``owner``) does not resolve, or None."""
    parts = target.split(".")
    # an absolute dotted path: the longest importable module prefix, then attributes
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            found = importlib.import_module(name)
        except ImportError:
            continue
        try:
            _attr_path(found, parts[cut:])
        except AttributeError:
            return f"{name} has no {'.'.join(parts[cut:])}"
        if cut < len(parts) and not _defined_in(found, parts[cut], _attr_path(found, parts[cut : cut + 1])):
            home = getattr(_attr_path(found, parts[cut : cut + 1]), "__module__", "?")
            return f"{parts[cut]} is defined in {home}, not {name}"
        return None
    if not module:
        return "no such module"
    # a name relative to the module (or the class) that holds the docstring
    scope = importlib.import_module(module)
    scopes = [scope]
    if owner:
        scopes.insert(0, _attr_path(scope, owner.split(".")))
    scopes += [value for value in vars(scope).values() if inspect.isclass(value)]
    for candidate in scopes:
        try:
            _attr_path(candidate, parts)
            return None
        except AttributeError:
            continue
    if len(parts) == 1 and hasattr(builtins, parts[0]):
        return None
    return f"not found from {module}"


def _docstring_references() -> list[tuple[str, str, str, str]]:
    return [
        (where, module, owner, match.group(2))
        for where, module, owner, doc in _docstrings()
        for match in ROLE.finditer(doc)
    ]


def test_the_checker_finds_references_and_rejects_a_stale_one() -> None:
    assert len(_docstring_references()) > 100
    assert resolve("modelplug.errors.ProviderError") is None
    assert resolve("modelplug.Model.generate") is None  # re-exported by modelplug.__all__
    assert resolve("modelplug.errors.NoSuchError") is not None
    assert resolve("modelplug.wire.InvalidOptionError") is not None  # imported there, defined in errors


def test_every_docstring_reference_resolves() -> None:
    broken = []
    for where, module, owner, target in _docstring_references():
        problem = resolve(target, module, owner)
        if problem:
            broken.append(f"{where}: {target}: {problem}")
    assert broken == []


def test_every_dotted_name_in_the_docs_resolves() -> None:
    broken = []
    for page in [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md", ROOT / "ARCHITECTURE.md"]:
        if not page.exists():
            continue
        for match in DOCS_NAME.finditer(page.read_text(encoding="utf-8")):
            if match.group(1) in NOT_PYTHON:
                continue
            problem = resolve(match.group(1))
            if problem:
                broken.append(f"{page.relative_to(ROOT)}: {match.group(1)}: {problem}")
    assert broken == []


def test_no_docstring_quotes_a_timing() -> None:
    quoted = [
        f"{where}: {match.group(0)!r}"
        for where, _module, _owner, doc in _docstrings()
        for match in TIMING.finditer(doc)
    ]
    assert quoted == []


@pytest.mark.parametrize(
    "text",
    [
        "takes 12 ms",
        "3.5 µs per delta",
        "in 0.2 seconds",
        "40ns",
        "costs tens of microseconds",
        "about a millisecond per schema",
        "a few microseconds",
        "about a second for 50k tokens",
        "3x faster",
        "5.7× the raw loop",
        "(55x)",
        "ten times slower",
        "about ten times the cost",
        "twice as fast",
    ],
)
def test_the_timing_pattern_sees_a_figure(text: str) -> None:
    assert TIMING.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "retries 3 times",
        "retries three times",
        "a timeout in milliseconds",
        "a second call",
        "open streams get a few seconds",
        "not a ValueError since 0.2x;",
        "a 2-tuple",
        "the exponent",
        "box(x)",
        "0x1F",
    ],
)
def test_the_timing_pattern_leaves_other_text_alone(text: str) -> None:
    assert not TIMING.search(text)


MAX_MODULE_DOCSTRING_LINES = 15


def test_module_docstrings_are_short() -> None:
    """What the module is for in a few lines; the details live in docs/."""
    long = [
        path.relative_to(ROOT).as_posix()
        for source in SOURCES
        for path in sorted(source.rglob("*.py"))
        if len((ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").splitlines())
        > MAX_MODULE_DOCSTRING_LINES
    ]
    assert long == []
