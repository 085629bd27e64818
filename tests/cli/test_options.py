"""Model-option parsing, model resolution and the config file (modelplug.cli.options)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from modelplug.cli.options import (
    DEFAULT_MODEL,
    ConfigError,
    config_path,
    convert_value,
    parse_options,
    provider_option_types,
    read_config,
    resolve_model,
)


def test_declared_types_convert() -> None:
    types = {"n": int, "t": float, "flag": bool, "name": str}
    options = parse_options(["n=3", "t=0.5", "flag=yes", "name=42", "other=[1, 2]", "word=hello"], types)
    assert options == {"n": 3, "t": 0.5, "flag": True, "name": "42", "other": [1, 2], "word": "hello"}
    assert type(options["t"]) is float


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("False", False), ("1", True), ("0", False), ("on", True), ("off", False), ("no", False)],
)
def test_bool_spellings(raw: str, expected: bool) -> None:
    assert convert_value("flag", raw, bool) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("3", 3), ("-1.5", -1.5), ("null", None), ("true", True), ('{"a": 1}', {"a": 1}), ("text", "text"), ("", "")],
)
def test_undeclared_values_are_json_when_they_parse(raw: str, expected: object) -> None:
    assert convert_value("x", raw) == expected


def test_value_may_contain_equals_signs() -> None:
    assert parse_options(["api_base=http://h/?a=b"]) == {"api_base": "http://h/?a=b"}


def test_a_later_key_wins() -> None:
    assert parse_options(["k=1", "k=2"]) == {"k": 2}


@pytest.mark.parametrize(
    ("pair", "types", "needle"),
    [
        ("noequals", {}, "expected key=value, got 'noequals'"),
        ("=3", {}, "expected key=value"),
        ("n=abc", {"n": int}, "n: expected an integer, got 'abc'"),
        ("n=1.5", {"n": int}, "n: expected an integer"),
        ("t=fast", {"t": float}, "t: expected a number"),
        ("flag=maybe", {"flag": bool}, "flag: expected a boolean"),
        ("items=notjson", {"items": list}, "items: expected JSON for a list"),
    ],
)
def test_bad_options_are_usage_errors_naming_the_option(pair: str, types: dict[str, type], needle: str) -> None:
    with pytest.raises(click.BadParameter) as info:
        parse_options([pair], types)
    assert needle in info.value.format_message()
    assert "'-o' / '--option'" in info.value.format_message()
    assert info.value.exit_code == 2


def test_replay_declares_option_types() -> None:
    options = provider_option_types("replay", "x")
    assert options == {
        "responses": list,
        "delay": float,
        "case": str,
        "loop": bool,
        "capabilities": dict,
        "tool_call_format": str,
    }


def test_resolution_order(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    assert resolve_model(None) == (DEFAULT_MODEL, "default")
    isolated_env.write_text('model = "replay:from-config"\n', encoding="utf-8")
    assert resolve_model(None) == ("replay:from-config", f"config file {isolated_env}")
    monkeypatch.setenv("MODELPLUG_MODEL", "replay:from-env")
    assert resolve_model(None) == ("replay:from-env", "MODELPLUG_MODEL")
    assert resolve_model("replay:flag") == ("replay:flag", "--model")


def test_default_config_path_is_in_the_user_config_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("MODELPLUG_CONFIG")
    assert config_path() == platformdirs.user_config_path("modelplug") / "config.toml"
    assert config_path().parts[-2:] == ("modelplug", "config.toml")


def test_missing_config_is_empty(tmp_path: Path) -> None:
    assert read_config(tmp_path / "nope.toml") == {}


@pytest.mark.parametrize("content", ["model = ", "model = 3", 'model = "  "'])
def test_bad_config_is_a_usage_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_config(path)
    assert str(path) in info.value.format_message()
    assert info.value.exit_code == 2
