"""Loading a model: :func:`load_model` turns a spec, a config-file alias or a list of them into a
:class:`~modelplug._model.Model`.

Aliases (:mod:`modelplug.config`) and fallback chains (:mod:`modelplug._fallback`) name further
models to load, so the three ways in live here together, above the modules they use; none of those
imports this one. What ``load_model`` accepts is in ``docs/concepts/providers.md`` and
``docs/configuration.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from modelplug._fallback import FallbackModel
from modelplug._keys import ENV_SUFFIX, KEY_PREFIX, resolve_key_options
from modelplug._model import Model
from modelplug._provider import Provider
from modelplug.config import ConfigFileError, ResolvedAlias, config_path, is_alias_name, resolve_alias
from modelplug.errors import InvalidOptionError, PluginContractError
from modelplug.reserved import RESERVED_OPTIONS, ReservedOptions, split_options
from modelplug.secrets import is_secret_option, register_secret, release_secret

__all__ = ["load_alias", "load_chain", "load_model", "parse_spec"]


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``"provider:model_id"``.

    Raises:
        InvalidOptionError: no colon, or an empty provider or model id.
    """
    if not isinstance(spec, str):
        raise InvalidOptionError(f"a model spec must be a string like 'transformers:default', got {spec!r}")
    provider, sep, model_id = spec.partition(":")
    provider = provider.strip()
    if not sep or not provider or not model_id:
        raise InvalidOptionError(
            f"model spec {spec!r} must look like '<provider>:<model>', e.g. 'transformers:default' "
            "or 'openai:gpt-4o-mini'"
        )
    return provider, model_id


def load_model(spec: str | Sequence[str], **options: Any) -> Model:
    """Load the model named by ``spec`` with model ``options`` (provider-specific: ``device``,
    ``api_base``, ``api_key``, ``tool_call_format``, ...).

    ``spec`` is a ``"provider:model"`` spec; or a name without ``:``, an alias of the config file
    (:mod:`modelplug.config`: its options, generation defaults and fallback chain; ``options``
    override its options); or a list of specs and aliases, a fallback chain
    (:class:`~modelplug._fallback.FallbackModel`, each member loaded with ``options``).

    ``<option>_env="VAR"`` takes the option from the environment variable ``VAR``, and a secret
    option's ``"key:NAME"`` from the keys file (:mod:`modelplug._keys`). Secret options (``api_key``,
    ``token``, ...) are registered for redaction before anything else.

    Raises:
        InvalidOptionError: a malformed spec, an option of another type than the provider
            declares in its ``option_types`` hook, an unknown ``tool_call_format``, a bad
            ``price``, an unset environment variable or a missing key.
        ConfigFileError: (an ``InvalidOptionError``) an unknown alias, a cycle, a bad alias table;
            the message names the file, the line and the alias.
        UnknownProviderError: no such provider (the message lists the installed ones and the extra to install).
        PluginLoadError: the provider failed to import.
        ModelLoadError: the provider could not load the model (files, network, memory).
    """
    if not isinstance(spec, str) and isinstance(spec, Sequence):
        return load_chain(spec, options)
    if isinstance(spec, str) and spec.strip() and ":" not in spec:
        return load_alias(spec.strip(), options)
    provider, model_id = parse_spec(spec)
    options = _resolve_keys(provider, model_id, options)
    secrets = _secret_values(options)
    for value in secrets:
        register_secret(value)
    try:
        return _load(provider, model_id, options, secrets)
    except BaseException:
        for value in secrets:
            release_secret(value)
        raise


def _resolve_keys(provider: str, model_id: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with ``*_env`` and ``"key:NAME"`` references read (:mod:`modelplug._keys`)."""
    if not any(
        key.endswith(ENV_SUFFIX) or (isinstance(value, str) and value.startswith(KEY_PREFIX))
        for key, value in options.items()
    ):
        return dict(options)
    try:
        declared = Provider.get(provider).option_types(model_id)
    except PluginContractError:
        declared = {}
    return resolve_key_options(options, declared)


def _secret_values(options: Mapping[str, Any], depth: int = 4) -> list[str]:
    """The string values of secret options (``api_key``, ``token``, a header ``Authorization``), also nested."""
    found: list[str] = []
    for key, value in options.items():
        if isinstance(key, str) and is_secret_option(key) and isinstance(value, str):
            found.append(value)
        elif isinstance(value, Mapping) and depth > 0:
            found.extend(_secret_values(value, depth - 1))
    return found


def _load(provider: str, model_id: str, options: Mapping[str, Any], secrets: list[str]) -> Model:
    reserved, provider_options = split_options(options, provider=provider)  # before importing the provider
    contract = Provider.get(provider)
    _check_option_types(contract, model_id, provider_options)
    state = contract.load(model_id, provider_options, reserved)
    model = Model(provider, model_id, state, options, contract=contract, reserved=reserved)
    model._secrets = tuple(secrets)
    return model


#: How option-type errors name the types the command line converts.
_TYPE_NAMES: Final = {str: "string", int: "int", float: "number", bool: "bool (True or False)"}
#: Values of these types are checked against the declared type; any other object (a ``Path``, an
#: ``httpx.Timeout``, a secret wrapper) is left to the provider, which may know what to do with it.
_PLAIN_TYPES: Final = (str, int, float, bool, list, dict, tuple)


def _check_option_types(contract: Provider, model_id: str, options: Mapping[str, Any]) -> None:
    """Check each plain value (string, number, bool, list, dict) of an option the provider declares
    in ``option_types`` against the declared type. ``None`` always passes ("use the default"); an int
    is a number; a bool is no int.

    Raises:
        InvalidOptionError: an option of the wrong type (the message names the option, the type and the value).
    """
    if not options:
        return
    try:
        declared = contract.option_types(model_id)
    except PluginContractError:  # a broken option_types hook must not stop a load that does not need it
        return
    provider = contract.name
    for key, value in options.items():
        expected = declared.get(key)
        if type(value) not in _PLAIN_TYPES or not isinstance(expected, type) or expected is object:
            continue
        if expected is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif expected is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, expected)
        if not ok:
            shown = "***" if is_secret_option(key) else repr(value)
            name = _TYPE_NAMES.get(expected, expected.__name__)
            raise InvalidOptionError(f"{provider} option {key!r} must be a {name}, got {type(value).__name__} {shown}")


def load_chain(specs: Sequence[str], options: Mapping[str, Any]) -> FallbackModel:
    """A :class:`FallbackModel` of each spec or alias in ``specs`` loaded with ``options``.

    Raises:
        InvalidOptionError: an empty list or an item that is not a string.
        ModelplugError: a model failed to load (those already loaded are closed).
    """
    if not specs or not all(isinstance(spec, str) for spec in specs):
        raise InvalidOptionError(f"a fallback chain must be a non-empty list of model specs or aliases, got {specs!r}")
    models: list[Model] = []
    try:
        for spec in specs:
            models.append(load_model(spec, **options))
    except BaseException:
        for model in models:
            model.close()
        raise
    return FallbackModel(models)


def load_alias(name: str, options: Mapping[str, Any] | None = None, *, _loading: tuple[str, ...] = ()) -> Model:
    """Load the model of alias ``name`` (:func:`modelplug.load_model` does for a name without ``:``):
    its options (``options`` override them), its generation defaults and, with ``fallback``, a
    :class:`~modelplug._fallback.FallbackModel` of it and its fallbacks (each loaded with its own
    settings only).

    Raises:
        ConfigFileError: as :func:`resolve_alias`; an option of the wrong type for the provider, an
            unset ``*_env`` variable, a missing ``key:``, a bad ``price``, a fallback chain that
            comes back to an alias being loaded, an option the provider refuses when it loads (an
            unknown one) (file, line and alias named).
        ModelplugError: loading the model failed (as :func:`modelplug.load_model`).
    """
    path = config_path()
    resolved = resolve_alias(name, path=path)
    head = resolved.chain[0]
    if name in _loading:
        cycle = " -> ".join([*_loading, name])
        raise head.error(f"fallback chains form a cycle: {cycle}", "fallback")
    model_options = _checked_options(resolved)
    model_options.update(options or {})
    try:
        model = load_model(resolved.spec, **model_options)
    except ConfigFileError:
        raise
    except InvalidOptionError as error:  # the provider refused an option: say where it is written
        raise _located(resolved, error, given=options or {}) from error
    model.defaults = resolved.defaults
    if not resolved.fallback:
        return model
    members = [model]
    try:
        for entry in resolved.fallback:
            if is_alias_name(entry):
                members.append(load_alias(entry, _loading=(*_loading, name)))
            else:
                members.append(load_model(entry))
    except BaseException:
        for member in members:
            member.close()
        raise
    return FallbackModel(members, name=name)


def _located(resolved: ResolvedAlias, error: InvalidOptionError, *, given: Mapping[str, Any]) -> InvalidOptionError:
    """``error`` (a provider refusing the alias's options at load) as a :class:`ConfigFileError` at
    the line of the option it names first (else the alias's table); unchanged when that option is
    one the caller gave rather than the file."""
    message = str(error)
    named = {key: message.find(f"'{key}'") for key in [*given, *resolved.origins]}
    named = {key: at for key, at in named.items() if at >= 0}
    if not named:
        return resolved.chain[0].error(message)
    first = min(named, key=named.__getitem__)  # the option the message is about comes first
    if first in given:
        return error
    return resolved.origins[first].error(message, first)


def _checked_options(resolved: ResolvedAlias) -> dict[str, Any]:
    """The alias's model options with key references read, each checked against the provider's
    ``option_types`` (an error names the line of the option and the alias that sets it)."""
    provider, model_id = parse_spec(resolved.spec)
    contract = Provider.get(provider)
    try:
        declared = contract.option_types(model_id)
    except PluginContractError:
        declared = {}
    checked: dict[str, Any] = {}
    for key, value in resolved.options.items():
        alias = resolved.origins[key]
        try:
            one = resolve_key_options({key: value}, declared)
            _check_option_types(contract, model_id, one)
            if key in RESERVED_OPTIONS:
                ReservedOptions.from_options({key: value}, provider=provider)
        except InvalidOptionError as error:
            raise alias.error(str(error), key) from None
        checked.update(one)
    return checked
