"""Model options (``-o key=value``), the default model and the config file of the command line.

Model resolution, first match wins:

1. ``-m/--model SPEC``;
2. the environment variable ``MODELPLUG_MODEL``;
3. ``model = "..."`` in the config file: ``$MODELPLUG_CONFIG`` when set, else
   ``<user config dir>/modelplug/config.toml`` (platformdirs: ``~/.config/modelplug/config.toml``
   on Linux, ``~/Library/Application Support/modelplug/config.toml`` on macOS,
   ``%LOCALAPPDATA%\\modelplug\\config.toml`` on Windows); a missing file is fine;
4. ``transformers:default`` (the embedded SmolLM2 model).

``-o key=value`` values are *model* options, passed to ``modelplug.load_model(spec, **options)``
(``device=cpu``, ``delay=0.1``, ``api_base=http://...``). A value is converted with the type the
provider declares for that key in its ``option_types`` hook (``int``, ``float``, ``bool``: true/false,
yes/no, on/off, 1/0; ``str``: kept as written); an undeclared key's value is decoded as JSON when it
parses (``3`` -> int, ``["a"]`` -> list, ``null`` -> None) and kept as a string otherwise.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click

if TYPE_CHECKING:
    from modelplug.model import Model

__all__ = [
    "DEFAULT_MODEL",
    "ENV_CONFIG",
    "ENV_MODEL",
    "ConfigError",
    "config_path",
    "convert_value",
    "parse_options",
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
_TRUE: Final = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE: Final = frozenset({"0", "false", "no", "off", "n", "f"})


class ConfigError(click.ClickException):
    """The config file exists but cannot be read or has the wrong shape (exit status 2)."""

    exit_code = 2


def config_path() -> Path:
    """The config file path: ``$MODELPLUG_CONFIG``, else ``<user config dir>/modelplug/config.toml``."""
    override = os.environ.get(ENV_CONFIG)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_config_path("modelplug") / "config.toml"


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The config file's table (``{}`` when the file does not exist).

    Raises:
        ConfigError: the file cannot be read, is not TOML, or ``model`` is not a non-empty string.
    """
    path = config_path() if path is None else path
    try:
        with path.open("rb") as file:
            config = tomllib.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the config file {str(path)!r}: {error}") from error
    model = config.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise ConfigError(f"config file {str(path)!r}: 'model' must be a model spec string, got {model!r}")
    return config


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
    from modelplug.provider import Provider

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
    ``option_types``); a later key replaces an earlier one.

    Raises:
        click.BadParameter: an item without ``=`` or with an empty key, or a value of the wrong type.
    """
    types = types or {}
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"expected key=value, got {pair!r}", param_hint=_OPTION_HINT)
        options[key] = convert_value(key, raw, types.get(key))
    return options


def load_cli_model(ctx: click.Context, spec: str | None, options: Sequence[str]) -> Model:
    """Resolve the model (``--model``, ``$MODELPLUG_MODEL``, the config file, the default), type the
    ``-o key=value`` options with the provider's ``option_types`` and load it.

    Exits through :func:`modelplug.cli.exit_with_error` (status 1, or 2 for a bad option or spec)
    when that fails; the message then says where a spec that did not come from ``--model`` came from.
    """
    from modelplug.cli import exit_with_error
    from modelplug.errors import ModelplugError
    from modelplug.model import load_model, parse_spec

    resolved, source = resolve_model(spec)
    note = None if source == "--model" else f"(model {resolved!r} from {source})"
    try:
        provider, model_id = parse_spec(resolved)
        types = provider_option_types(provider, model_id) if options else None
    except ModelplugError as error:
        exit_with_error(ctx, error, note)
    model_options = parse_options(options, types)
    try:
        return load_model(resolved, **model_options)
    except ModelplugError as error:
        exit_with_error(ctx, error, note)


def generation_options(max_tokens: int | None, temperature: float | None) -> dict[str, Any]:
    """The generation options given on the command line (``--max-tokens``, ``--temperature``)."""
    options: dict[str, Any] = {}
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if temperature is not None:
        options["temperature"] = temperature
    return options
