"""``load_model`` (modelplug._load): specs, option checks, secrets, and lists of models."""

from __future__ import annotations

import pytest
from tests.core.conftest import Scripted

import modelplug
from modelplug._fallback import FallbackModel
from modelplug.errors import InvalidOptionError, ModelLoadError


@pytest.mark.parametrize("spec", ["scripted", ":m", "scripted:", "", 42])
def test_bad_spec(spec: object) -> None:
    with pytest.raises(InvalidOptionError, match="transformers:default"):
        modelplug.load_model(spec)  # type: ignore[arg-type]


def test_load_failure_is_a_model_load_error_keeping_the_original(fresh_plugins: None) -> None:
    class Failing:
        @modelplug.hookimpl
        def load(self) -> None:
            raise OSError("disk on fire")

        @modelplug.hookimpl
        def capabilities(self) -> modelplug.Capabilities:
            return modelplug.Capabilities()

    modelplug.register_provider("failing", Failing())
    with pytest.raises(ModelLoadError, match="disk on fire") as caught:
        modelplug.load_model("failing:m")
    assert isinstance(caught.value.original, OSError)


def test_options_of_another_type_than_declared_are_named_errors(fresh_plugins: None) -> None:
    # They reached the backend: litellm api_base=5 failed at generate() with "argument of type 'int' is
    # not iterable", inference-client token=5 with "'int' object has no attribute 'startswith'",
    # replay loop="no" looped (bool("no") is True).
    class Typed:
        @modelplug.hookimpl
        def option_types(self) -> dict[str, type]:
            return {"api_base": str, "timeout": float, "retries": int, "loop": bool, "api_key": str}

        @modelplug.hookimpl
        def capabilities(self) -> modelplug.Capabilities:
            return modelplug.Capabilities()

    modelplug.register_provider("typed", Typed())
    for options, match in [
        ({"api_base": 5}, "'api_base' must be a string, got int 5"),
        ({"timeout": "abc"}, "'timeout' must be a number"),
        ({"retries": True}, "'retries' must be a int"),
        ({"loop": "no"}, "'loop' must be a bool"),
    ]:
        with pytest.raises(InvalidOptionError, match=match):
            modelplug.load_model("typed:m", **options)
    with pytest.raises(InvalidOptionError) as caught:
        modelplug.load_model("typed:m", api_key=12345678)
    assert "12345678" not in str(caught.value)
    from pathlib import Path

    # None means the default; an int is a number; objects the provider may know pass unchecked
    modelplug.load_model("typed:m", api_base=None, timeout=3, retries=2, loop=False)
    modelplug.load_model("typed:m", api_base=Path("/x"), undeclared=object())


def test_an_unknown_tool_call_format_fails_at_load(scripted: Scripted) -> None:
    # It loaded (the Transformers model too) and failed at the first call with tools.
    with pytest.raises(InvalidOptionError, match="unknown tool-call format 'hermess'"):
        modelplug.load_model("scripted:m", tool_call_format="hermess")
    with pytest.raises(InvalidOptionError, match="'tool_call_format' must be a format name"):
        modelplug.load_model("scripted:m", tool_call_format=5)  # was ignored: the declared format was used
    modelplug.load_model("scripted:m", tool_call_format="hermes")


def test_secrets_in_nested_options_stay_out_of_repr(fresh_plugins: None) -> None:
    # repr(model) showed headers={'Authorization': 'Bearer <key>'}, extra_headers={'x-api-key': <key>}, cookies.
    class Plain:
        @modelplug.hookimpl
        def capabilities(self) -> modelplug.Capabilities:
            return modelplug.Capabilities()

    modelplug.register_provider("plain", Plain())
    key = "nested-secret-value-123456"
    model = modelplug.load_model(
        "plain:m",
        headers={"Authorization": f"Bearer {key}", "Accept": "text/plain"},
        extra_headers={"x-api-key": key},
        cookies={"session": key},
    )
    shown = repr(model)
    assert key not in shown and "'Accept': 'text/plain'" in shown


@pytest.mark.parametrize("specs", [[], ["scripted:m", 5], ("scripted:m", None)])
def test_a_list_must_be_specs(scripted: Scripted, specs: list[object]) -> None:
    with pytest.raises(InvalidOptionError, match="a fallback chain must be a non-empty list of model specs"):
        modelplug.load_model(specs)  # type: ignore[arg-type]


def test_a_list_loads_each_model_with_the_options_and_closes_them_if_one_fails(scripted: Scripted) -> None:
    loads: list[str] = []

    class Counting:
        @modelplug.hookimpl
        def load(self, model_id: str, options: dict[str, object]) -> str:
            if model_id == "bad":
                raise OSError("no such model")
            loads.append(f"{model_id} {options}")
            return model_id

        @modelplug.hookimpl
        def capabilities(self) -> modelplug.Capabilities:
            return modelplug.Capabilities()

        @modelplug.hookimpl
        def unload(self, state: str) -> None:
            loads.append(f"unload {state}")

    modelplug.register_provider("counting", Counting())
    with modelplug.load_model(["counting:a", "scripted:b"], seed_option=1) as chain:
        assert isinstance(chain, FallbackModel) and [m.spec for m in chain.models] == ["counting:a", "scripted:b"]
    assert loads == ["a {'seed_option': 1}", "unload a"] and scripted.unloaded
    loads.clear()
    with pytest.raises(ModelLoadError, match="no such model"):
        modelplug.load_model(["counting:a", "counting:bad"])
    assert loads == ["a {}", "unload a"]  # the model already loaded was closed
