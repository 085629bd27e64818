"""The Provider contract object: one typed method per hook, exactly one provider's implementation,
broken contracts as PluginContractError, and the faults of cached hook callers it replaces."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import modelplug
from modelplug import ChatMessage, ChatMessageStreamDelta
from modelplug import _plugins as plugins
from modelplug._provider import Provider
from modelplug.errors import CapabilityError, PluginContractError, PluginError, PluginLoadError


class Named:
    """A provider answering with its own name and counting its unloads."""

    def __init__(self, name: str, vision: bool = False) -> None:
        self.name = name
        self.vision = vision
        self.unloaded: list[str] = []

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True, vision=self.vision)

    @modelplug.hookimpl
    def generate_stream(self, model_id: str) -> Iterator[ChatMessageStreamDelta]:
        yield ChatMessageStreamDelta(content=f"{self.name}:{model_id}")

    @modelplug.hookimpl
    def unload(self, model_id: str) -> None:
        self.unloaded.append(model_id)


def test_provider_calls_its_own_implementation(fresh_plugins: None) -> None:
    modelplug.register_provider("p1", Named("p1"))
    modelplug.register_provider("p2", Named("p2"))
    provider = Provider.get("p1")
    assert provider.implements("generate_stream") and not provider.implements("generate")
    assert provider.capabilities("m", None).streaming
    deltas = list(
        provider.generate_stream("m", None, [ChatMessage(role="user", content="x")], modelplug.GenerationOptions())
    )
    assert [d.content for d in deltas] == ["p1:m"]
    assert provider.option_types("m") == {}
    assert provider.load("m", {"a": 1}) == {"a": 1}  # no load hook: the options are the state


def test_model_keeps_its_provider_when_the_name_is_replaced(fresh_plugins: None) -> None:
    # A caller cached by name answered with whatever was registered last under it, or another provider.
    modelplug.register_provider("same", Named("first"))
    model = modelplug.load_model("same:m")
    modelplug.register_provider("same", Named("second"), replace=True)
    modelplug.register_provider("other", Named("other"))
    assert model.generate("x").content == "first:m"
    assert modelplug.load_model("same:m").generate("x").content == "second:m"


def test_unload_runs_only_the_closed_models_provider(fresh_plugins: None) -> None:
    one, two = Named("one"), Named("two")
    modelplug.register_provider("one", one)
    modelplug.register_provider("two", two)
    modelplug.load_model("two:b")
    modelplug.load_model("one:a").close()
    assert one.unloaded == ["a"] and two.unloaded == []


def test_unhashable_provider_objects_do_not_break_later_calls(fresh_plugins: None) -> None:
    class Unhashable(Named):
        __hash__ = None  # type: ignore[assignment]

        def __eq__(self, other: object) -> bool:  # equal to everything: pluggy's lookups used ==
            return True

    modelplug.register_provider("u1", Unhashable("u1"))
    modelplug.register_provider("u2", Unhashable("u2"))
    assert modelplug.load_model("u2:m").generate("x").content == "u2:m"
    plugins.unregister_provider("u1")
    assert modelplug.load_model("u2:m").generate("x").content == "u2:m"
    assert "u1" not in {p.name for p in modelplug.list_providers()}


def test_concurrent_register_and_call_never_cross_talk(fresh_plugins: None) -> None:
    errors: list[str] = []

    def work(index: int) -> None:
        name = f"cc{index}"
        for round_ in range(5):
            modelplug.register_provider(name, Named(name), replace=True)
            with modelplug.load_model(f"{name}:r{round_}") as model:
                answer = model.generate("x").content
            if answer != f"{name}:r{round_}":
                errors.append(f"{name} got {answer}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.parametrize(
    ("hook", "behaviour", "match"),
    [
        ("capabilities", RuntimeError("boom"), "capabilities hook failed: RuntimeError: boom"),
        ("capabilities", "not capabilities", "must return a modelplug.Capabilities"),
        ("capabilities", "streaming-yes", "capabilities hook failed: TypeError: streaming must be True or False"),
        ("option_types", ["a"], "option_types must return a mapping"),
        ("unload", KeyError("k"), "unload hook failed: KeyError"),
    ],
)
def test_broken_contract_is_a_plugin_contract_error(
    fresh_plugins: None, hook: str, behaviour: object, match: str
) -> None:
    def implementation() -> object:
        if isinstance(behaviour, BaseException):
            raise behaviour
        if behaviour == "streaming-yes":  # a declaration of the wrong type
            return modelplug.Capabilities(streaming="yes")  # type: ignore[arg-type]
        return behaviour

    class Broken:
        @modelplug.hookimpl
        def capabilities(self) -> object:
            return implementation() if hook == "capabilities" else modelplug.Capabilities()

        @modelplug.hookimpl
        def option_types(self) -> object:
            return implementation() if hook == "option_types" else {}

        @modelplug.hookimpl
        def unload(self) -> object:
            return implementation() if hook == "unload" else None

    modelplug.register_provider("broken", Broken())
    provider = Provider.get("broken")
    call = {
        "capabilities": lambda: provider.capabilities("m", None),
        "option_types": lambda: provider.option_types("m"),
        "unload": lambda: provider.unload("m", None),
    }[hook]
    with pytest.raises(PluginContractError, match=match) as caught:
        call()
    assert isinstance(caught.value, PluginError) and not isinstance(caught.value, PluginLoadError)
    assert caught.value.hook == hook and caught.value.plugin == "broken"


def test_generate_returning_a_string_is_a_contract_error(fresh_plugins: None) -> None:
    class Wrong:
        @modelplug.hookimpl
        def capabilities(self) -> modelplug.Capabilities:
            return modelplug.Capabilities()

        @modelplug.hookimpl
        def generate(self) -> Any:
            return "text"

    modelplug.register_provider("wrong", Wrong())
    with pytest.raises(PluginContractError, match="generate must return a ChatMessage, got str"):
        modelplug.load_model("wrong:m").generate("x")


IMAGE = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}


def test_images_to_a_model_without_vision_raise_capability_error(fresh_plugins: None) -> None:
    modelplug.register_provider("blind", Named("blind"))
    modelplug.register_provider("seeing", Named("seeing", vision=True))
    blind = modelplug.load_model("blind:m")
    for call in (blind.generate, blind.stream):
        with pytest.raises(CapabilityError, match="vision=False") as caught:
            call([IMAGE])
        assert caught.value.capability == "vision"
    assert blind.generate("text only").content == "blind:m"
    assert modelplug.load_model("seeing:m").generate([IMAGE]).content == "seeing:m"


def test_nothing_outside_the_provider_module_calls_hooks() -> None:
    assert not hasattr(plugins, "hook_caller")


def test_reserved_options_are_taken_out_before_load(fresh_plugins: None) -> None:
    seen: list[dict[str, object]] = []

    class Strict(Named):
        @modelplug.hookimpl
        def load(self, options: dict[str, object]) -> object:
            seen.append(dict(options))
            return options

    modelplug.register_provider("strict", Strict("strict"))
    model = modelplug.load_model(
        "strict:m", capabilities={"vision": True}, tool_call_format="hermes", temperature_default=0.1
    )
    assert seen == [{"temperature_default": 0.1}]
    assert model.capabilities.vision and model.capabilities.tool_call_format == "hermes"
    assert model.generate([IMAGE]).content == "strict:m"
    with pytest.raises(modelplug.InvalidOptionError, match="model option 'capabilities'"):
        modelplug.load_model("strict:m", capabilities={"no_such_field": True})
