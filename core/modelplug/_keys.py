"""API keys kept out of code and config files: the keys file and option references.

The keys file is a JSON object ``{"NAME": "key", ...}`` readable only by its user (mode 0600),
at ``$MODELPLUG_KEYS`` or ``<user config dir>/modelplug/keys.json``; ``modelplug keys set NAME``
writes it. A model option refers to a key in two ways (resolved by :func:`resolve_key_options`):

- ``<option>_env = "VAR"``: the option's value is the environment variable ``VAR``
  (``api_key_env = "OPENAI_API_KEY"``);
- ``api_key = "key:NAME"`` (any secret option): the key ``NAME`` of the keys file.

Every key is registered as a secret (:func:`modelplug.secrets.register_secret`) the moment it is read.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from modelplug.errors import InvalidOptionError
from modelplug.secrets import is_secret_option, register_secret

__all__ = ["ENV_KEYS", "ENV_SUFFIX", "KEY_PREFIX", "keys_path", "read_keys", "resolve_key_options", "set_key"]

#: Environment variable overriding the keys file path.
ENV_KEYS: Final = "MODELPLUG_KEYS"
#: An option named ``<option>_env`` names the environment variable holding ``<option>``.
ENV_SUFFIX: Final = "_env"
#: A secret option's value ``"key:NAME"`` is the key ``NAME`` of the keys file.
KEY_PREFIX: Final = "key:"


def keys_path() -> Path:
    """The keys file: ``$MODELPLUG_KEYS``, else ``<user config dir>/modelplug/keys.json``."""
    override = os.environ.get(ENV_KEYS)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_config_path("modelplug") / "keys.json"


def read_keys(path: Path | None = None) -> dict[str, str]:
    """The keys in the keys file (``{}`` when it does not exist), each registered as a secret.

    Raises:
        InvalidOptionError: the file cannot be read or is not a JSON object of strings.
    """
    path = keys_path() if path is None else path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise InvalidOptionError(f"cannot read the keys file {str(path)!r}: {error}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InvalidOptionError(f"the keys file {str(path)!r} must be a JSON object of names to key strings")
    for value in data.values():
        register_secret(value)
    return data


def set_key(name: str, value: str, path: Path | None = None) -> Path:
    """Store ``value`` as key ``name`` in the keys file (created with mode 0600, its folder with
    0700; an existing file keeps its other keys and is made 0600). Returns the file's path.

    Raises:
        InvalidOptionError: an empty name or value, or an unreadable keys file.
        OSError: the file cannot be written.
    """
    if not name.strip() or not value:
        raise InvalidOptionError("a key needs a non-empty NAME and value")
    register_secret(value)
    path = keys_path() if path is None else path
    keys = read_keys(path)
    keys[name] = value
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keys-", suffix=".json")  # mode 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(keys, file, indent=2, sort_keys=True)
            file.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def resolve_key_options(
    options: Mapping[str, Any], declared: Mapping[str, Any] | None = None, *, where: str = ""
) -> dict[str, Any]:
    """``options`` with key references replaced by the keys: ``<option>_env = "VAR"`` becomes
    ``<option>`` = the value of ``$VAR`` (unless the provider declares ``<option>_env`` itself in
    ``declared``), and a secret option's ``"key:NAME"`` becomes the key ``NAME`` of the keys file.
    ``where`` ("alias 'fast' in /path/config.toml") is added to error messages.

    Raises:
        InvalidOptionError: the variable is not set, the keys file has no such key, a ``_env``
            option is not a string, or both ``<option>`` and ``<option>_env`` are given.
    """
    declared = declared or {}
    suffix = f" ({where})" if where else ""
    resolved: dict[str, Any] = {}
    for key, value in options.items():
        if key.endswith(ENV_SUFFIX) and key not in declared and len(key) > len(ENV_SUFFIX):
            target = key[: -len(ENV_SUFFIX)]
            if not isinstance(value, str) or not value:
                raise InvalidOptionError(f"option {key!r} must name an environment variable, got {value!r}{suffix}")
            if target in options:
                raise InvalidOptionError(f"give {target!r} or {key!r}, not both{suffix}")
            found = os.environ.get(value)
            if not found:
                raise InvalidOptionError(
                    f"option {key!r} names the environment variable {value!r}, which is not set{suffix}"
                )
            if is_secret_option(target):
                register_secret(found)
            resolved[target] = found
        elif isinstance(value, str) and value.startswith(KEY_PREFIX) and is_secret_option(key):
            name = value[len(KEY_PREFIX) :]
            keys = read_keys()
            if name not in keys:
                raise InvalidOptionError(
                    f"option {key!r} refers to the key {name!r}, which is not in the keys file "
                    f"{str(keys_path())!r}: set it with `modelplug keys set {name}`{suffix}"
                )
            resolved[key] = keys[name]
        else:
            resolved[key] = value
    return resolved
