"""The config file and its model aliases (``[models.<alias>]`` tables).

The file is TOML, at ``$MODELPLUG_CONFIG`` or ``<user config dir>/modelplug/config.toml``; a missing
file is an empty one. ``model = "<spec or alias>"`` at the top names the command line's default
model; each ``[models.<alias>]`` table names a model with its options, generation defaults, prices
and fallback chain. :func:`modelplug.load_model` resolves a name without ``provider:`` as an alias
(:func:`modelplug._load.load_alias`); this module only reads the file and follows aliases.
The reference, with a complete example file, is ``docs/configuration.md``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from modelplug.errors import InvalidOptionError
from modelplug.types import GenerationOptions

__all__ = [
    "ENV_CONFIG",
    "GENERATION_KEYS",
    "TOP_LEVEL_KEYS",
    "Alias",
    "ConfigFileError",
    "ResolvedAlias",
    "config_path",
    "find_aliases",
    "is_alias_name",
    "read_config",
    "resolve_alias",
]

#: Environment variable overriding the config file path.
ENV_CONFIG: Final = "MODELPLUG_CONFIG"
#: The keys the config file may have at its top level (anything else is an error, naming its line).
TOP_LEVEL_KEYS: Final = frozenset({"model", "models"})
#: Keys of an alias table that are generation defaults (the standard generation options, and
#: ``extra`` for provider generation options); every other key except ``model`` and ``fallback``
#: is a model option.
GENERATION_KEYS: Final = frozenset(
    {"max_tokens", "temperature", "top_p", "seed", "stop", "tool_choice", "response_format", "extra"}
)


class ConfigFileError(InvalidOptionError):
    """A problem in the config file: the message starts with ``<file>:<line>:`` and names the alias.

    Attributes:
        path: the config file.
        line: the 1-based line of the problem (``None`` when it cannot be told).
        alias: the alias concerned, or ``None``.
    """

    def __init__(self, problem: str, *, path: Path, line: int | None = None, alias: str | None = None) -> None:
        where = f"{path}:{line}" if line else str(path)
        about = f"alias {alias!r}: " if alias else ""
        super().__init__(f"{where}: {about}{problem}")
        self.path = path
        self.line = line
        self.alias = alias


def config_path() -> Path:
    """The config file path: ``$MODELPLUG_CONFIG``, else ``<user config dir>/modelplug/config.toml``."""
    override = os.environ.get(ENV_CONFIG)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_config_path("modelplug") / "config.toml"


@attrs.frozen
class Alias:
    """One ``[models.<alias>]`` table as written.

    Attributes:
        name: the alias.
        model: its ``model`` (a ``provider:model`` spec, or another alias).
        options: model options (passed to ``load_model``; ``price``, ``*_env`` and ``key:`` included).
        defaults: generation defaults (``temperature``, ``max_tokens``, ... and ``extra``).
        fallback: the aliases or specs tried next, in order.
        path: the config file.
        line: the line of its table header (``None`` when not found).
        text: the config file's text (to locate keys for error messages).
    """

    name: str
    model: str
    options: dict[str, Any]
    defaults: dict[str, Any]
    fallback: tuple[str, ...]
    path: Path
    line: int | None
    text: str = attrs.field(repr=False, default="")

    def line_of(self, key: str) -> int | None:
        """The line of ``key = ...`` in this alias's table (else the table's own line)."""
        if self.line is None:
            return None
        lines = self.text.splitlines()
        pattern = re.compile(rf"\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*[=.]")
        for number in range(self.line, len(lines)):
            if lines[number].lstrip().startswith("["):
                break
            if pattern.match(lines[number]):
                return number + 1
        return self.line

    def error(self, problem: str, key: str | None = None) -> ConfigFileError:
        """A :class:`ConfigFileError` about this alias (at ``key``'s line when given)."""
        return ConfigFileError(problem, path=self.path, line=self.line_of(key) if key else self.line, alias=self.name)


@attrs.frozen
class ResolvedAlias:
    """An alias with the aliases it names folded in (outer settings win).

    Attributes:
        name: the alias asked for.
        spec: the ``provider:model`` spec it comes down to.
        options: the merged model options; ``origins`` maps each to the alias that set it.
        defaults: the merged generation defaults.
        fallback: the fallback chain of the nearest alias that sets one.
        chain: the aliases followed, outermost first.
    """

    name: str
    spec: str
    options: dict[str, Any]
    defaults: dict[str, Any]
    fallback: tuple[str, ...]
    chain: tuple[Alias, ...]
    origins: dict[str, Alias]


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The config file's table (``{}`` when the file does not exist).

    Raises:
        ConfigFileError: the file cannot be read, is not TOML (the line is named), has a top-level
            key other than :data:`TOP_LEVEL_KEYS`, ``model`` is not a non-empty string, or ``models``
            is not a table of tables.
    """
    path = config_path() if path is None else path
    config, _ = _load(path)
    return config


def _load(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, ""
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigFileError(f"cannot read the config file: {error}", path=path) from error
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        raise ConfigFileError(
            f"cannot read the config file: {error}", path=path, line=int(found.group(1)) if found else None
        ) from error
    for key in config:
        if key not in TOP_LEVEL_KEYS:  # a typo ("modle", "[modles.fast]") must not be ignored
            line = _line(text, rf"\s*(?:\[+\s*)?[\"']?{re.escape(key)}[\"']?\s*[=.\]]")
            problem = f"unknown key {key!r}: the config file has 'model = \"...\"' and [models.<alias>] tables"
            raise ConfigFileError(problem, path=path, line=line)
    model = config.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        line = _line(text, r"\s*model\s*=")
        raise ConfigFileError(f"'model' must be a model spec or alias string, got {model!r}", path=path, line=line)
    models = config.get("models", {})
    if not isinstance(models, dict) or not all(isinstance(v, dict) for v in models.values()):
        raise ConfigFileError("'models' must be tables: [models.<alias>]", path=path, line=_line(text, r"\s*\[?models"))
    return config, text


def _line(text: str, pattern: str) -> int | None:
    compiled = re.compile(pattern)
    for number, line in enumerate(text.splitlines(), 1):
        if compiled.match(line):
            return number
    return None


def _header_line(text: str, name: str) -> int | None:
    quoted = rf"(?:{re.escape(name)}|\"{re.escape(name)}\"|'{re.escape(name)}')"
    return _line(text, rf"\s*\[\s*models\s*\.\s*{quoted}\s*\]")


def find_aliases(path: Path | None = None) -> dict[str, Alias]:
    """Every alias of the config file, checked for shape (not yet resolved), by name.

    Raises:
        ConfigFileError: as :func:`read_config`; an alias without a ``model`` string, with a ``:``
            in its name, a ``fallback`` that is not a list of strings, or bad generation defaults.
    """
    path = config_path() if path is None else path
    config, text = _load(path)
    aliases: dict[str, Alias] = {}
    for name, table in config.get("models", {}).items():
        alias = Alias(name, "", {}, {}, (), path, _header_line(text, name), text)
        if ":" in name or not name.strip():
            raise alias.error("an alias name must not be empty nor contain ':' (that makes a provider spec)")
        model = table.get("model")
        if not isinstance(model, str) or not model.strip():
            raise alias.error(f"'model' must be a model spec or alias, got {model!r}", "model" if model else None)
        fallback = table.get("fallback", [])
        if not isinstance(fallback, list) or not all(isinstance(f, str) and f.strip() for f in fallback):
            raise alias.error(f"'fallback' must be a list of aliases or model specs, got {fallback!r}", "fallback")
        defaults = {k: v for k, v in table.items() if k in GENERATION_KEYS}
        for key, value in defaults.items():
            try:
                GenerationOptions.from_kwargs({key: value})
            except (TypeError, ValueError) as error:
                raise alias.error(f"generation default {key!r}: {error}", key) from None
        options = {k: v for k, v in table.items() if k not in GENERATION_KEYS and k not in ("model", "fallback")}
        aliases[name] = attrs.evolve(
            alias, model=model.strip(), options=options, defaults=defaults, fallback=tuple(fallback)
        )
    return aliases


def is_alias_name(name: str) -> bool:
    """Whether ``name`` can only be an alias: a string without ``:`` (``provider:`` means a provider)."""
    return ":" not in name


def resolve_alias(name: str, aliases: Mapping[str, Alias] | None = None, *, path: Path | None = None) -> ResolvedAlias:
    """Follow ``name`` through the aliases it names down to a ``provider:model`` spec, merging
    options and defaults (the outer alias wins) and taking the nearest ``fallback``.

    Raises:
        ConfigFileError: an unknown alias (the message lists the known ones), or a cycle (the
            message shows it, from the alias where it closes).
    """
    path = config_path() if path is None else path
    aliases = find_aliases(path) if aliases is None else aliases
    chain: list[Alias] = []
    current = name
    while True:
        alias = aliases.get(current)
        if alias is None:
            known = ", ".join(sorted(aliases)) or "none"
            problem = (
                f"no model alias {current!r} in the config file (aliases: {known}); "
                "a model spec must look like '<provider>:<model>', e.g. 'transformers:default'"
            )
            if chain:
                raise chain[-1].error(problem.replace("no model alias", "'model' names no alias"), "model")
            raise ConfigFileError(problem, path=path)
        if any(seen.name == alias.name for seen in chain):
            cycle = " -> ".join([*(a.name for a in chain[[a.name for a in chain].index(alias.name) :]), alias.name])
            raise chain[-1].error(f"aliases form a cycle: {cycle}", "model")
        chain.append(alias)
        if not is_alias_name(alias.model):
            break
        current = alias.model
    options: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    origins: dict[str, Alias] = {}
    fallback: tuple[str, ...] = ()
    for alias in reversed(chain):  # innermost first: outer aliases override
        options.update(alias.options)
        origins.update(dict.fromkeys(alias.options, alias))
        defaults.update(alias.defaults)
        fallback = alias.fallback or fallback
    return ResolvedAlias(name, chain[-1].model, options, defaults, fallback, tuple(chain), origins)
