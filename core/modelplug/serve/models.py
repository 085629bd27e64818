"""Which models a server serves: :class:`ModelEntry` (a name, a spec, model options), loaded once
per process (or per Ray replica) by :func:`load_models`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from modelplug.errors import InvalidOptionError
from modelplug.secrets import redact_mapping
from modelplug.serve.app import DEFAULT_MAX_CONCURRENCY, ServedModel

__all__ = ["ModelEntry", "close_models", "load_models"]


@attrs.frozen
class ModelEntry:
    """One served model: clients ask for ``name``; it is ``load_model(spec, **options)``."""

    name: str
    spec: str
    options: Mapping[str, Any] = attrs.field(factory=dict, repr=lambda options: repr(redact_mapping(options)))


def check_entries(entries: Sequence[ModelEntry]) -> None:
    """Raises :class:`InvalidOptionError` for no entries or a name served twice."""
    if not entries:
        raise InvalidOptionError("nothing to serve: give at least one model (-m SPEC)")
    names = [entry.name for entry in entries]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InvalidOptionError(f"model name(s) served twice: {', '.join(twice)}; give each -m its own --name")


def load_models(
    entries: Sequence[ModelEntry], *, max_concurrency: int = DEFAULT_MAX_CONCURRENCY
) -> dict[str, ServedModel]:
    """Load every entry (in order); on a failure the models already loaded are closed.

    Raises:
        InvalidOptionError: see :func:`check_entries`; or a bad spec or option.
        ModelplugError: a model failed to load (the provider's error).
    """
    from modelplug._load import load_model

    check_entries(entries)
    served: dict[str, ServedModel] = {}
    try:
        for entry in entries:
            served[entry.name] = ServedModel(entry.name, load_model(entry.spec, **entry.options), max_concurrency)
    except BaseException:
        close_models(served)
        raise
    return served


def close_models(served: Mapping[str, ServedModel]) -> None:
    """Close every model (errors while unloading are logged, not raised)."""
    from modelplug.log import get_logger

    for item in served.values():
        try:
            item.model.close()
        except Exception as error:
            get_logger().warning("unload_failed", provider=item.model.provider, error=repr(error))
