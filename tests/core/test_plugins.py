"""Plugin discovery through real entry points, isolation of broken plugins, and per-provider dispatch."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import modelplug
from modelplug import _plugins as plugins
from modelplug.errors import HookNotImplementedError, PluginLoadError, UnknownProviderError


@pytest.fixture
def install_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_plugins: None) -> Iterator[Callable[..., None]]:
    """Install a tiny distribution (a module plus a ``.dist-info`` with a ``modelplug`` entry point)
    on ``sys.path``: importlib.metadata finds it exactly as it finds a pip-installed one."""
    monkeypatch.syspath_prepend(str(tmp_path))
    added: list[str] = []

    def install(dist: str, provider: str, module: str, source: str, version: str = "1.0") -> None:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        info = tmp_path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[modelplug]\n{provider} = {module}\n")
        added.append(module)
        plugins.reset()

    yield install
    for module in added:
        sys.modules.pop(module, None)


GOOD = textwrap.dedent("""
    import modelplug
    from modelplug.types import Capabilities, ChatMessage

    CALLS = []

    @modelplug.hookimpl
    def capabilities():
        return Capabilities(streaming=False)

    @modelplug.hookimpl
    def generate(model_id, messages):
        CALLS.append(model_id)
        return ChatMessage(content="echo: " + messages[-1].text)
""")


def test_third_party_provider_is_found_and_called(install_dist: Callable[..., None]) -> None:
    install_dist("acme-provider", "acme", "acme_plugin", GOOD, version="2.3")
    info = {p.name: p for p in modelplug.list_providers()}["acme"]
    assert (info.distribution, info.version, info.error) == ("acme-provider", "2.3", None)
    assert info.hooks == ("capabilities", "generate")
    answer = modelplug.load_model("acme:m1").generate("hello")
    assert answer.content == "echo: hello"
    assert sys.modules["acme_plugin"].CALLS == ["m1"]


def test_plugin_failing_on_import_is_recorded_and_the_rest_work(install_dist: Callable[..., None]) -> None:
    install_dist("acme-provider", "acme", "acme_plugin", GOOD)
    install_dist("broken-provider", "broken", "broken_plugin", "raise RuntimeError('no backend here')\n")
    providers = {p.name: p for p in modelplug.list_providers()}
    assert providers["acme"].ok
    assert not providers["broken"].ok
    assert "RuntimeError: no backend here" in providers["broken"].error
    assert modelplug.load_model("acme:x").generate("hi").content == "echo: hi"
    with pytest.raises(PluginLoadError, match="no backend here") as caught:
        modelplug.load_model("broken:x")
    assert isinstance(caught.value.original, RuntimeError)


def test_misspelled_hook_is_caught(install_dist: Callable[..., None]) -> None:
    source = GOOD + "\n@modelplug.hookimpl\ndef generat_stream(messages):\n    return iter(())\n"
    install_dist("typo-provider", "typo", "typo_plugin", source)
    info = {p.name: p for p in modelplug.list_providers()}["typo"]
    assert "unknown hook 'generat_stream'" in info.error
    assert "did you mean 'generate_stream'" in info.error


def test_hook_with_unknown_argument_is_caught(install_dist: Callable[..., None]) -> None:
    source = GOOD + "\n@modelplug.hookimpl\ndef generate_stream(messages, bogus):\n    return iter(())\n"
    install_dist("bad-args", "badargs", "badargs_plugin", source)
    info = {p.name: p for p in modelplug.list_providers()}["badargs"]
    assert info.error is not None and "bogus" in info.error


def test_env_var_restricts_loading(install_dist: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    install_dist("acme-provider", "acme", "acme_plugin", GOOD)
    monkeypatch.setenv("MODELPLUG_PLUGINS", "")
    plugins.reset()
    assert modelplug.list_providers() == []
    with pytest.raises(UnknownProviderError, match="MODELPLUG_PLUGINS"):
        modelplug.load_model("acme:x")
    monkeypatch.setenv("MODELPLUG_PLUGINS", "replay")
    plugins.reset()
    assert "acme" not in {p.name for p in modelplug.list_providers()}
    assert "acme_plugin" not in sys.modules  # never imported
    monkeypatch.setenv("MODELPLUG_PLUGINS", "replay, acme")
    plugins.reset()
    assert {p.name for p in modelplug.list_providers()} >= {"acme", "replay"}


def test_unknown_provider_lists_installed_and_the_extra(fresh_plugins: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UnknownProviderError) as caught:
        modelplug.load_model("litellmm:gpt")
    assert "replay" in caught.value.installed
    assert "installed providers: " in str(caught.value) and "replay" in str(caught.value)
    monkeypatch.setitem(plugins.KNOWN_EXTRAS, "nothere", "modelplug[nothere]")
    hint = r"from a checkout of modelplug: python scripts/install_from_checkout.py 'modelplug\[nothere\]'"
    with pytest.raises(UnknownProviderError, match=hint):
        modelplug.load_model("nothere:model")


def test_dispatch_runs_only_the_named_provider(fresh_plugins: None) -> None:
    calls: list[str] = []

    def make(name: str) -> object:
        class Plugin:
            @modelplug.hookimpl
            def capabilities(self) -> modelplug.Capabilities:
                calls.append(f"{name}.capabilities")
                return modelplug.Capabilities()

            @modelplug.hookimpl
            def generate(self) -> modelplug.ChatMessage:
                calls.append(f"{name}.generate")
                return modelplug.ChatMessage(content=name)

        return Plugin()

    modelplug.register_provider("one", make("one"))
    modelplug.register_provider("two", make("two"))
    model = modelplug.load_model("two:m")
    assert model.generate("x").content == "two"
    assert model.capabilities == modelplug.Capabilities()
    assert calls == ["two.capabilities", "two.generate"]  # capabilities first: the vision check reads them


def test_missing_hook_is_a_clear_error(fresh_plugins: None) -> None:
    class OnlyCapabilities:
        @modelplug.hookimpl
        def capabilities(self) -> modelplug.Capabilities:
            return modelplug.Capabilities(streaming=True)

    modelplug.register_provider("lazy", OnlyCapabilities())
    model = modelplug.load_model("lazy:m")
    with pytest.raises(HookNotImplementedError, match="'lazy' does not implement the 'generate_stream' hook"):
        model.stream("x")
    with pytest.raises(HookNotImplementedError, match="none of 'generate', 'generate_stream' and 'agenerate_stream'"):
        model.generate("x")


def test_register_twice_needs_replace(fresh_plugins: None) -> None:
    class P:
        @modelplug.hookimpl
        def capabilities(self) -> modelplug.Capabilities:
            return modelplug.Capabilities()

    modelplug.register_provider("dup", P())
    with pytest.raises(PluginLoadError, match="already registered"):
        modelplug.register_provider("dup", P())
    modelplug.register_provider("dup", P(), replace=True)


def test_plugin_exiting_on_import_is_recorded_not_fatal(install_dist: Callable[..., None]) -> None:
    install_dist("acme-provider", "acme", "acme_plugin", GOOD)
    install_dist("exiting-provider", "exiting", "exiting_plugin", "import sys\nsys.exit(3)\n")
    providers = {p.name: p for p in modelplug.list_providers()}  # SystemExit ended the process here
    assert "SystemExit: 3" in (providers["exiting"].error or "")
    assert modelplug.load_model("acme:x").generate("hi").content == "echo: hi"


def test_provider_name_with_a_colon_is_recorded_as_broken(install_dist: Callable[..., None]) -> None:
    install_dist("colon-provider", "a:b", "colon_plugin", GOOD)  # was listed as working, yet unreachable
    info = {p.name: p for p in modelplug.list_providers()}["a:b"]
    assert not info.ok and "cannot be empty, contain ':'" in (info.error or "")


def test_second_distribution_claiming_a_name_is_ignored_with_a_warning(
    install_dist: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    install_dist("first-provider", "twin", "first_plugin", GOOD)
    install_dist("second-provider", "twin", "second_plugin", GOOD.replace("echo: ", "second: "))
    used = {p.name: p for p in modelplug.list_providers()}["twin"].distribution
    assert used in {"first-provider", "second-provider"}
    assert "plugin_name_conflict" in caplog.text  # was silent


def test_load_model_imports_only_the_named_provider(install_dist: Callable[..., None]) -> None:
    install_dist("acme-provider", "acme", "acme_plugin", GOOD)
    install_dist("broken-provider", "broken", "broken_plugin", "raise RuntimeError('must not be imported')\n")
    assert modelplug.load_model("acme:x").generate("hi").content == "echo: hi"
    assert "acme_plugin" in sys.modules and "broken_plugin" not in sys.modules


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("import pytest\npytest.skip('no backend', allow_module_level=True)\n", "Skipped"),
        ("class Odd(BaseException):\n    pass\nraise Odd('odd')\n", "Odd: odd"),
    ],
)
def test_base_exception_at_import_is_recorded(install_dist: Callable[..., None], source: str, shown: str) -> None:
    install_dist("acme-provider", "acme", "acme_plugin", GOOD)
    install_dist("odd-provider", "odd", "odd_plugin", source)
    providers = {p.name: p for p in modelplug.list_providers()}
    assert shown in (providers["odd"].error or "")
    assert providers["acme"].ok
    with pytest.raises(PluginLoadError, match="failed to import"):
        modelplug.load_model("odd:x")


def test_plugin_using_modelplug_while_imported_cannot_corrupt_discovery(install_dist: Callable[..., None]) -> None:
    install_dist("acme-provider", "acme", "acme_plugin", GOOD)
    nosy = GOOD + textwrap.dedent("""
        SEEN = [p.name for p in modelplug.list_providers()]
        try:
            modelplug.load_model("nosy:x")
        except modelplug.PluginLoadError as error:
            OWN = str(error)
    """)
    install_dist("nosy-provider", "nosy", "nosy_plugin", nosy)
    providers = {p.name: p for p in modelplug.list_providers()}
    assert providers["nosy"].ok and providers["acme"].ok
    module = sys.modules["nosy_plugin"]
    assert "acme" in module.SEEN and "nosy" not in module.SEEN
    assert "still being imported" in module.OWN
    assert modelplug.load_model("nosy:x").generate("hi").content == "echo: hi"


def test_a_slow_plugin_is_reported_within_the_time_limit(install_dist: Callable[..., None]) -> None:
    install_dist("acme-provider", "acme", "acme_plugin", GOOD)
    install_dist("slow-provider", "slow", "slow_plugin", "import threading\nthreading.Event().wait(5)\n")
    providers = {p.name: p for p in plugins.list_providers(timeout_s=0.2)}
    assert providers["acme"].ok
    assert "did not finish importing within 0.2 s" in (providers["slow"].error or "")
