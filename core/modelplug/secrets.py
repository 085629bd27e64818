"""Keeping secrets (API keys, tokens) out of reprs, logs and error messages.

Providers register the secrets they were given with :func:`register_secret`; :func:`redact`
replaces every registered secret, and every string shaped like a well-known key format
(``sk-...``, ``hf_...``, ``Bearer ...``), with ``***``. Model options whose name says they are
secret (``api_key``, ``token``, ...) are registered automatically by :func:`modelplug.load_model`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["SECRET_OPTION_NAMES", "is_secret_option", "redact", "redact_mapping", "register_secret", "scrub_exception"]

#: Option names whose values are secrets (also header names: ``-`` counts as ``_``).
SECRET_OPTION_NAMES: Final = frozenset(
    {
        "api_key",
        "token",
        "hf_token",
        "access_token",
        "secret",
        "password",
        "authorization",
        "proxy_authorization",
        "api_token",
        "cookie",
        "cookies",
    }
)

_PATTERN: Final = re.compile(
    r"(?:sk-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{8,}|(?<=Bearer )[A-Za-z0-9_\-.=]{8,}|AIza[0-9A-Za-z_\-]{20,})"
)
_lock = threading.Lock()
_registered: set[str] = set()
_registered_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Remember ``value`` as a secret so that :func:`redact` hides it. Strings shorter than 4
    characters are ignored (too short to redact without mangling ordinary text)."""
    global _registered_pattern
    if not isinstance(value, str) or len(value) < 4:
        return
    with _lock:
        if value in _registered:
            return
        _registered.add(value)
        ordered = sorted(_registered, key=len, reverse=True)
        _registered_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def is_secret_option(name: str) -> bool:
    """Whether an option (or header) called ``name`` holds a secret (``api_key``, ``token``,
    ``*_api_key``, ``X-Api-Key``, ``Authorization``...)."""
    lowered = name.lower().replace("-", "_")
    return lowered in SECRET_OPTION_NAMES or lowered.endswith(("_api_key", "_token", "_secret"))


def redact(text: str) -> str:
    """Return ``text`` with registered secrets and key-shaped strings replaced by ``***``."""
    if not text:
        return text
    pattern = _registered_pattern
    if pattern is not None:
        text = pattern.sub("***", text)
    return _PATTERN.sub("***", text)


def redact_mapping(options: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``options`` with the values of secret options replaced by ``"***"``, also inside
    nested mappings (``headers={"Authorization": ...}``)."""
    return {
        k: (
            "***"
            if isinstance(k, str) and is_secret_option(k) and v is not None
            else redact_mapping(v)
            if isinstance(v, Mapping)
            else v
        )
        for k, v in options.items()
    }


def scrub_exception(error: BaseException, *, depth: int = 8) -> None:
    """Redact, in place, the message of ``error`` and of the exceptions it chains to (``__cause__``,
    ``__context__``, and the ``original_exception`` some client libraries keep), so that a printed
    traceback shows no secret. Client libraries put server messages in their errors, and a server
    may echo the key it was sent. Changes ``args`` and a ``message`` attribute when one is a string.
    """
    seen: set[int] = set()
    stack = [error]
    while stack and len(seen) < depth:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        try:
            current.args = tuple(redact(a) if isinstance(a, str) else a for a in current.args)
            message = getattr(current, "message", None)
            if isinstance(message, str):
                current.message = redact(message)  # type: ignore[attr-defined]
        except (AttributeError, TypeError):  # read-only attributes on some exception types
            pass
        for linked in (current.__cause__, current.__context__, getattr(current, "original_exception", None)):
            if isinstance(linked, BaseException):
                stack.append(linked)
