"""The keys file and key references in model options (modelplug._keys)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import modelplug
from modelplug._keys import read_keys, resolve_key_options, set_key
from modelplug.errors import InvalidOptionError
from modelplug.secrets import redact


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point MODELPLUG_KEYS (and an empty MODELPLUG_CONFIG) at a temp dir; the keys file is not there yet."""
    monkeypatch.setenv("MODELPLUG_KEYS", str(tmp_path / "keys" / "keys.json"))
    monkeypatch.setenv("MODELPLUG_CONFIG", str(tmp_path / "config.toml"))
    return tmp_path / "keys" / "keys.json"


def test_env_and_key_references_work_in_python_too(keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("modelplug_openai")
    monkeypatch.setenv("MY_OPENAI_TEST_KEY", "tok-python-env-key-0004")
    with modelplug.load_model("openai:m", base_url="http://127.0.0.1:9/v1", api_key_env="MY_OPENAI_TEST_KEY") as model:
        assert model.options["api_key"] == "tok-python-env-key-0004"
        assert "api_key_env" not in model.options
        assert "tok-python" not in repr(model)
    set_key("py", "tok-python-file-key-0005")
    with modelplug.load_model("openai:m", base_url="http://127.0.0.1:9/v1", api_key="key:py") as model:
        assert model.options["api_key"] == "tok-python-file-key-0005"
    with pytest.raises(InvalidOptionError, match="'MISSING_VAR_X', which is not set"):
        modelplug.load_model("openai:m", api_key_env="MISSING_VAR_X")


def test_a_missing_keys_file_is_empty_and_a_malformed_one_is_named(keys: Path) -> None:
    assert read_keys() == {}
    keys.parent.mkdir()
    for content in ["{not json", '["a list"]', '{"name": 5}']:
        keys.write_text(content, encoding="utf-8")
        with pytest.raises(InvalidOptionError, match=r"keys file '.*keys\.json'"):
            read_keys()


def test_set_key_keeps_the_other_keys_and_refuses_an_empty_one(keys: Path) -> None:
    set_key("a", "zz-key-a-0011")
    set_key("b", "zz-key-b-0012")
    set_key("a", "zz-key-a-0013")
    assert json.loads(keys.read_text(encoding="utf-8")) == {"a": "zz-key-a-0013", "b": "zz-key-b-0012"}
    for name, value in [("", "zz-x-0014"), ("  ", "zz-x-0015"), ("c", "")]:
        with pytest.raises(InvalidOptionError, match="non-empty NAME and value"):
            set_key(name, value)
    assert sorted(read_keys()) == ["a", "b"]


def test_env_references_become_the_option(keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEYS_TEST_TOKEN", "tok-keys-env-0016")
    monkeypatch.setenv("MY_KEYS_TEST_BASE", "http://127.0.0.1:9/v1")
    resolved = resolve_key_options({"api_key_env": "MY_KEYS_TEST_TOKEN", "api_base_env": "MY_KEYS_TEST_BASE", "n": 1})
    assert resolved == {"api_key": "tok-keys-env-0016", "api_base": "http://127.0.0.1:9/v1", "n": 1}
    assert redact("tok-keys-env-0016") == "***"  # a secret option's value is a secret from now on
    assert redact("http://127.0.0.1:9/v1") == "http://127.0.0.1:9/v1"  # a plain option's is not
    # a provider that declares `<option>_env` itself gets it as it is
    assert resolve_key_options({"api_key_env": "X"}, {"api_key_env": str}) == {"api_key_env": "X"}


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"api_key_env": 5}, "'api_key_env' must name an environment variable, got 5"),
        ({"api_key_env": ""}, "'api_key_env' must name an environment variable"),
        ({"api_key_env": "MY_KEYS_TEST_TOKEN", "api_key": "x"}, "give 'api_key' or 'api_key_env', not both"),
        ({"api_key_env": "MY_KEYS_UNSET_VARIABLE"}, "'MY_KEYS_UNSET_VARIABLE', which is not set"),
        ({"api_key": "key:nope"}, "refers to the key 'nope', which is not in the keys file .*modelplug keys set nope"),
    ],
)
def test_bad_references_are_named_errors(
    keys: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, object], match: str
) -> None:
    monkeypatch.setenv("MY_KEYS_TEST_TOKEN", "tok-keys-env-0017")
    monkeypatch.delenv("MY_KEYS_UNSET_VARIABLE", raising=False)
    with pytest.raises(InvalidOptionError, match=match) as caught:
        resolve_key_options(options, where="alias 'm'")
    assert str(caught.value).endswith("(alias 'm')")


def test_a_key_reference_is_read_only_for_a_secret_option(keys: Path) -> None:
    set_key("svc", "zz-svc-key-0018")
    assert resolve_key_options({"token": "key:svc", "prompt_prefix": "key:svc"}) == {
        "token": "zz-svc-key-0018",
        "prompt_prefix": "key:svc",
    }
