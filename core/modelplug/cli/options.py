"""Model options (``-o key=value``), the default model and the config file of the command line.

The order in which the model is chosen and how ``-o`` values are converted (with the types a
provider declares in ``option_types``, else as JSON) are described in ``docs/cli.md`` ("The default
model", "Model options").
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import click

if TYPE_CHECKING:
    from modelplug._model import Model

__all__ = [
    "DEFAULT_MODEL",
    "ENV_CONFIG",
    "ENV_MODEL",
    "GENERATION_FLAGS",
    "ConfigError",
    "alias_spec",
    "config_path",
    "convert_value",
    "generation_flags",
    "generation_options",
    "load_cli_model",
    "parse_generation_options",
    "parse_options",
    "parse_response_format",
    "parse_tool_choice",
    "provider_generation_options",
    "provider_option_types",
    "read_config",
    "resolve_model",
]

#: The model used when nothing else names one.
DEFAULT_MODEL: Final = "transformers:default"
#: Environment variable naming the default model spec.
ENV_MODEL: Final = "MODELPLUG_MODEL"
#: Environment variable overriding the config file path.
ENV_CONFIG: Final = "MODELPLUG_CONFIG"

_OPTION_HINT: Final = "'-o' / '--option'"
_GEN_HINT: Final = "'-g' / '--gen-option'"

#: Standard generation options -> the flag that sets each on the command line.
GENERATION_FLAGS: Final = {
    "max_tokens": "--max-tokens",
    "temperature": "--temperature",
    "top_p": "--top-p",
    "seed": "--seed",
    "stop": "--stop",
    "tool_choice": "--tool-choice",
    "response_format": "--response-format",
    "tools": "--tool",
}
#: Provider generation options in wide use: given with ``-o`` they are refused with a pointer to ``-g``.
_KNOWN_EXTRAS: Final = frozenset(
    {"top_k", "min_p", "repetition_penalty", "frequency_penalty", "presence_penalty", "logit_bias", "logprobs"}
)
_TRUE: Final = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE: Final = frozenset({"0", "false", "no", "off", "n", "f"})


class ConfigError(click.ClickException):
    """The config file exists but cannot be read or has the wrong shape (exit status 2)."""

    exit_code = 2


def config_path() -> Path:
    """The config file path (:func:`modelplug.config.config_path`)."""
    from modelplug.config import config_path as path

    return path()


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The config file's table (``{}`` when the file does not exist), read by :mod:`modelplug.config`.

    Raises:
        ConfigError: the file cannot be read, is not TOML, ``model`` is not a non-empty string or
            ``models`` is not a table of tables (the message starts with ``<file>:<line>:``).
    """
    from modelplug.config import ConfigFileError
    from modelplug.config import read_config as read

    try:
        return read(path)
    except ConfigFileError as error:
        raise ConfigError(str(error)) from error


def resolve_model(model: str | None) -> tuple[str, str]:
    """The model spec to use and where it came from (``"--model"``, ``"MODELPLUG_MODEL"``,
    ``"config file <path>"`` or ``"default"``); see the module docstring for the order.

    Raises:
        ConfigError: see :func:`read_config`.
    """
    if model:
        return model, "--model"
    from_env = os.environ.get(ENV_MODEL, "").strip()
    if from_env:
        return from_env, ENV_MODEL
    path = config_path()
    from_config = read_config(path).get("model")
    if from_config:
        return from_config.strip(), f"config file {path}"
    return DEFAULT_MODEL, "default"


def provider_option_types(provider: str, model_id: str) -> Mapping[str, Any]:
    """The option types ``provider`` declares through its ``option_types`` hook (``{}`` without one).

    Raises:
        UnknownProviderError, PluginLoadError: the provider is missing or broken.
        PluginError: the hook failed or returned something other than a mapping.
    """
    from modelplug._provider import Provider

    return Provider.get(provider).option_types(model_id)


def _bad(key: str, message: str) -> click.BadParameter:
    return click.BadParameter(f"{key}: {message}", param_hint=_OPTION_HINT)


def convert_value(key: str, raw: str, declared: Any = None) -> Any:
    """Convert the text ``raw`` of option ``key`` to ``declared`` (see the module docstring).

    Raises:
        click.BadParameter: the text does not fit the declared type (the message names the option).
    """
    if declared is str:
        return raw
    if declared is bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _bad(key, f"expected a boolean (true/false, yes/no, on/off, 1/0), got {raw!r}")
    if declared is int:
        try:
            return int(raw.strip())
        except ValueError:
            raise _bad(key, f"expected an integer, got {raw!r}") from None
    if declared is float:
        try:
            return float(raw.strip())
        except ValueError:
            raise _bad(key, f"expected a number, got {raw!r}") from None
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(declared, type) and declared is not object and not isinstance(value, declared):
        raise _bad(key, f"expected JSON for a {declared.__name__}, got {raw!r}")
    return value


def parse_options(pairs: Sequence[str], types: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Turn ``["key=value", ...]`` into model options, typed with ``types`` (the provider's
    ``option_types``) over the types of the core's reserved options (``max_retries``, ...:
    :data:`modelplug.reserved.RESERVED_OPTION_TYPES`); a later key replaces an earlier one.

    Raises:
        click.BadParameter: an item without ``=`` or with an empty key, or a value of the wrong type.
    """
    from modelplug.reserved import RESERVED_OPTION_TYPES

    types = {**RESERVED_OPTION_TYPES, **(types or {})}
    options: dict[str, Any] = {}
    for pair in pairs:
        key, raw = _split(pair, _OPTION_HINT)
        if key not in types and (key in GENERATION_FLAGS or key in _KNOWN_EXTRAS):
            flag = GENERATION_FLAGS.get(key)
            use = f"{flag} {raw}" if flag and key != "tools" else f"-g {key}={raw}"
            if key == "tools":
                use = "--tool MODULE:FUNCTION"
            raise click.BadParameter(
                f"{key!r} is a generation option, not a model (load-time) option: use {use}", param_hint=_OPTION_HINT
            )
        options[key] = convert_value(key, raw, types.get(key))
    return options


def _split(pair: str, hint: str) -> tuple[str, str]:
    key, sep, raw = pair.partition("=")
    key = key.strip()
    if not sep or not key:
        raise click.BadParameter(f"expected key=value, got {pair!r}", param_hint=hint)
    return key, raw


def parse_generation_options(
    pairs: Sequence[str], model_option_types: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Turn ``-g key=value`` items into provider generation options (``GenerationOptions.extra``),
    each value decoded as JSON when it parses, else kept as a string.

    Raises:
        click.BadParameter: an item without ``=``; a standard option that has its own flag (the
            message names it); a key the provider declares as a model option (use ``-o``).
    """
    from modelplug.reserved import RESERVED_OPTION_TYPES

    declared = {**RESERVED_OPTION_TYPES, **(model_option_types or {})}
    options: dict[str, Any] = {}
    for pair in pairs:
        key, raw = _split(pair, _GEN_HINT)
        if key in GENERATION_FLAGS:
            flag = GENERATION_FLAGS[key]
            raise click.BadParameter(f"{key!r} has its own flag: use {flag} instead of -g", param_hint=_GEN_HINT)
        if key in declared:
            raise click.BadParameter(
                f"{key!r} is a model (load-time) option of this provider, not a generation option: use -o {key}={raw}",
                param_hint=_GEN_HINT,
            )
        options[key] = convert_value(key, raw)
    return options


def parse_tool_choice(value: str | None) -> str | dict[str, Any] | None:
    """``--tool-choice``: ``auto``, ``none``, ``required``, or a tool name (that tool is forced:
    ``{"type": "function", "function": {"name": NAME}}``)."""
    if value is None:
        return None
    value = value.strip()
    if value in ("auto", "none", "required"):
        return value
    if not value:
        raise click.BadParameter("expected auto, none, required or a tool name", param_hint="'--tool-choice'")
    return {"type": "function", "function": {"name": value}}


def parse_response_format(value: str | None) -> dict[str, Any] | None:
    """``--response-format``: ``text``, ``json`` (``{"type": "json_object"}``), a JSON schema
    (inline, or ``@path/to/schema.json``), or a whole ``response_format`` object (JSON with a
    ``type``). A schema becomes ``{"type": "json_schema", "json_schema": {"name": ..., "schema": ...}}``.

    Raises:
        click.BadParameter: unreadable file, invalid JSON, or JSON that is not an object.
    """
    hint = "'--response-format'"
    if value is None:
        return None
    text = value.strip()
    if text == "text":
        return {"type": "text"}
    if text in ("json", "json_object"):
        return {"type": "json_object"}
    if text.startswith("@"):
        try:
            text = Path(text[1:]).expanduser().read_text(encoding="utf-8")
        except OSError as error:
            raise click.BadParameter(f"cannot read {text[1:]!r}: {error.strerror or error}", param_hint=hint) from error
    try:
        data = json.loads(text)
    except ValueError as error:
        raise click.BadParameter(
            f"expected text, json, a JSON schema or @schema.json, got {value!r} ({error})", param_hint=hint
        ) from None
    if not isinstance(data, dict):
        raise click.BadParameter(f"expected a JSON object, got {value!r}", param_hint=hint)
    if data.get("type") in ("text", "json_object", "json_schema") and ("json_schema" in data or len(data) == 1):
        return data
    name = data.get("title") if isinstance(data.get("title"), str) else "response"
    return {"type": "json_schema", "json_schema": {"name": name, "schema": data, "strict": True}}


def load_cli_model(
    ctx: click.Context, spec: str | None, options: Sequence[str], gen_options: Sequence[str] = ()
) -> Model:
    """Resolve the model (``--model``, ``$MODELPLUG_MODEL``, the config file, the default), type the
    ``-o key=value`` options with the provider's ``option_types`` and load it. ``gen_options``
    (``-g key=value``) are checked against the same ``option_types`` (a model option given with
    ``-g`` is a usage error) and stored, parsed, in ``ctx.meta["modelplug.gen_options"]``.

    Exits through :func:`modelplug.cli.exit_with_error` (status 1, or 2 for a bad option or spec)
    when that fails; the message then says where a spec that did not come from ``--model`` came from.
    A Ctrl-C while the model loads exits with 130 and says so.
    """
    from modelplug._load import load_model, parse_spec
    from modelplug.cli import exit_with_error, interrupted
    from modelplug.errors import ModelplugError

    resolved, source = resolve_model(spec)
    note = None if source == "--model" else f"(model {resolved!r} from {source})"
    try:
        provider, model_id = parse_spec(alias_spec(resolved))
        types = provider_option_types(provider, model_id) if options or gen_options else None
    except ModelplugError as error:
        exit_with_error(ctx, error, note)
    model_options = parse_options(options, types)
    ctx.meta["modelplug.gen_options"] = parse_generation_options(gen_options, types)
    try:
        return load_model(resolved, **model_options)
    except ModelplugError as error:
        exit_with_error(ctx, error, note)
    except KeyboardInterrupt:
        interrupted(ctx, f"Interrupted while loading the model {resolved!r}.")


def alias_spec(name: str) -> str:
    """The ``provider:model`` spec ``name`` comes down to (itself when it is a spec, not an alias).

    Raises:
        ConfigFileError: an unknown alias, a cycle, a malformed config file.
    """
    from modelplug.config import is_alias_name, resolve_alias

    return resolve_alias(name.strip()).spec if name.strip() and is_alias_name(name) else name


_F = TypeVar("_F", bound=Callable[..., Any])


def generation_flags(*, tools: bool = True) -> Callable[[_F], _F]:
    """The generation flags a command takes (``--max-tokens``, ``--temperature``, ``--top-p``,
    ``--seed``, ``--stop``, ``-g``; with ``tools``: ``--tool-choice``, ``--response-format``),
    as keyword arguments of the same names; :func:`generation_options` turns them into options."""
    flags = [
        click.option(
            "--max-tokens", type=click.IntRange(min=1), metavar="N", help="Most completion tokens to generate."
        ),
        click.option(
            "--temperature", type=click.FloatRange(min=0.0), metavar="T", help="Sampling temperature (0: greedy)."
        ),
        click.option("--top-p", type=click.FloatRange(0.0, 1.0), metavar="P", help="Nucleus sampling mass (0-1)."),
        click.option("--seed", type=int, metavar="N", help="Sampling seed, for repeatable answers where supported."),
        click.option(
            "--stop",
            multiple=True,
            metavar="TEXT",
            help="Stop when the answer contains TEXT (not included); repeatable.",
        ),
    ]
    if tools:
        flags += [
            click.option(
                "--tool-choice",
                metavar="CHOICE",
                help="auto, none, required, or a tool NAME to force that tool.",
            ),
            click.option(
                "--response-format",
                metavar="FORMAT",
                help="text, json, a JSON schema (inline or @file.json) or a response_format object.",
            ),
        ]
    flags.append(
        click.option(
            "-g",
            "--gen-option",
            "gen_options",
            multiple=True,
            metavar="KEY=VALUE",
            help="A provider generation option sent with each request (e.g. -g top_k=20); "
            "repeatable. Load-time model options go in -o.",
        )
    )

    def decorate(function: _F) -> _F:
        for flag in reversed(flags):
            function = flag(function)
        return function

    return decorate


def generation_options(
    *,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    stop: Sequence[str] = (),
    tool_choice: str | None = None,
    response_format: str | None = None,
) -> dict[str, Any]:
    """The standard generation options given on the command line (checked before a model loads;
    :func:`provider_generation_options` adds the ``-g`` ones after).

    Raises:
        click.BadParameter: a bad ``--tool-choice`` or ``--response-format``.
    """
    options: dict[str, Any] = {}
    for key, value in (("max_tokens", max_tokens), ("temperature", temperature), ("top_p", top_p), ("seed", seed)):
        if value is not None:
            options[key] = value
    if stop:
        options["stop"] = tuple(stop)
    choice = parse_tool_choice(tool_choice)
    if choice is not None:
        options["tool_choice"] = choice
    response = parse_response_format(response_format)
    if response is not None:
        options["response_format"] = response
    return options


def provider_generation_options(ctx: click.Context) -> dict[str, Any]:
    """``{"extra": {...}}`` with the ``-g`` options :func:`load_cli_model` parsed (``{}`` without any)."""
    extra = ctx.meta.get("modelplug.gen_options")
    return {"extra": dict(extra)} if extra else {}
