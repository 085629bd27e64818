"""The kit provider of docs/writing-a-plugin.md (:mod:`tests.servers.kit_provider`) with one lie:
every error its streams raise is re-raised as a bare ``ProviderError``, so the kind of fault (timeout,
dropped connection, bad server chunk, rate limit) is lost. The fault suites must catch it.

Registered in the inner test sessions as ``flat`` (``register_provider("flat", flat_provider)``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import modelplug
from modelplug.errors import ProviderError
from tests.servers import kit_provider

# every hook but the two streams is the kit provider's own
capabilities = kit_provider.capabilities
load = kit_provider.load
option_types = kit_provider.option_types
unload = kit_provider.unload


@modelplug.hookimpl
def generate_stream(state: Any, messages: Any, options: Any) -> Iterator[Any]:
    try:
        yield from kit_provider.generate_stream(state, messages, options)
    except ProviderError as error:
        raise ProviderError(str(error), provider="flat") from None


@modelplug.hookimpl
async def agenerate_stream(state: Any, messages: Any, options: Any) -> AsyncIterator[Any]:
    try:
        async for delta in kit_provider.agenerate_stream(state, messages, options):
            yield delta
    except ProviderError as error:
        raise ProviderError(str(error), provider="flat") from None
