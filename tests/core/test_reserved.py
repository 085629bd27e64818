"""The core's reserved model options: checked and taken out before ``load``, handed to the
provider as ``reserved``; a bad one is refused before any provider's ``load`` runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib.metadata import entry_points
from typing import Any

import pytest

import modelplug
from modelplug import ChatMessageStreamDelta, errors
from modelplug._provider import Provider
from modelplug.cli.options import parse_options
from modelplug.reserved import RESERVED_OPTIONS, ReservedOptions
from modelplug.retry import RetryPolicy

ALL_RESERVED: Mapping[str, Any] = {
    "tool_call_format": "hermes",
    "capabilities": {"tool_calling": "text", "vision": True},
    "price": {"input": 1.0, "output": 2.0},
    "max_retries": 5,
    "retry_backoff": 0.25,
    "retry_max_wait": 3,
}


class Recording:
    """A provider whose ``load`` records what it was given."""

    def __init__(self) -> None:
        self.loads: list[tuple[dict[str, Any], ReservedOptions]] = []

    @modelplug.hookimpl
    def load(self, options: Mapping[str, Any], reserved: ReservedOptions) -> str:
        self.loads.append((dict(options), reserved))
        return "state"

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True, tool_calling="native")

    @modelplug.hookimpl
    def generate_stream(self) -> Iterator[ChatMessageStreamDelta]:
        yield ChatMessageStreamDelta(content="ok")


class Legacy:
    """A provider written before ``reserved`` existed: ``load(model_id, options)`` only."""

    @modelplug.hookimpl
    def load(self, model_id: str, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"model_id": model_id, **options}

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True)


def test_load_never_sees_a_reserved_option_and_gets_them_checked(fresh_plugins: None) -> None:
    provider = Recording()
    modelplug.register_provider("recording", provider)
    with modelplug.load_model("recording:m", device="cpu", **ALL_RESERVED) as model:
        assert model.generate("x").content == "ok"
        options, reserved = provider.loads[0]
        assert options == {"device": "cpu"} and not set(options) & RESERVED_OPTIONS
        assert reserved.retry == RetryPolicy(max_retries=5, backoff=0.25, max_wait=3.0)
        assert reserved.tool_call_format == "hermes"
        assert dict(reserved.capabilities) == {"tool_calling": "text", "vision": True}
        assert model.capabilities.tool_calling == "text" and model.capabilities.vision
        assert model.capabilities.tool_call_format == "hermes"
        assert model.price is not None and model.price.input == 1.0


def test_defaults_when_no_reserved_option_is_given(fresh_plugins: None) -> None:
    provider = Recording()
    modelplug.register_provider("recording", provider)
    modelplug.load_model("recording:m").close()
    assert provider.loads == [({}, ReservedOptions())]
    assert provider.loads[0][1].retry == RetryPolicy()


def test_a_load_hook_without_reserved_still_works(fresh_plugins: None) -> None:
    modelplug.register_provider("legacy", Legacy())
    with modelplug.load_model("legacy:m", a=1, max_retries=0, capabilities={"vision": True}) as model:
        assert model.state == {"model_id": "m", "a": 1}
        assert model.capabilities.vision


BAD = [
    ({"max_retries": -1}, "max_retries"),
    ({"max_retries": 1.5}, "max_retries"),
    ({"retry_backoff": "fast"}, "retry_backoff"),
    ({"retry_max_wait": True}, "retry_max_wait"),
    ({"capabilities": "text"}, "capabilities"),
    ({"capabilities": {"no_such_field": True}}, "capabilities"),
    ({"tool_call_format": 3}, "tool_call_format"),
    ({"tool_call_format": "no-such-format"}, "no-such-format"),
    ({"price": {"input": "cheap"}}, "price"),
]


@pytest.mark.parametrize("name", sorted({entry.name for entry in entry_points(group="modelplug")}))
@pytest.mark.parametrize(("bad", "named"), BAD, ids=[f"{next(iter(b))}={b[next(iter(b))]!r}" for b, _ in BAD])
def test_a_bad_reserved_option_is_refused_before_any_load(
    name: str, bad: dict[str, Any], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    monkeypatch.setattr(Provider, "load", lambda self, *args, **kwargs: loads.append(self.name))
    with pytest.raises(errors.InvalidOptionError, match=named):
        modelplug.load_model(f"{name}:some-model", **bad)
    assert loads == []


def test_apply_puts_the_override_over_what_is_declared() -> None:
    declared = modelplug.Capabilities(streaming=True, tool_calling="native")
    assert ReservedOptions().apply(declared) is declared
    changed = ReservedOptions(capabilities={"tool_calling": "text"}, tool_call_format="llama3_json").apply(declared)
    assert changed.tool_calling == "text" and changed.tool_call_format == "llama3_json" and changed.streaming


def test_the_command_line_types_reserved_options_for_every_provider() -> None:
    assert parse_options(["max_retries=0", "retry_backoff=1", "tool_call_format=hermes"], {}) == {
        "max_retries": 0,
        "retry_backoff": 1.0,
        "tool_call_format": "hermes",
    }
