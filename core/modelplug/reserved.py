"""The model options the core reserves: checked and taken out before a provider's ``load``.

A provider never sees them in ``options``; one that needs their values names the ``reserved``
argument of its ``load`` hook and gets a :class:`ReservedOptions`. See ``docs/configuration.md``
("Options every model takes") and ``docs/hooks.md`` (``load``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from modelplug._cost import PRICE_OPTION, Price, price_from_option
from modelplug.errors import InvalidOptionError
from modelplug.retry import RETRY_OPTIONS, RetryPolicy
from modelplug.types import Capabilities

__all__ = ["RESERVED_OPTIONS", "RESERVED_OPTION_TYPES", "ReservedOptions"]

TOOL_CALL_FORMAT_OPTION: Final = "tool_call_format"
CAPABILITIES_OPTION: Final = "capabilities"

#: Model options the core takes out before ``load``: ``tool_call_format`` (the format to read text
#: tool calls in), ``capabilities`` (a dict of :class:`~modelplug.types.Capabilities` fields
#: overriding what the provider declares), ``price`` (``{"input": USD, "output": USD}`` per million
#: tokens, :mod:`modelplug._cost`) and the retry settings ``max_retries``, ``retry_backoff``,
#: ``retry_max_wait`` (:class:`~modelplug.retry.RetryPolicy`).
RESERVED_OPTIONS: Final = frozenset({TOOL_CALL_FORMAT_OPTION, CAPABILITIES_OPTION, PRICE_OPTION, *RETRY_OPTIONS})

#: How the command line converts ``-o`` values of reserved options (``capabilities`` and ``price``
#: are JSON objects, read as JSON by the command line anyway).
RESERVED_OPTION_TYPES: Final[Mapping[str, type]] = {
    TOOL_CALL_FORMAT_OPTION: str,
    "max_retries": int,
    "retry_backoff": float,
    "retry_max_wait": float,
}


@attrs.frozen
class ReservedOptions:
    """The reserved model options of one model, checked.

    Attributes:
        retry: the retry policy (retries before the first delta only; providers built on the
            chat-client kit pass it to :func:`~modelplug.chat_client.open_stream`).
        capabilities: the ``capabilities`` override, a dict of Capabilities field names to values
            (empty without the option); see :meth:`apply`.
        tool_call_format: the ``tool_call_format`` option (a format name of :mod:`modelplug.toolcalls`), or ``None``.
        price: the ``price`` option, or ``None``.
    """

    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    capabilities: Mapping[str, Any] = attrs.field(factory=dict)
    tool_call_format: str | None = None
    price: Price | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, provider: str) -> ReservedOptions:
        """Check the reserved options among the model ``options`` (others are ignored).

        Raises:
            InvalidOptionError: a bad value; the message names the option (``max_retries``,
                ``retry_backoff``, ``retry_max_wait``, ``capabilities``, ``tool_call_format``, ``price``).
        """
        override = options.get(CAPABILITIES_OPTION)
        if override is not None:
            if not isinstance(override, Mapping):
                raise InvalidOptionError(
                    f"model option 'capabilities' must be a dict of Capabilities fields, got {override!r}"
                )
            try:
                attrs.evolve(Capabilities(), **dict(override))
            except (TypeError, ValueError) as error:
                raise InvalidOptionError(f"model option 'capabilities': {error}") from error
        tool_call_format = options.get(TOOL_CALL_FORMAT_OPTION)
        if tool_call_format is not None:
            if not isinstance(tool_call_format, str):
                problem = f"must be a format name, got {tool_call_format!r}"
                raise InvalidOptionError(f"model option 'tool_call_format' {problem}")
            from modelplug.toolcalls.formats import canonical

            canonical(tool_call_format)
        return cls(
            RetryPolicy.from_options(options, provider),
            dict(override or {}),
            tool_call_format or None,
            price_from_option(options.get(PRICE_OPTION)),
        )

    def apply(self, declared: Capabilities) -> Capabilities:
        """``declared`` with the ``capabilities`` override and ``tool_call_format`` applied: what
        the model declares (:attr:`modelplug.Model.capabilities`)."""
        if self.tool_call_format:
            declared = attrs.evolve(declared, tool_call_format=self.tool_call_format)
        return attrs.evolve(declared, **self.capabilities) if self.capabilities else declared


def split_options(options: Mapping[str, Any], *, provider: str) -> tuple[ReservedOptions, dict[str, Any]]:
    """The checked reserved options and the rest (what the provider's ``load`` gets).

    Raises:
        InvalidOptionError: a bad reserved option (see :meth:`ReservedOptions.from_options`).
    """
    reserved = ReservedOptions.from_options(options, provider=provider)
    return reserved, {key: value for key, value in options.items() if key not in RESERVED_OPTIONS}
