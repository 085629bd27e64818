"""Which models a server serves (:mod:`modelplug.serve.models`): the entries are checked, loaded in
order, and closed again when one of them fails to load."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import modelplug
from modelplug import _plugins as plugins
from modelplug.errors import InvalidOptionError
from modelplug.serve.models import ModelEntry, check_entries, close_models, load_models
from modelplug.types import ChatMessageStreamDelta


class Counted:
    """A provider that answers ``ok`` and records its unloads (the model ids)."""

    def __init__(self) -> None:
        self.unloaded: list[str] = []

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True)

    @modelplug.hookimpl
    def generate_stream(self, model_id: str) -> Iterator[ChatMessageStreamDelta]:
        yield ChatMessageStreamDelta(content="ok")

    @modelplug.hookimpl
    def unload(self, model_id: str) -> None:
        self.unloaded.append(model_id)


@pytest.fixture
def counted() -> Iterator[Counted]:
    provider = Counted()
    plugins.register_provider("counted", provider)
    yield provider
    plugins.unregister_provider("counted")


@pytest.mark.parametrize(
    ("names", "message"),
    [([], "nothing to serve"), (["a", "b", "a", "b", "c"], "model name(s) served twice: a, b")],
)
def test_no_entries_or_a_name_served_twice_is_refused(names: list[str], message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_entries([ModelEntry(name, "replay:x") for name in names])


def test_the_entries_load_under_their_names_and_close_together(counted: Counted) -> None:
    entries = [ModelEntry("first", "counted:one"), ModelEntry("second", "counted:two")]
    served = load_models(entries, max_concurrency=3)
    assert list(served) == ["first", "second"]
    assert served["second"].model.generate("hi").content == "ok"
    close_models(served)
    assert counted.unloaded == ["one", "two"]


def test_a_model_that_fails_to_load_closes_the_ones_loaded_before_it(counted: Counted) -> None:
    entries = [ModelEntry("first", "counted:one"), ModelEntry("broken", "no-such-provider-xyz:m")]
    with pytest.raises(modelplug.ModelplugError, match="no-such-provider-xyz"):
        load_models(entries)
    assert counted.unloaded == ["one"]


def test_an_entry_shows_its_options_with_secrets_masked() -> None:
    entry = ModelEntry("hosted", "openai:gpt", {"api_key": "sk-entry-secret-0123456789", "timeout": 5})
    assert "sk-entry-secret" not in repr(entry) and "'timeout': 5" in repr(entry)
