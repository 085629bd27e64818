"""``modelplug models`` with providers that hang: listed with an error, the command still ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner

from modelplug.cli import main
from modelplug.cli.models import provider_model_rows
from tests.core.test_plugins import install_dist  # noqa: F401  (the fixture)

#: What the hanging plugins wait on: set at each test's end, so their abandoned threads end with the
#: test instead of outliving it (other tests check that no ``modelplug-*`` thread is left).
RELEASE = threading.Event()
HANG = "from tests.cli.test_models import RELEASE; RELEASE.wait(30)"


@pytest.fixture(autouse=True)
def release_the_hanging_plugins() -> Iterator[None]:
    RELEASE.clear()
    yield
    RELEASE.set()
    for thread in threading.enumerate():
        if thread.name.startswith(("modelplug-list-", "modelplug-import-")):
            thread.join(5)


LISTING = """
import threading
import modelplug
from modelplug.types import Capabilities, ChatMessage

@modelplug.hookimpl
def capabilities():
    return Capabilities()

@modelplug.hookimpl
def generate(messages):
    return ChatMessage(content="hi")

@modelplug.hookimpl
def list_models():
    {body}
"""


def test_a_provider_whose_list_models_hangs_is_an_error_row(install_dist: Callable[..., None]) -> None:  # noqa: F811
    install_dist("quick-provider", "quick", "quick_plugin", LISTING.format(body='return ["a", "b"]'))
    install_dist("stuck-provider", "stuck", "stuck_plugin", LISTING.format(body=HANG))
    start = time.monotonic()
    rows = {row["name"]: row for row in provider_model_rows(list_timeout_s=0.3)}
    assert time.monotonic() - start < 10
    assert rows["quick"]["models"] == ["quick:a", "quick:b"] and rows["quick"]["error"] is None
    assert rows["stuck"]["models"] == []
    assert "'stuck': list_models did not answer within 0.3 s" in rows["stuck"]["error"]


def test_models_ends_when_a_plugin_hangs_while_importing(install_dist: Callable[..., None], monkeypatch) -> None:  # noqa: F811
    import modelplug.cli.models as models_command

    install_dist("quick-provider", "quick", "quick_plugin", LISTING.format(body='return ["a"]'))
    install_dist("slow-provider", "slow", "slow_plugin", HANG + "\n")
    original = models_command.provider_model_rows.__kwdefaults__
    monkeypatch.setattr(models_command.provider_model_rows, "__kwdefaults__", {**original, "import_timeout_s": 0.3})
    start = time.monotonic()
    result = CliRunner().invoke(main, ["models"])
    assert time.monotonic() - start < 10
    assert result.exit_code == 0, result.output
    assert "quick:a" in result.output
