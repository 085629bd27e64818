"""docs/hooks.md documents every hook specification, with its exact signature and docstring.

When a hook changes, print the new reference sections with ``python -m tests.core.test_hookspecs``
and paste them into docs/hooks.md.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelplug import hookspecs

HOOKS_MD = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc):`(~?)([\w.]+)`")


def hook_specs() -> dict[str, Callable[..., Any]]:
    """Every hook specification in :mod:`modelplug.hookspecs`, by name, in definition order."""
    return {name: f for name, f in vars(hookspecs).items() if callable(f) and hasattr(f, "modelplug_spec")}


def signature_text(spec: Callable[..., Any]) -> str:
    """``name(arg: type, ...) -> type`` from ``inspect.signature`` (annotations as written)."""
    signature = inspect.signature(spec)

    def show(annotation: Any) -> str:
        return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)

    parameters = ", ".join(f"{p.name}: {show(p.annotation)}" for p in signature.parameters.values())
    return f"{spec.__name__}({parameters}) -> {show(signature.return_annotation)}"


def markdown_doc(spec: Callable[..., Any]) -> str:
    """The hook's docstring with reST roles and literals turned into Markdown code."""
    text = inspect.getdoc(spec) or ""
    # reST: :class:`~a.b.C` shows C, :class:`a.b.C` shows a.b.C
    text = _ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", text)
    return text.replace("``", "`")


def reference_section(name: str, spec: Callable[..., Any]) -> str:
    """The Markdown section of one hook, as it appears in docs/hooks.md."""
    calls = "first non-`None` result" if spec.modelplug_spec["firstresult"] else "every implementation"  # type: ignore[attr-defined]
    return f"## `{name}`\n\n```python\n{signature_text(spec)}\n```\n\n*Calls: {calls}.*\n\n{markdown_doc(spec)}\n"


def _normal(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def hooks_md() -> str:
    return HOOKS_MD.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", list(hook_specs()))
def test_each_hook_is_documented_with_its_exact_signature(name: str, hooks_md: str) -> None:
    spec = hook_specs()[name]
    assert f"## `{name}`" in hooks_md, f"docs/hooks.md has no section for the {name!r} hook"
    assert f"```python\n{signature_text(spec)}\n```" in hooks_md, (
        f"docs/hooks.md does not show the signature of {name!r} as it is now:\n{signature_text(spec)}"
    )
    assert _normal(markdown_doc(spec)) in _normal(hooks_md), f"docs/hooks.md does not carry the docstring of {name!r}"


def test_the_docs_name_no_hook_that_does_not_exist(hooks_md: str) -> None:
    documented = set(re.findall(r"^## `(\w+)`", hooks_md, flags=re.MULTILINE))
    assert documented == set(hook_specs())


def test_the_signature_text_is_what_inspect_gives() -> None:
    want = "load(model_id: str, options: Mapping[str, Any], reserved: ReservedOptions) -> Any"
    assert signature_text(hookspecs.load) == want


if __name__ == "__main__":
    print("\n".join(reference_section(name, spec) for name, spec in hook_specs().items()))
