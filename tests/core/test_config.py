"""Model aliases in a real config file: resolution, errors with file/line/alias, keys, ``modelplug models``."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

import modelplug
from modelplug._keys import set_key
from modelplug.cli import main
from modelplug.config import ConfigFileError, find_aliases, resolve_alias
from modelplug.errors import InvalidOptionError
from modelplug.secrets import redact

CONFIG = """\
model = "short"

[models.markov]
model = "example:default"
order = 3

[models.short]
model = "markov"
max_tokens = 5
temperature = 0.0

[models.longer]
model = "short"
max_tokens = 12
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point MODELPLUG_CONFIG and MODELPLUG_KEYS at files in a temp dir; write CONFIG."""
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("MODELPLUG_CONFIG", str(path))
    monkeypatch.setenv("MODELPLUG_KEYS", str(tmp_path / "keys" / "keys.json"))
    monkeypatch.delenv("MODELPLUG_MODEL", raising=False)
    return path


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_nested_aliases_merge_options_and_defaults(config: Path) -> None:
    resolved = resolve_alias("longer")
    assert resolved.spec == "example:default"
    assert [alias.name for alias in resolved.chain] == ["longer", "short", "markov"]
    assert resolved.options == {"order": 3}
    assert resolved.defaults == {"max_tokens": 12, "temperature": 0.0}  # the outer alias wins


def test_load_model_by_alias_applies_options_and_generation_defaults(config: Path) -> None:
    with modelplug.load_model("short") as model, modelplug.load_model("longer") as longer:
        assert model.spec == "example:default"
        assert model.options["order"] == 3
        assert model.generate("hi").usage.completion_tokens == 5
        assert model.generate("hi", max_tokens=2).usage.completion_tokens == 2  # a call's option wins
        assert longer.generate("hi").usage.completion_tokens == 12


def test_a_provider_prefix_always_means_the_provider(config: Path) -> None:
    _write(config, CONFIG + '\n[models.example]\nmodel = "example:default"\norder = 1\n')
    with modelplug.load_model("example:default") as model:
        assert "order" not in model.options  # not the alias named "example"


def test_a_cycle_is_named_with_file_line_and_alias(config: Path) -> None:
    _write(config, '[models.a]\nmodel = "b"\n\n[models.b]\nmodel = "c"\n\n[models.c]\nmodel = "a"\n')
    with pytest.raises(ConfigFileError) as caught:
        modelplug.load_model("a")
    assert "cycle: a -> b -> c -> a" in str(caught.value)
    assert str(caught.value).startswith(f"{config}:8: alias 'c'")
    assert caught.value.line == 8 and caught.value.alias == "c"


def test_an_unknown_alias_lists_the_known_ones(config: Path) -> None:
    with pytest.raises(InvalidOptionError, match=r"no model alias 'nosuch'.*aliases: longer, markov, short"):
        modelplug.load_model("nosuch")


def test_an_alias_naming_an_unknown_alias_points_at_its_model_line(config: Path) -> None:
    _write(config, '# aliases\n[models.a]\n\nmodel = "gone"\n')
    with pytest.raises(ConfigFileError, match=rf"^{config}:4: alias 'a': 'model' names no alias 'gone'"):
        modelplug.load_model("a")


def test_an_option_of_the_wrong_type_names_its_line_and_alias(config: Path) -> None:
    _write(config, CONFIG + '\n[models.bad]\nmodel = "markov"\n# the order of the chain\norder = "three"\n')
    with pytest.raises(ConfigFileError) as caught:
        modelplug.load_model("bad")
    message = str(caught.value)
    assert message.startswith(f"{config}:19: alias 'bad': ")
    assert "option 'order' must be a int" in message and "'three'" in message


def test_an_option_the_provider_refuses_at_load_names_its_line_and_alias(config: Path) -> None:
    _write(config, CONFIG + '\n[models.typo]\nmodel = "markov"\n# a misspelt option\nordre = 2\n')
    with pytest.raises(ConfigFileError) as caught:
        modelplug.load_model("typo")
    assert str(caught.value).startswith(f"{config}:19: alias 'typo': ") and "'ordre'" in str(caught.value)
    # an option given by the caller is not blamed on the file
    with pytest.raises(InvalidOptionError) as given:
        modelplug.load_model("markov", colour="red")
    assert not isinstance(given.value, ConfigFileError) and "'colour'" in str(given.value)


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ('modle = "markov"\n', 1, "modle"),  # a misspelt default model
        ('# models\n\n[modles.fast]\nmodel = "example:default"\n', 3, "modles"),  # a misspelt table
        ('model = "markov"\ntemperature = 0.5\n', 2, "temperature"),  # a default that belongs in an alias
    ],
)
def test_an_unknown_top_level_key_names_its_line(config: Path, text: str, line: int, key: str) -> None:
    _write(config, text + CONFIG.removeprefix('model = "short"\n'))
    with pytest.raises(ConfigFileError, match=rf"^{config}:{line}: unknown key '{key}'"):
        find_aliases()
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 2 and f"{config}:{line}: unknown key '{key}'" in result.output


def test_a_capabilities_override_of_the_wrong_type_names_its_line(config: Path) -> None:
    _write(config, CONFIG + '\n[models.odd]\nmodel = "markov"\ncapabilities = { streaming = "maybe" }\n')
    with pytest.raises(ConfigFileError, match=rf"^{config}:18: alias 'odd': .*streaming must be True or False"):
        modelplug.load_model("odd")


def test_a_bad_generation_default_is_refused_when_the_file_is_read(config: Path) -> None:
    _write(config, CONFIG + '\n[models.hot]\nmodel = "markov"\ntemperature = "warm"\n')
    with pytest.raises(ConfigFileError, match=rf"^{config}:18: alias 'hot': generation default 'temperature'"):
        find_aliases()


def test_a_forced_tool_choice_default_is_checked_against_each_calls_tools(config: Path) -> None:
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    chunk = {"choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": "tool_calls"}]}
    replay = config.parent / "calls.jsonl"
    _write(replay, json.dumps(chunk) + "\n")
    _write(config, f'[models.caller]\nmodel = "replay:{replay}"\nloop = true\ntool_choice = "required"\n')
    find_aliases()  # a valid default: the tools come with each call
    with modelplug.load_model("caller") as model:
        assert model.generate("hi", tools=[{"name": "lookup"}]).tool_calls[0].name == "lookup"
        with pytest.raises(InvalidOptionError, match="tool_choice='required' needs at least one tool"):
            model.generate("hi")


def test_cli_names_every_model_a_failed_fallback_chain_tried(config: Path) -> None:
    down = config.parent / "down.jsonl"
    _write(down, json.dumps({"error": {"message": "overloaded", "type": "server_error"}}) + "\n")
    text = f'[models.a]\nmodel = "replay:{down}"\nfallback = ["b"]\n[models.b]\nmodel = "replay:{down}"\n'
    _write(config, text)
    result = CliRunner().invoke(main, ["run", "--no-log", "-m", "a", "hi"])
    assert result.exit_code == 1
    # was only the last model's error: the note naming the chain was dropped
    assert "every model of the fallback chain failed" in result.output
    assert result.output.count("(ServerError)") == 2


def test_broken_toml_names_the_line(config: Path) -> None:
    _write(config, '[models.a]\nmodel = "example:default"\norder = \n')
    with pytest.raises(ConfigFileError, match=rf"^{config}:3: cannot read the config file"):
        find_aliases()


def test_cli_exits_2_with_file_line_and_alias(config: Path) -> None:
    _write(config, '[models.a]\nmodel = "b"\n[models.b]\nmodel = "a"\n')
    result = CliRunner().invoke(main, ["run", "--no-log", "-m", "a", "hi"])
    assert result.exit_code == 2
    assert f"Error: {config}:4: alias 'b': aliases form a cycle: a -> b -> a" in result.output


def test_cli_runs_an_alias_and_the_default_model_may_be_one(config: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--no-log", "--json", "hi"])  # model = "short" in the file
    assert result.exit_code == 0, result.output
    final = json.loads(result.output.strip().splitlines()[-1])
    assert final["usage"]["completion_tokens"] == 5
    assert final["answered_by"] == "example:default"


def test_api_key_env_reads_the_variable_and_registers_it(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TEST_TOKEN", "tok-from-the-environment-1")
    _write(config, '[models.m]\nmodel = "replay:x"\napi_key_env = "MY_TEST_TOKEN"\n')
    resolved = resolve_alias("m")
    from modelplug._load import _checked_options

    assert _checked_options(resolved) == {"api_key": "tok-from-the-environment-1"}
    assert redact("key tok-from-the-environment-1") == "key ***"
    monkeypatch.delenv("MY_TEST_TOKEN")
    with pytest.raises(ConfigFileError, match=rf"^{config}:3: alias 'm': .*'MY_TEST_TOKEN', which is not set"):
        _checked_options(resolved)


def test_key_reference_in_an_alias(config: Path) -> None:
    _write(config, '[models.m]\nmodel = "replay:x"\napi_key = "key:svc"\n')
    from modelplug._load import _checked_options

    with pytest.raises(ConfigFileError, match=r":3: alias 'm': .*'svc'.*modelplug keys set svc"):
        _checked_options(resolve_alias("m"))
    set_key("svc", "zz-svc-key-0003")
    assert _checked_options(resolve_alias("m")) == {"api_key": "zz-svc-key-0003"}


def test_models_lists_aliases_with_secrets_masked_and_provider_models(config: Path) -> None:
    _write(
        config,
        CONFIG
        + '\n[models.hosted]\nmodel = "litellm:openai/gpt-4o-mini"\napi_key = "sk-abcdefgh12345678"\n'
        + 'fallback = ["short"]\n\n[models.vaulted]\nmodel = "litellm:openai/gpt-4o"\napi_key = "key:openai"\n'
        + '\n[models.dangling]\nmodel = "nowhere"\n',
    )
    runner = CliRunner()
    result = runner.invoke(main, ["models", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = {row["name"]: row for row in data["aliases"]}
    assert data["config"] == str(config)
    assert rows["longer"]["spec"] == "example:default" and rows["longer"]["model"] == "short"
    assert rows["hosted"]["options"] == {"api_key": "***"}
    assert rows["hosted"]["fallback"] == ["short"]
    assert rows["vaulted"]["options"] == {"api_key": "key:openai"}  # a reference is no secret
    assert rows["dangling"]["spec"] is None and "no alias 'nowhere'" in rows["dangling"]["error"]
    providers = {row["name"]: row["models"] for row in data["providers"]}
    assert providers["transformers"] == ["transformers:default"]  # listed without loading it
    text = runner.invoke(main, ["models"]).output
    assert "sk-abcdefgh12345678" not in text
    assert "  longer: short (example:default)" in text
    assert "  transformers:default" in text


def test_models_exits_2_on_a_malformed_file(config: Path) -> None:
    _write(config, "[models.a]\nmodel = 3\n")
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 2
    assert f"{config}:2: alias 'a': 'model' must be a model spec or alias" in result.output


def test_the_documented_example_file_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    example = docs.read_text(encoding="utf-8").split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "config.toml"
    path.write_text(example, encoding="utf-8")
    monkeypatch.setenv("MODELPLUG_CONFIG", str(path))
    aliases = find_aliases()
    assert {name: resolve_alias(name).spec for name in aliases} == {
        "fast": "openai:gpt-4o-mini",
        "claude": "litellm:anthropic/claude-3-5-haiku-latest",
        "local": "openai:qwen2.5-7b-instruct",
        "precise": "openai:gpt-4o-mini",
        "offline": "transformers:default",
    }
    assert resolve_alias("precise").defaults == {"temperature": 0.0, "max_tokens": 512, "extra": {"logprobs": True}}
    assert resolve_alias("precise").fallback == ("claude", "local")


def test_serve_takes_an_alias(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("starlette")
    seen: dict[str, object] = {}
    monkeypatch.setattr("modelplug.serve.server.bind", lambda host, port: socket.create_server((host, 0)))
    monkeypatch.setattr("modelplug.serve.server.serve_forever", lambda app, host, port, sock: seen.update(app=app))
    result = CliRunner().invoke(main, ["serve", "-m", "longer", "--port", "9999"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Serving longer" in result.output and "app" in seen
