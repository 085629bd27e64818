"""The core's own hook implementations, registered before any provider.

Only ``parse_tool_calls`` lives here: tried last (``trylast``), after the provider's own
implementation, so a provider can override it for its models and fall back to this one by
returning ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence

from modelplug.hookspecs import hookimpl
from modelplug.types import Tool

__all__ = ["parse_tool_calls"]


@hookimpl(trylast=True)
def parse_tool_calls(text: str, tools: Sequence[Tool], format: str | None) -> object:
    """Read tool calls from ``text`` with :func:`modelplug.toolcalls.parse`."""
    from modelplug import toolcalls

    return toolcalls.parse(text, format=format, tools=tools or None)
