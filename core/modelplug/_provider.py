"""``Provider``: the one object through which the core calls a provider's hooks.

A :class:`Provider` is bound to one registered plugin object (not to a name looked up at each
call), so a model keeps calling its own provider's implementations whatever is registered or
unregistered meanwhile. Each hook has one typed method that checks the result and turns a broken
contract into :class:`~modelplug.errors.PluginContractError`. See ``docs/hooks.md``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from modelplug import _plugins as plugins
from modelplug.errors import (
    HookNotImplementedError,
    ModelLoadError,
    ModelplugError,
    PluginContractError,
    wrap_provider_exception,
)
from modelplug.reserved import ReservedOptions
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions

if TYPE_CHECKING:
    import pluggy

    from modelplug.toolcalls import ParseResult
    from modelplug.types import Tool

__all__ = ["Provider"]

#: Hooks whose stray exceptions are the backend's failures (a ``ProviderError``), not a broken contract.
_BACKEND_HOOKS: Final = frozenset({"generate", "generate_stream", "agenerate_stream"})


def _call_order(impl: Any) -> int:
    rank = 0 if impl.trylast else 2 if impl.tryfirst else 1
    return rank + (3 if impl.wrapper or impl.hookwrapper else 0)


class Provider:
    """One provider's hooks, called one typed method per hook.

    Build it with :meth:`Provider.get`. Each method runs exactly this provider's implementation
    (plus the core's fallback ``parse_tool_calls`` and cross-cutting hook wrappers, such as the
    conformance kit's call probe), never another provider's.

    Errors, for every method: a :class:`~modelplug.errors.ModelplugError` raised by the hook passes
    through unchanged; any other exception becomes a :class:`~modelplug.errors.PluginContractError`
    (``generate`` / ``generate_stream``: a :class:`~modelplug.errors.ProviderError` through
    :func:`~modelplug.errors.wrap_provider_exception`; ``load``: a
    :class:`~modelplug.errors.ModelLoadError`); a result of the wrong type is a ``PluginContractError``.

    Attributes:
        name: the provider name (model-spec prefix).
        hooks: the hooks the provider implements itself.
    """

    __slots__ = ("_impls", "_manager", "_plugin", "hooks", "name")

    def __init__(self, name: str, plugin: object, manager: pluggy.PluginManager, hooks: Sequence[str]) -> None:
        self.name = name
        self._plugin = plugin
        self._manager = manager
        self.hooks: tuple[str, ...] = tuple(hooks)
        # The provider's own hook implementations, taken now: a model keeps calling the provider it
        # was built with even when the name is later replaced or unregistered.
        self._impls: dict[str, list[Any]] = {
            hook: [impl for impl in getattr(manager.hook, hook).get_hookimpls() if impl.plugin is plugin]
            for hook in self.hooks
        }

    @classmethod
    def get(cls, name: str) -> Provider:
        """The provider registered as ``name`` now.

        Raises:
            UnknownProviderError: no such provider (the message lists the installed ones).
            PluginLoadError: the provider exists but failed to import or register.
        """
        info = plugins.provider_info(name)
        manager = plugins.get_plugin_manager()
        plugin = manager.get_plugin(name)
        if plugin is None:  # unregistered between the two look-ups
            info = plugins.provider_info(name)
            plugin = manager.get_plugin(name)
        return cls(name, plugin, manager, info.hooks)

    def implements(self, hook: str) -> bool:
        """Whether the provider implements ``hook`` itself."""
        return hook in self.hooks

    def _call(self, hook: str, **arguments: Any) -> Any:
        """Run this provider's implementation of ``hook`` with pluggy's executor, over the hook
        implementations that belong to it, to the core, or are wrappers of non-provider plugins."""
        caller = getattr(self._manager.hook, hook)
        providers = plugins.provider_names()
        chosen = [
            impl
            for impl in caller.get_hookimpls()
            if impl.plugin_name == plugins.CORE_PLUGIN_NAME
            or ((impl.wrapper or impl.hookwrapper) and impl.plugin_name not in providers)
        ]
        chosen.extend(self._impls.get(hook, ()))
        chosen.sort(key=_call_order)  # pluggy's order: wrappers last, tryfirst after normal after trylast
        firstresult = bool(caller.spec is not None and caller.spec.opts.get("firstresult"))
        # pluggy's own executor (what HookCaller.__call__ runs), over the chosen implementations only.
        return self._manager._hookexec(hook, chosen, arguments, firstresult)

    def _guarded(self, hook: str, **arguments: Any) -> Any:
        try:
            return self._call(hook, **arguments)
        except ModelplugError:
            raise
        except Exception as error:
            if hook in _BACKEND_HOOKS:
                raise wrap_provider_exception(self.name, error) from error
            raise self.contract_error(
                hook, f"the {hook} hook failed: {type(error).__name__}: {error}", error
            ) from error

    def contract_error(self, hook: str, problem: str, original: BaseException | None = None) -> PluginContractError:
        """The :class:`PluginContractError` for ``problem`` in this provider's ``hook``."""
        return PluginContractError(
            f"provider {self.name!r}: {problem}", provider=self.name, hook=hook, original=original
        )

    def load(self, model_id: str, options: Mapping[str, Any], reserved: ReservedOptions | None = None) -> Any:
        """The provider's state for ``model_id`` (its ``load`` hook; without one, a dict of ``options``).

        ``options`` holds no reserved option (:mod:`modelplug.reserved`); ``reserved`` (the checked
        reserved options, defaults when ``None``) goes to a hook that names that argument.

        Raises:
            ModelLoadError: the hook raised an exception that is not a modelplug error.
        """
        if not self.implements("load"):
            return dict(options)
        try:
            return self._call(
                "load", model_id=model_id, options=dict(options), reserved=reserved or ReservedOptions()
            )
        except ModelplugError:
            raise
        except Exception as error:
            raise ModelLoadError(
                f"provider {self.name!r} could not load {model_id!r}: {type(error).__name__}: {error}",
                provider=self.name,
                original=error,
            ) from error

    def capabilities(self, model_id: str, state: Any) -> Capabilities:
        """The provider's :class:`~modelplug.types.Capabilities` for the model (required hook).

        Raises:
            HookNotImplementedError: the provider lacks the hook.
            PluginContractError: it failed or returned something else than a ``Capabilities``.
        """
        self._require("capabilities")
        declared = self._guarded("capabilities", model_id=model_id, state=state)
        if not isinstance(declared, Capabilities):
            problem = f"the capabilities hook must return a modelplug.Capabilities, got {declared!r:.80}"
            raise self.contract_error("capabilities", problem)
        return declared

    def option_types(self, model_id: str) -> Mapping[str, Any]:
        """The model options the provider declares, ``{name: type}`` (``{}`` without the hook).

        Raises:
            PluginContractError: the hook failed or returned something else than a mapping.
        """
        if not self.implements("option_types"):
            return {}
        declared = self._guarded("option_types", model_id=model_id)
        if declared is None:
            return {}
        if not isinstance(declared, Mapping):
            raise self.contract_error("option_types", f"option_types must return a mapping, got {declared!r:.80}")
        return declared

    def list_models(self, options: Mapping[str, Any] | None = None) -> list[str]:
        """The model ids the provider lists (its ``list_models`` hook), with model ``options``.

        Raises:
            HookNotImplementedError: the provider lacks the hook.
            PluginContractError: the hook failed with a stray exception, or returned something
                else than a list of strings.
        """
        self._require("list_models")
        listed = self._guarded("list_models", options=dict(options or {}))
        if isinstance(listed, (str, bytes, Mapping)) or not isinstance(listed, Sequence):
            raise self.contract_error("list_models", f"list_models must return a list of model ids, got {listed!r:.80}")
        if not all(isinstance(model_id, str) for model_id in listed):
            raise self.contract_error("list_models", f"list_models must return strings, got {listed!r:.80}")
        return list(listed)

    def generate(
        self, model_id: str, state: Any, messages: list[ChatMessage], options: GenerationOptions
    ) -> ChatMessage:
        """One complete answer (the ``generate`` hook).

        Raises:
            HookNotImplementedError: the provider lacks the hook.
            ProviderError: the backend failed.
            PluginContractError: the hook returned something else than a ``ChatMessage``.
        """
        self._require("generate")
        message = self._guarded("generate", model_id=model_id, state=state, messages=messages, options=options)
        if not isinstance(message, ChatMessage):
            problem = f"generate must return a ChatMessage, got {type(message).__name__}"
            raise self.contract_error("generate", problem)
        return message

    def generate_stream(
        self, model_id: str, state: Any, messages: list[ChatMessage], options: GenerationOptions
    ) -> Iterator[ChatMessageStreamDelta]:
        """The provider's iterator of deltas (the ``generate_stream`` hook). The deltas themselves are
        checked by :class:`~modelplug._stream.ChatStream` as they arrive.

        Raises:
            HookNotImplementedError: the provider lacks the hook, or it returned ``None``.
            ProviderError: the backend failed before the first delta.
            PluginContractError: it returned something that is not an iterable (a string, a dict, a number).
        """
        self._require("generate_stream")
        result = self._guarded("generate_stream", model_id=model_id, state=state, messages=messages, options=options)
        if result is None:
            raise HookNotImplementedError(
                f"provider {self.name!r} declares streaming but its generate_stream returned None",
                provider=self.name,
                hook="generate_stream",
            )
        if not isinstance(result, (str, bytes, Mapping)):
            try:
                return iter(result)
            except TypeError:
                pass
        problem = f"generate_stream must return an iterator of ChatMessageStreamDelta, got {type(result).__name__}"
        raise self.contract_error("generate_stream", problem)

    def agenerate_stream(
        self, model_id: str, state: Any, messages: list[ChatMessage], options: GenerationOptions
    ) -> AsyncIterator[ChatMessageStreamDelta]:
        """The provider's async iterator of deltas (the ``agenerate_stream`` hook).

        Raises:
            HookNotImplementedError: the provider lacks the hook, or it returned ``None``.
            ProviderError: the hook failed before returning its iterator.
            PluginContractError: it returned something that is not an async iterator (a sync
                generator, a coroutine, a list).
        """
        self._require("agenerate_stream")
        result = self._guarded("agenerate_stream", model_id=model_id, state=state, messages=messages, options=options)
        if result is None:
            raise HookNotImplementedError(
                f"provider {self.name!r} declares async_streaming but its agenerate_stream returned None",
                provider=self.name,
                hook="agenerate_stream",
            )
        if hasattr(type(result), "__anext__"):
            return result  # type: ignore[no-any-return]
        if hasattr(type(result), "__aiter__"):
            return result.__aiter__()  # type: ignore[no-any-return]
        if hasattr(result, "close") and hasattr(result, "send"):  # a coroutine or sync generator: do not leak it
            result.close()
        problem = (
            f"agenerate_stream must return an async iterator of ChatMessageStreamDelta "
            f"(an `async def` generator), got {type(result).__name__}"
        )
        raise self.contract_error("agenerate_stream", problem)

    def parse_tool_calls(
        self, model_id: str, state: Any, text: str, tools: Sequence[Tool], format: str | None
    ) -> ParseResult | None:
        """Tool calls read from ``text`` (the provider's ``parse_tool_calls``, else the core's).

        Raises:
            ToolCallParseError: a call that cannot be read.
            PluginContractError: the hook failed otherwise, or returned something else than a
                ``ParseResult`` or ``None``.
        """
        result = self._guarded(
            "parse_tool_calls", model_id=model_id, state=state, text=text, tools=list(tools), format=format
        )
        if result is not None and (
            not isinstance(getattr(result, "tool_calls", None), (list, tuple)) or not hasattr(result, "content")
        ):
            problem = (
                f"parse_tool_calls must return a modelplug.toolcalls.ParseResult or None, got {type(result).__name__}"
            )
            raise self.contract_error("parse_tool_calls", problem)
        return result  # type: ignore[no-any-return]

    def unload(self, model_id: str, state: Any) -> None:
        """Release the model (this provider's ``unload`` only; nothing without the hook).

        Raises:
            PluginContractError: the hook failed with an exception that is not a modelplug error.
        """
        if self.implements("unload"):
            self._guarded("unload", model_id=model_id, state=state)

    def _require(self, hook: str) -> None:
        if not self.implements(hook):
            raise HookNotImplementedError(
                f"provider {self.name!r} does not implement the {hook!r} hook "
                f"(it implements: {', '.join(self.hooks) or 'none'})",
                provider=self.name,
                hook=hook,
            )

    def __repr__(self) -> str:
        return f"<Provider {self.name!r} hooks={list(self.hooks)}>"
