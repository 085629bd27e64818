"""The price of a generation in US dollars, from its reported usage.

Prices come from pydantic's ``genai-prices`` database (imported on the first priced answer, not
with ``modelplug``), or from prices an alias sets itself (:class:`Price`, per million tokens, for
self-hosted models). A cost is ``None`` when the price is unknown or the provider reported no usage:
never ``0`` for "don't know". See ``docs/configuration.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

import attrs

from modelplug.errors import InvalidOptionError
from modelplug.types import Usage

__all__ = ["PRICE_OPTION", "Price", "cost_of", "price_from_option"]

#: The model option (and alias key) that sets prices per million tokens: ``{"input": .., "output": ..}``.
PRICE_OPTION: Final = "price"

#: Providers whose model ids name hosted models, and how a model id maps to genai-prices'
#: ``(provider_id, model_ref)``: litellm's ``"openai/gpt-4o-mini"`` names its provider first; the
#: openai provider's ids are OpenAI's. Other providers (local weights) have no database price.
_HOSTED: Final = frozenset({"litellm", "openai", "inference-client"})


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{attribute.name} must be a non-negative number (USD per million tokens), got {value!r}")


@attrs.frozen
class Price:
    """Prices in US dollars per million tokens: ``input`` (prompt) and ``output`` (completion)."""

    input: float = attrs.field(validator=_non_negative)
    output: float = attrs.field(validator=_non_negative)

    def cost(self, usage: Usage) -> float:
        """The cost of ``usage`` in US dollars."""
        return (usage.prompt_tokens * self.input + usage.completion_tokens * self.output) / 1_000_000


def price_from_option(value: Any) -> Price | None:
    """The :class:`Price` of the ``price`` model option: a :class:`Price`, a dict
    ``{"input": USD, "output": USD}`` per million tokens, or ``None``.

    Raises:
        InvalidOptionError: another shape, a missing or negative price.
    """
    if value is None or isinstance(value, Price):
        return value
    if not isinstance(value, Mapping) or set(value) != {"input", "output"}:
        raise InvalidOptionError(
            f"model option 'price' must be a table {{input = USD, output = USD}} per million tokens, got {value!r}"
        )
    try:
        return Price(value["input"], value["output"])
    except ValueError as error:
        raise InvalidOptionError(f"model option 'price': {error}") from error


def cost_of(provider: str, model_id: str, usage: Usage | None, price: Price | None = None) -> float | None:
    """The cost in US dollars of ``usage`` on ``provider:model_id``: by ``price`` when given, else by
    the genai-prices database for hosted providers (litellm, openai, inference-client). ``None``
    without usage, for a model the database does not know, or when genai-prices is not installed."""
    if usage is None:
        return None
    if price is not None:
        return price.cost(usage)
    if provider not in _HOSTED:
        return None
    return _database_cost(model_id, usage.prompt_tokens, usage.completion_tokens)


def _database_cost(model_id: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    calculate = _calculator()
    if calculate is None:
        return None
    # "openai/gpt-4o-mini" names its vendor; an unknown vendor ("ollama/llama3") has no price, rather
    # than the price of a hosted model of the same name.
    vendor, _, name = model_id.partition("/") if "/" in model_id else ("", "", model_id)
    try:
        return float(calculate(prompt_tokens, completion_tokens, name, vendor or None))
    except (LookupError, ValueError):
        return None


@functools.cache
def _calculator() -> Any:
    """genai-prices' ``calc_price`` as ``(prompt, completion, model_ref, provider_id) -> Decimal``,
    imported once (≈0.2 s); ``None`` when the package is missing."""
    try:
        from genai_prices import Usage as PriceUsage
        from genai_prices import calc_price
    except ImportError:
        return None

    def calculate(prompt: int, completion: int, ref: str, provider_id: str | None) -> Any:
        usage = PriceUsage(input_tokens=prompt, output_tokens=completion)
        return calc_price(usage, model_ref=ref, provider_id=provider_id).total_price

    return calculate
