"""Keeping secrets (API keys, tokens) out of reprs, logs and error messages.

Providers register the secrets they were given with :func:`register_secret`; :func:`redact`
replaces every registered secret, and every string shaped like a well-known key format
(``sk-...``, ``hf_...``, ``Bearer ...``), with ``***``. Model options whose name says they are
secret (``api_key``, ``token``, ...) are registered automatically by :func:`modelplug.load_model`.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "SECRET_OPTION_NAMES",
    "RedactedDict",
    "is_secret_option",
    "redact",
    "redact_mapping",
    "redact_value",
    "register_secret",
    "registered_count",
    "release_secret",
    "scrub_exception",
]

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
#: Registered secret -> how many holders registered it (released at 0).
_registered: dict[str, int] = {}
#: The matcher over ``_registered``; ``None`` when it must be rebuilt (lazily, by the next redact).
_registered_pattern: re.Pattern[str] | None = None
_dirty = False


def register_secret(value: str | None) -> None:
    """Remember ``value`` as a secret so that :func:`redact` hides it. Strings shorter than 4
    characters are ignored (too short to redact without mangling ordinary text).

    O(1): the matcher is rebuilt once, lazily, by the next :func:`redact` after any change, so
    registering thousands of keys stays fast. Each call counts: :func:`release_secret` undoes one.
    """
    global _dirty
    if not isinstance(value, str) or len(value) < 4:
        return
    with _lock:
        count = _registered.get(value, 0)
        _registered[value] = count + 1
        if count == 0:
            _dirty = True


def release_secret(value: str | None) -> None:
    """Undo one :func:`register_secret` of ``value`` (a closed model releases the secrets it
    registered); the secret is forgotten when no holder is left. Unknown values are ignored."""
    global _dirty
    if not isinstance(value, str):
        return
    with _lock:
        count = _registered.get(value)
        if count is None:
            return
        if count <= 1:
            del _registered[value]
            _dirty = True
        else:
            _registered[value] = count - 1


def registered_count() -> int:
    """How many distinct secrets are registered now."""
    return len(_registered)


def _trie_pattern(words: list[str]) -> str:
    """One regular expression matching any of ``words``, built as a prefix trie (shared prefixes
    are matched once, longest match first), so matching cost grows with the text, not the word count."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        parts: list[str] = []
        for char in sorted(k for k in node if k):
            chain, child = [char], node[char]
            while len(child) == 1 and "" not in child:  # a run without branches: one literal
                (next_char,) = child
                chain.append(next_char)
                child = child[next_char]
            text = re.escape("".join(chain))
            if len(child) > 1 or "" not in child:
                inner = emit(child)
                text += f"(?:{inner})?" if "" in child else f"(?:{inner})"
            parts.append(text)
        return "|".join(parts)

    return emit(trie)


def _matcher() -> re.Pattern[str] | None:
    global _registered_pattern, _dirty
    if not _dirty:
        return _registered_pattern
    with _lock:
        if _dirty:
            words = list(_registered)
            _registered_pattern = re.compile(_trie_pattern(words)) if words else None
            _dirty = False
        return _registered_pattern


def is_secret_option(name: str) -> bool:
    """Whether an option (or header) called ``name`` holds a secret (``api_key``, ``token``,
    ``*_api_key``, ``X-Api-Key``, ``Authorization``...)."""
    lowered = name.lower().replace("-", "_")
    return lowered in SECRET_OPTION_NAMES or lowered.endswith(("_api_key", "_token", "_secret"))


def redact(text: str) -> str:
    """Return ``text`` with registered secrets and key-shaped strings replaced by ``***``."""
    if not text:
        return text
    pattern = _matcher()
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


class RedactedDict(dict[str, Any]):
    """A ``dict`` whose ``repr`` / ``str`` hide secret options and registered secrets (model options:
    ``Model.options``). Reading a value gives it unchanged."""

    def __repr__(self) -> str:
        return redact(repr(redact_mapping(self)))

    __str__ = __repr__


def redact_value(value: Any, *, depth: int = 6) -> Any:
    """A copy of ``value`` with secrets redacted in every string it holds: ``str``, ``bytes``
    (read as UTF-8), and, ``depth`` levels deep, the keys and values of dicts and the items of lists,
    tuples and sets. Other objects are returned unchanged."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("utf-8", "surrogateescape")
        cleaned = redact(text)
        return value if cleaned == text else type(value)(cleaned.encode("utf-8", "surrogateescape"))
    if depth <= 0:
        return value
    if isinstance(value, Mapping):
        try:
            return type(value)(
                {redact_value(k, depth=depth - 1): redact_value(v, depth=depth - 1) for k, v in value.items()}
            )  # type: ignore[call-arg]
        except TypeError:
            return {redact_value(k, depth=depth - 1): redact_value(v, depth=depth - 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [redact_value(v, depth=depth - 1) for v in value]
        try:
            return type(value)(items)
        except TypeError:
            return items
    return value


def scrub_exception(error: BaseException, *, depth: int = 16) -> None:
    """Redact, in place, ``error`` and the exceptions it chains to (``__cause__``, ``__context__``,
    the members of an exception group, and the ``original_exception`` some client libraries keep),
    so that a printed traceback shows no secret: the ``args`` of any type (strings, bytes, dicts,
    lists, nested), ``__notes__``, and string / bytes / container attributes (``message``, ``body``).
    Client libraries put server messages in their errors, and a server may echo the key it was sent.
    """
    seen: set[int] = set()
    stack = [error]
    while stack and len(seen) < depth:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        with contextlib.suppress(AttributeError, TypeError):
            current.args = tuple(redact_value(a) for a in current.args)
        for name, attribute in list(getattr(current, "__dict__", {}).items()):
            if name.startswith("__") and name != "__notes__":
                continue
            if isinstance(attribute, (str, bytes, bytearray, Mapping, list, tuple)):
                cleaned = redact_value(attribute)
                if cleaned is not attribute and cleaned != attribute:
                    with contextlib.suppress(AttributeError, TypeError):  # read-only on some exception types
                        setattr(current, name, cleaned)
        linked_errors: list[object] = [
            current.__cause__,
            current.__context__,
            getattr(current, "original_exception", None),
            getattr(current, "original", None),
        ]
        linked_errors.extend(getattr(current, "exceptions", ()) or ())
        for linked in linked_errors:
            if isinstance(linked, BaseException):
                stack.append(linked)
