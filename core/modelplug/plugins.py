"""Plugin discovery, isolation, listing and per-provider dispatch.

Providers are found through the ``modelplug`` entry-point group; the entry-point name is the
provider name. Loading is lazy (on the first :func:`modelplug.load_model` or
:func:`list_providers`) and isolated: a plugin that fails to import, or whose hook implementations
do not match the specifications (a misspelled hook name, an unknown argument), is recorded with its
error and skipped, and every other plugin keeps working.

``MODELPLUG_PLUGINS`` (a comma-separated list of provider names) restricts which entry points are
loaded; set to the empty string, it loads none. Plugins registered in code with
:func:`register_provider` are always available.
"""

from __future__ import annotations

import difflib
import os
import threading
from typing import Any, Final

import attrs
import pluggy

from modelplug import hookspecs
from modelplug.errors import HookNotImplementedError, PluginLoadError, UnknownProviderError

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_PLUGINS",
    "ProviderInfo",
    "get_plugin_manager",
    "hook_caller",
    "list_providers",
    "register_provider",
    "reset",
    "unregister_provider",
]

ENTRY_POINT_GROUP: Final = hookspecs.PROJECT_NAME
#: Environment variable restricting which entry points load (comma list; empty: none).
ENV_PLUGINS: Final = "MODELPLUG_PLUGINS"

#: Providers built in this repository and the pip extra that installs each.
KNOWN_EXTRAS: Final = {
    "transformers": "modelplug[transformers]",
    "litellm": "modelplug[litellm]",
    "inference-client": "modelplug[inference-client]",
    "vllm": "modelplug[vllm]",
    "openai": "modelplug[openai]",
    "replay": "modelplug[replay]",
}

_CORE_PLUGIN_NAME: Final = "modelplug.core"
#: Hooks the core implements itself (tried last), so every provider "has" them.
_CORE_HOOKS: Final = frozenset({"parse_tool_calls"})


@attrs.frozen
class ProviderInfo:
    """One provider as found by discovery.

    Attributes:
        name: the provider name (entry-point name, model-spec prefix).
        distribution: the installed distribution that provides it (``None`` when registered in code).
        version: that distribution's version.
        error: why the plugin could not be loaded (``None`` when it works); such a provider cannot be used.
        hooks: the hooks it implements.
    """

    name: str
    distribution: str | None = None
    version: str | None = None
    error: str | None = None
    hooks: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the provider loaded and can be used."""
        return self.error is None


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pm: pluggy.PluginManager | None = None
        self.providers: dict[str, ProviderInfo] = {}
        self.failures: dict[str, PluginLoadError] = {}
        self.callers: dict[tuple[str, str], Any] = {}


_registry = _Registry()


def _core_plugin() -> object:
    from modelplug import core_hooks

    return core_hooks


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(_core_plugin(), name=_CORE_PLUGIN_NAME)
    return pm


def _allowed() -> set[str] | None:
    value = os.environ.get(ENV_PLUGINS)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _implemented_hooks(pm: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    callers = pm.get_hookcallers(plugin) or []
    return tuple(sorted(c.name for c in callers))


def _validate(pm: pluggy.PluginManager, name: str, plugin: object) -> None:
    """Raise PluginLoadError when ``plugin`` implements a hook that has no specification."""
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.spec is None:
            close = difflib.get_close_matches(caller.name, _hook_names(), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(_hook_names())
            raise PluginLoadError(
                f"plugin {name!r} implements unknown hook {caller.name!r}{hint}; known hooks: {known}",
                plugin=name,
            )


def _hook_names() -> list[str]:
    return sorted(n for n in vars(hookspecs) if hasattr(getattr(hookspecs, n), "modelplug_spec"))


def _register(
    pm: pluggy.PluginManager, name: str, plugin: object, distribution: str | None, version: str | None
) -> None:
    try:
        pm.register(plugin, name=name)
    except Exception as error:  # pluggy.PluginValidationError, ValueError (already registered)
        raise PluginLoadError(f"plugin {name!r} cannot be registered: {error}", plugin=name, original=error) from error
    try:
        _validate(pm, name, plugin)
    except PluginLoadError:
        pm.unregister(plugin)
        raise
    _registry.providers[name] = ProviderInfo(name, distribution, version, None, _implemented_hooks(pm, plugin))


def _record_failure(name: str, error: PluginLoadError, distribution: str | None, version: str | None) -> None:
    from modelplug.log import get_logger

    _registry.failures[name] = error
    _registry.providers[name] = ProviderInfo(name, distribution, version, str(error))
    get_logger().warning("plugin_load_failed", plugin=name, error=str(error))


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    from importlib.metadata import entry_points

    allowed = _allowed()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        known = _registry.providers.get(ep.name)
        if known is not None:  # two distributions claim one name: the first on sys.path wins, loudly
            from modelplug.log import get_logger

            get_logger().warning(
                "plugin_name_conflict", plugin=ep.name, used=known.distribution, ignored=dist_name, entry_point=ep.value
            )
            continue
        if not ep.name or ":" in ep.name or ep.name != ep.name.strip():
            failure = PluginLoadError(
                f"plugin {ep.name!r} ({ep.value}): a provider name cannot be empty, contain ':' or surrounding "
                "spaces (it is the prefix of a model spec '<provider>:<model>')",
                plugin=ep.name,
            )
            _record_failure(ep.name, failure, dist_name, version)
            continue
        try:
            plugin = ep.load()
        except (Exception, SystemExit) as error:  # a plugin calling sys.exit() on import must not end the process
            failure = PluginLoadError(
                f"plugin {ep.name!r} ({ep.value}) failed to import: {type(error).__name__}: {error}",
                plugin=ep.name,
                original=error,
            )
            failure.__cause__ = error
            _record_failure(ep.name, failure, dist_name, version)
            continue
        try:
            _register(pm, ep.name, plugin, dist_name, version)
        except PluginLoadError as failure:
            _record_failure(ep.name, failure, dist_name, version)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide pluggy plugin manager, loading entry points on first use."""
    pm = _registry.pm
    if pm is not None:
        return pm
    with _registry.lock:
        if _registry.pm is None:
            pm = _new_manager()
            _load_entry_points(pm)
            pm.check_pending()
            _registry.pm = pm
        return _registry.pm


def register_provider(name: str, plugin: object, *, replace: bool = False) -> None:
    """Register ``plugin`` (a module or object with ``@hookimpl`` functions) as provider ``name``.

    For providers defined in code (tests, notebooks, wrapped callables); packages use the
    ``modelplug`` entry-point group instead.

    Raises:
        PluginLoadError: the name is taken (unless ``replace``), or a hook implementation is invalid.
    """
    pm = get_plugin_manager()
    with _registry.lock:
        if name in _registry.providers:
            if not replace:
                raise PluginLoadError(f"provider {name!r} is already registered", plugin=name)
            unregister_provider(name)
        _register(pm, name, plugin, None, None)
        _registry.callers.clear()


def unregister_provider(name: str) -> None:
    """Remove provider ``name`` (no error when it is not registered)."""
    pm = get_plugin_manager()
    with _registry.lock:
        plugin = pm.get_plugin(name)
        if plugin is not None:
            pm.unregister(plugin, name=name)
        _registry.providers.pop(name, None)
        _registry.failures.pop(name, None)
        _registry.callers.clear()


def list_providers() -> list[ProviderInfo]:
    """Every provider found, sorted by name, including those that failed to load (``error`` set)."""
    get_plugin_manager()
    return sorted(_registry.providers.values(), key=lambda p: p.name)


def provider_info(name: str) -> ProviderInfo:
    """The :class:`ProviderInfo` of provider ``name``.

    Raises:
        UnknownProviderError: no such provider; the message lists the installed ones and, for a
            built-in provider, the pip extra that installs it.
        PluginLoadError: the provider exists but failed to load (the original error is kept).
    """
    get_plugin_manager()
    info = _registry.providers.get(name)
    if info is None:
        installed = tuple(p.name for p in list_providers() if p.ok)
        extra = KNOWN_EXTRAS.get(name)
        folder = "plugins/" + name.replace("-", "_")
        hint = (
            f" Install it with: pip install '{extra}' (from a source checkout: pip install -e {folder})."
            if extra
            else ""
        )
        if os.environ.get(ENV_PLUGINS) is not None:
            hint += f" ({ENV_PLUGINS}={os.environ[ENV_PLUGINS]!r} restricts which plugins load.)"
        raise UnknownProviderError(
            f"unknown provider {name!r}; installed providers: {', '.join(installed) or '(none)'}.{hint}",
            plugin=name,
            installed=installed,
        )
    if info.error is not None:
        failure = _registry.failures[name]
        raise PluginLoadError(str(failure), plugin=name, original=failure.original) from failure.original
    return info


def hook_caller(provider: str, hook: str, *, required: bool = True) -> Any:
    """A hook caller that runs only ``provider``'s implementation of ``hook`` (plus core
    implementations and wrappers), or ``None`` when the provider lacks it and not ``required``.

    Raises:
        HookNotImplementedError: the provider does not implement ``hook`` and ``required``.
        UnknownProviderError, PluginLoadError: see :func:`provider_info`.
    """
    key = (provider, hook)
    caller = _registry.callers.get(key)
    if caller is not None:
        return caller
    info = provider_info(provider)
    pm = get_plugin_manager()
    if hook not in info.hooks and hook not in _CORE_HOOKS:
        if required:
            raise HookNotImplementedError(
                f"provider {provider!r} does not implement the {hook!r} hook "
                f"(it implements: {', '.join(info.hooks) or 'none'})",
                plugin=provider,
                hook=hook,
            )
        return None
    with _registry.lock:
        # Remove the other *providers* only: core implementations and cross-cutting wrappers stay.
        others = [p for n in _registry.providers if n != provider and (p := pm.get_plugin(n)) is not None]
        caller = pm.subset_hook_caller(hook, remove_plugins=others)
        _registry.callers[key] = caller
    return caller


def implements(provider: str, hook: str) -> bool:
    """Whether ``provider`` implements ``hook``."""
    return hook in provider_info(provider).hooks


def reset() -> None:
    """Forget every loaded plugin; the next use discovers them again (for tests)."""
    with _registry.lock:
        _registry.pm = None
        _registry.providers.clear()
        _registry.failures.clear()
        _registry.callers.clear()
