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
import types
from typing import Any, Final

import attrs
import pluggy

from modelplug import hookspecs
from modelplug.errors import PluginLoadError, UnknownProviderError

__all__ = [
    "CORE_PLUGIN_NAME",
    "ENTRY_POINT_GROUP",
    "ENV_PLUGINS",
    "ProviderInfo",
    "get_plugin_manager",
    "list_providers",
    "provider_names",
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



def install_hint(extra: str) -> str:
    """The command that installs ``extra`` (``"modelplug[replay]"``, a key of the core's extras):
    from a checkout of this repository, as its distributions are not on a package index yet and a
    ``modelplug-*`` name there could be anyone's (CONTRIBUTING.md, "Releasing")."""
    return f"python scripts/install_from_checkout.py '{extra}'"


#: The name under which the core registers its own hook implementations.
CORE_PLUGIN_NAME: Final = "modelplug.core"


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


@attrs.define
class _EntryPoint:
    """One ``modelplug`` entry point found by the metadata scan (nothing imported yet)."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    entry_point: Any
    lock: threading.RLock = attrs.field(factory=threading.RLock)
    #: The thread importing it now (a re-entrant call from that thread must not import it again).
    importing: int | None = None
    #: A background import started with a time limit that had not finished in time.
    pending: threading.Thread | None = None
    result: list[Any] = attrs.field(factory=list)


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pm: pluggy.PluginManager | None = None
        self.providers: dict[str, ProviderInfo] = {}
        self.failures: dict[str, PluginLoadError] = {}
        #: Entry points by provider name (``None`` until the metadata scan ran).
        self.entry_points: dict[str, _EntryPoint] | None = None


_registry = _Registry()


def _core_plugin() -> object:
    from modelplug import _core_hooks as core_hooks

    return core_hooks


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(_core_plugin(), name=CORE_PLUGIN_NAME)
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
                provider=name,
            )


def _hook_names() -> list[str]:
    return sorted(n for n in vars(hookspecs) if hasattr(getattr(hookspecs, n), "modelplug_spec"))


class _Handle:
    """What pluggy holds for a provider registered in code: a plain object compared and hashed by
    identity, holding the provider's marked hook implementations (bound methods), so an object with
    its own ``__eq__`` / ``__hash__`` (or none: unhashable) cannot confuse pluggy's bookkeeping for
    every other plugin."""

    def __init__(self, pm: pluggy.PluginManager, wrapped: object) -> None:
        self.wrapped = wrapped
        for name in dir(wrapped):
            if pm.parse_hookimpl_opts(wrapped, name) is not None:
                setattr(self, name, getattr(wrapped, name))

    def __repr__(self) -> str:
        return f"<provider object {type(self.wrapped).__name__}>"


def _register(
    pm: pluggy.PluginManager, name: str, plugin: object, distribution: str | None, version: str | None
) -> None:
    if not isinstance(plugin, types.ModuleType):
        plugin = _Handle(pm, plugin)
    try:
        pm.register(plugin, name=name)
    except Exception as error:  # pluggy.PluginValidationError, ValueError (already registered)
        raise PluginLoadError(
            f"plugin {name!r} cannot be registered: {error}", provider=name, original=error
        ) from error
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


def _scan() -> dict[str, _EntryPoint]:
    """The ``modelplug`` entry points by name, read from installed metadata once (no import).
    A second distribution claiming a taken name is ignored with a warning; a name that cannot be a
    provider name is recorded as broken."""
    table = _registry.entry_points
    if table is not None:
        return table
    with _registry.lock:
        if _registry.entry_points is not None:
            return _registry.entry_points
        from importlib.metadata import entry_points

        found: dict[str, _EntryPoint] = {}
        allowed = _allowed()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if allowed is not None and ep.name not in allowed:
                continue
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else None
            version = dist.version if dist is not None else None
            known = found.get(ep.name)
            if known is not None:  # two distributions claim one name: the first on sys.path wins, loudly
                from modelplug.log import get_logger

                get_logger().warning(
                    "plugin_name_conflict",
                    provider=ep.name,
                    used=known.distribution,
                    ignored=dist_name,
                    entry_point=ep.value,
                )
                continue
            if not ep.name or ":" in ep.name or ep.name != ep.name.strip():
                failure = PluginLoadError(
                    f"plugin {ep.name!r} ({ep.value}): a provider name cannot be empty, contain ':' or surrounding "
                    "spaces (it is the prefix of a model spec '<provider>:<model>')",
                    provider=ep.name,
                )
                _record_failure(ep.name, failure, dist_name, version)
                continue
            found[ep.name] = _EntryPoint(ep.name, ep.value, dist_name, version, ep)
        _registry.entry_points = found
        return found


def _import_entry_point(entry: _EntryPoint) -> None:
    """``entry_point.load()``, its outcome appended to ``entry.result``: ``("ok", plugin)`` or
    ``("error", exception)``. Any exception of the import is recorded, ``SystemExit`` and pytest's
    ``Skipped`` included; only ``KeyboardInterrupt`` propagates."""
    try:
        entry.result.append(("ok", entry.entry_point.load()))
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # a plugin calling sys.exit() or pytest.skip() on import must not end the caller
        entry.result.append(("error", error))


def _ensure(name: str, timeout_s: float | None = None) -> None:
    """Import and register the entry point ``name`` if it is not yet (nothing for other names).

    With ``timeout_s``, the import runs in a daemon thread waited for that long; a plugin still
    importing then is recorded as failed ("did not import within ...") and registered later if its
    import finishes. A call made by the plugin itself while it imports (``list_providers()``,
    ``load_model()``) sees it as not available yet and changes nothing.
    """
    entry = _scan().get(name)
    if entry is None or (name in _registry.providers and entry.pending is None):
        return
    me = threading.get_ident()
    if entry.importing == me:
        return
    with entry.lock:
        if name in _registry.providers and entry.pending is None:
            return
        if entry.pending is None:
            entry.importing = me
            try:
                if timeout_s is None:
                    _import_entry_point(entry)
                else:
                    worker = threading.Thread(
                        target=_import_entry_point, args=(entry,), name=f"modelplug-import-{name}", daemon=True
                    )
                    entry.pending = worker
                    worker.start()
            finally:
                entry.importing = None
        if entry.pending is not None:
            entry.pending.join(timeout_s)
            if entry.pending.is_alive():
                limit = "its time limit" if timeout_s is None else f"{timeout_s:g} s"
                failure = PluginLoadError(
                    f"plugin {name!r} ({entry.value}) did not finish importing within {limit}; "
                    "it is still importing in the background",
                    provider=name,
                )
                with _registry.lock:
                    _record_failure(name, failure, entry.distribution, entry.version)
                return
            entry.pending = None
        _finish_import(entry)


def _finish_import(entry: _EntryPoint) -> None:
    outcome, value = entry.result[-1]
    with _registry.lock:
        _registry.failures.pop(entry.name, None)
        _registry.providers.pop(entry.name, None)
        if outcome == "error":
            failure = PluginLoadError(
                f"plugin {entry.name!r} ({entry.value}) failed to import: {type(value).__name__}: {value}",
                provider=entry.name,
                original=value,
            )
            failure.__cause__ = value
            _record_failure(entry.name, failure, entry.distribution, entry.version)
            return
        try:
            _register(get_plugin_manager(), entry.name, value, entry.distribution, entry.version)
        except PluginLoadError as failure:
            _record_failure(entry.name, failure, entry.distribution, entry.version)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide pluggy plugin manager (the core's own hooks, and every provider imported so
    far: entry points are imported lazily, by name, on first use)."""
    pm = _registry.pm
    if pm is not None:
        return pm
    with _registry.lock:
        if _registry.pm is None:
            _registry.pm = _new_manager()
        return _registry.pm


def register_provider(name: str, plugin: object, *, replace: bool = False) -> None:
    """Register ``plugin`` (a module or object with ``@hookimpl`` functions) as provider ``name``.

    For providers defined in code (tests, notebooks, wrapped callables); packages use the
    ``modelplug`` entry-point group instead.

    Raises:
        PluginLoadError: the name is taken (unless ``replace``), or a hook implementation is invalid.
    """
    pm = get_plugin_manager()
    if not replace:
        _ensure(name)  # an installed plugin of that name takes the name first
    with _registry.lock:
        if name in _registry.providers or (_registry.entry_points or {}).get(name) is not None:
            if not replace:
                raise PluginLoadError(f"provider {name!r} is already registered", provider=name)
            unregister_provider(name)
        _register(pm, name, plugin, None, None)


def unregister_provider(name: str) -> None:
    """Remove provider ``name`` (no error when it is not registered)."""
    pm = get_plugin_manager()
    with _registry.lock:
        plugin = pm.get_plugin(name)
        if plugin is not None:
            pm.unregister(plugin, name=name)
        _registry.providers.pop(name, None)
        _registry.failures.pop(name, None)
        if _registry.entry_points is not None:
            _registry.entry_points.pop(name, None)  # replaced or removed: never imported later


def list_providers(*, timeout_s: float | None = None) -> list[ProviderInfo]:
    """Every provider found, sorted by name, including those that failed to load (``error`` set).

    Imports every installed plugin not imported yet, each on its own: with ``timeout_s``
    (seconds per plugin), a plugin whose import takes longer is listed with an error saying so
    instead of blocking the listing.
    """
    for name in list(_scan()):
        _ensure(name, timeout_s)
    with _registry.lock:
        return sorted(_registry.providers.values(), key=lambda p: p.name)


def provider_names() -> frozenset[str]:
    """The names taken by providers: registered (loaded or failed) or installed and not imported
    yet. Imports nothing."""
    installed = _scan()
    with _registry.lock:
        return frozenset(_registry.providers) | frozenset(installed)


def provider_info(name: str) -> ProviderInfo:
    """The :class:`ProviderInfo` of provider ``name``.

    Raises:
        UnknownProviderError: no such provider; the message lists the installed ones and, for a
            built-in provider, the pip extra that installs it.
        PluginLoadError: the provider exists but failed to load (the original error is kept).
    """
    entry = _scan().get(name)
    if entry is not None and entry.importing == threading.get_ident():
        raise PluginLoadError(
            f"provider {name!r} is used while its plugin is still being imported "
            "(the plugin calls modelplug at import time); use it after the import",
            provider=name,
        )
    _ensure(name)
    info = _registry.providers.get(name)
    if info is None:
        with _registry.lock:
            known = set(_registry.providers) | set(_registry.entry_points or ())
        installed = tuple(sorted(n for n in known if n not in _registry.failures))
        extra = KNOWN_EXTRAS.get(name)
        hint = f" Install it from a checkout of modelplug: {install_hint(extra)}." if extra else ""
        if os.environ.get(ENV_PLUGINS) is not None:
            hint += f" ({ENV_PLUGINS}={os.environ[ENV_PLUGINS]!r} restricts which plugins load.)"
        raise UnknownProviderError(
            f"unknown provider {name!r}; installed providers: {', '.join(installed) or '(none)'}.{hint}",
            provider=name,
            installed=installed,
        )
    if info.error is not None:
        failure = _registry.failures[name]
        raise PluginLoadError(str(failure), provider=name, original=failure.original) from failure.original
    return info


def implements(provider: str, hook: str) -> bool:
    """Whether ``provider`` implements ``hook``."""
    return hook in provider_info(provider).hooks


def reset() -> None:
    """Forget every loaded plugin; the next use discovers them again (for tests)."""
    with _registry.lock:
        _registry.pm = None
        _registry.providers.clear()
        _registry.failures.clear()
        _registry.entry_points = None
