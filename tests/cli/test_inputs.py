"""What the commands read besides their options (:mod:`modelplug.cli.inputs`): the prompt from an
argument or standard input, and the tools named by ``--tool``, through the real commands and directly."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from modelplug.agents import BUILTIN_TOOLS
from modelplug.cli import main
from modelplug.cli.inputs import load_tools
from tests.cli.conftest import responses


@pytest.mark.parametrize(
    ("stdin", "needle"),
    [
        (b"caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 3)"),  # was sent on with a lone surrogate
        (b"\x7fELF\x02\x01\x01\x00\xff\xfe", "not UTF-8 text (byte 0xff at offset 8)"),
    ],
)
def test_stdin_that_is_not_utf8_is_a_usage_error(runner: CliRunner, stdin: bytes, needle: str) -> None:
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("x")], input=stdin)
    assert result.exit_code == 2 and needle in result.stderr, result.output


def test_prompt_argument_that_is_not_utf8_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["run", "-m", "replay:x", "-o", responses("x"), "caf\udce9"])  # argv bytes b"caf\xe9"
    assert result.exit_code == 2 and "PROMPT is not UTF-8 text" in result.stderr


@pytest.mark.parametrize(
    ("reference", "needle"),
    [
        ("nonsense", "neither a built-in tool"),
        ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz'"),
        ("modelplug.agents:nothing_here", "has no attribute 'nothing_here'"),
        ("/no/such/file.py:f", "no such file"),
    ],
)
def test_bad_tools_are_usage_errors(reference: str, needle: str) -> None:
    result = CliRunner().invoke(main, ["agent", "Go", "-m", "replay:x", "-o", responses(["x"]), "--tool", reference])
    assert result.exit_code == 2
    assert needle in result.stderr


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("import sys\nsys.exit(3)\n", "cannot import '{path}': SystemExit: 3"),
        ("raise RuntimeError('no tools today')\n", "cannot import '{path}': RuntimeError: no tools today"),
    ],
)
def test_a_tool_file_failing_on_import_is_a_usage_error(tmp_path: Path, source: str, needle: str) -> None:
    path = tmp_path / "tools.py"
    path.write_text(source)
    result = CliRunner().invoke(main, ["agent", "Go", "-m", "replay:x", "-o", responses(["x"]), "-t", f"{path}:f"])
    assert result.exit_code == 2, result.output
    assert needle.format(path=path) in result.stderr


def test_no_tool_gives_the_builtins_and_a_list_attribute_gives_each_of_its_tools(tmp_path: Path) -> None:
    assert load_tools(()) == list(BUILTIN_TOOLS.values())
    module = tmp_path / "kit.py"
    module.write_text(
        "def a() -> str:\n    return 'a'\n\n\ndef b() -> str:\n    return 'b'\n\n\n"
        "class Box:\n    inner = staticmethod(a)\n\n\nALL = [a, b]\n",
        encoding="utf-8",
    )
    listed = load_tools((f"{module}:ALL", "calculator"))
    assert [tool.__name__ for tool in listed[:2]] == ["a", "b"] and listed[2] is BUILTIN_TOOLS["calculator"]
    [inner] = load_tools((f"{module}:Box.inner",))  # a dotted attribute path
    assert inner() == "a"
    with pytest.raises(click.BadParameter, match=r"has no attribute 'Box\.missing'"):
        load_tools((f"{module}:Box.missing",))
