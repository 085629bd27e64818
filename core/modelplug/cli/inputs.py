"""What the commands read besides their options: the prompt (an argument or standard input) and the
tools named by ``--tool``. ``modelplug run`` and ``modelplug agent`` share them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["isatty", "load_tools", "read_prompt"]


def read_prompt(prompt: str | None) -> str:
    """``prompt``, or standard input when it is ``None`` or ``"-"`` (one trailing newline dropped).
    Standard input is read as UTF-8 (a leading byte-order mark is dropped).

    Raises:
        click.UsageError: the prompt is empty, standard input is closed, or the prompt is not
            UTF-8 text (binary data, another encoding: the message names the first bad byte).
    """
    if prompt is None or prompt == "-":
        stdin = sys.stdin
        if stdin is None:
            raise click.UsageError("no PROMPT given and stdin is closed: give PROMPT, or pipe it on stdin")
        if isatty(stdin):
            click.echo("Reading the prompt from stdin (end it with Ctrl-D)…", err=True)
        prompt = _read_utf8(stdin)
        if prompt.endswith("\n"):
            prompt = prompt[:-1]
    else:
        try:
            prompt.encode("utf-8")
        except UnicodeEncodeError as error:  # argv bytes that were not UTF-8 arrive as lone surrogates
            raise click.UsageError("PROMPT is not UTF-8 text: re-encode it (e.g. with iconv)") from error
    if not prompt.strip():
        raise click.UsageError("the prompt is empty: give PROMPT, or pipe it on stdin")
    return prompt


def _read_utf8(stdin: Any) -> str:
    buffer = getattr(stdin, "buffer", None)
    if buffer is None:  # a text-only stream (e.g. a test runner's)
        text: str = stdin.read()
        data = text.encode("utf-8", "surrogateescape")
    else:
        data = buffer.read()
    try:
        return str(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise click.UsageError(
            f"the prompt on stdin is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
            "re-encode it (e.g. with iconv) or give PROMPT"
        ) from error


def isatty(stream: Any) -> bool:
    """Whether ``stream`` is a terminal; ``False`` for a closed stream or an object without ``isatty``."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _import(module: str) -> Any:
    if module.endswith(".py"):
        path = Path(module).expanduser()
        if not path.is_file():
            raise click.BadParameter(f"no such file: {module!r}", param_hint="'--tool'")
        spec = importlib.util.spec_from_file_location(f"modelplug_agent_tools_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise click.BadParameter(f"cannot import {module!r}", param_hint="'--tool'")
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        return loaded
    return importlib.import_module(module)


def load_tools(references: tuple[str, ...]) -> list[Any]:
    """The tools named by ``--tool`` values: built-in names, or ``module:attribute`` (a dotted
    attribute path; the module may be a ``.py`` file). An attribute holding a list or tuple gives
    all of its tools. No ``--tool`` gives the built-in tools.

    Raises:
        click.BadParameter: an unknown built-in name, a module that fails to import, a missing attribute.
    """
    from modelplug.agents import BUILTIN_TOOLS

    if not references:
        return list(BUILTIN_TOOLS.values())
    tools: list[Any] = []
    for reference in references:
        if reference in BUILTIN_TOOLS:
            tools.append(BUILTIN_TOOLS[reference])
            continue
        module_name, sep, attribute = reference.rpartition(":")
        if not sep or not module_name or not attribute:
            known = ", ".join(BUILTIN_TOOLS)
            raise click.BadParameter(
                f"{reference!r} is neither a built-in tool ({known}) nor 'module:function'", param_hint="'--tool'"
            )
        try:
            value = _import(module_name)
        except (click.BadParameter, KeyboardInterrupt):
            raise
        except BaseException as error:  # a tool module calling sys.exit() on import must not end the command quietly
            raise click.BadParameter(
                f"cannot import {module_name!r}: {type(error).__name__}: {error}", param_hint="'--tool'"
            ) from error
        for part in attribute.split("."):
            if not hasattr(value, part):
                raise click.BadParameter(f"{module_name!r} has no attribute {attribute!r}", param_hint="'--tool'")
            value = getattr(value, part)
        tools.extend(value if isinstance(value, (list, tuple)) else [value])
    return tools
