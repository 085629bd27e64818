"""The plugin without an engine: discovery, lazy import, declarations, option checks, the main guard."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import modelplug
from modelplug import _plugins as plugins
from modelplug.errors import InvalidOptionError, ModelLoadError
from modelplug_vllm import main_guard, option_types
from modelplug_vllm.provider import VllmState, capabilities

HAVE_VLLM = importlib.util.find_spec("vllm") is not None


def test_importing_the_plugin_does_not_import_vllm_or_torch() -> None:
    code = "import sys, modelplug_vllm; print(sorted(m for m in ('vllm', 'torch') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_provider_is_found_through_its_entry_point() -> None:
    plugins.reset()
    try:
        names = [info.name for info in plugins.list_providers()]
        assert "vllm" in names
        assert plugins.implements("vllm", "generate_stream")
        assert plugins.implements("vllm", "unload")
    finally:
        plugins.reset()


def test_capabilities_are_text_tool_calls_without_a_parser_and_native_with_one() -> None:
    plain = capabilities(VllmState("m", None))
    assert (plain.streaming, plain.usage_in_stream, plain.stop_sequences, plain.structured_output) == (True,) * 4
    assert (plain.tool_calling, plain.streamed_tool_calls) == ("text", False)
    parsed = capabilities(VllmState("m", None, tool_parser="hermes", tool_parser_class=object))
    assert (parsed.tool_calling, parsed.streamed_tool_calls) == ("native", True)


def test_option_types_cover_the_common_engine_options() -> None:
    types = option_types()
    assert types["max_model_len"] is int and types["gpu_memory_utilization"] is float
    assert types["enforce_eager"] is bool and types["tool_parser"] is str


@pytest.mark.skipif(HAVE_VLLM, reason="vLLM is installed here")
def test_loading_without_vllm_says_how_to_install_it() -> None:
    with pytest.raises(ModelLoadError, match="pip install"):
        modelplug.load_model("vllm:/no/such/model")


@pytest.mark.vllm
@pytest.mark.skipif(not HAVE_VLLM, reason="vLLM is not installed")
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_model_length": 2048}, "did you mean max_model_len"),
        ({"model": "x"}, "in the spec"),
        ({"tool_parser": "no-such-parser"}, "registered: "),
        ({"chat_template_kwargs": "x"}, "must be a dict"),
    ],
)
def test_bad_model_options_are_refused_before_the_engine_starts(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        modelplug.load_model("vllm:/no/such/model", **options)


def test_this_process_is_not_a_spawned_child() -> None:
    assert not main_guard.in_spawn_bootstrap()


SCRIPT = """
from modelplug_vllm.main_guard import unguarded_main_line

def where():
    return unguarded_main_line()

print("top", where())

if __name__ == "__main__":
    print("guarded", where())
"""


def test_a_call_outside_the_main_guard_is_found(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["top"] == f"{script}:7"
    assert lines["guarded"] == "None"


def test_calls_from_pytest_are_not_reported() -> None:
    assert main_guard.unguarded_main_line() is None


@pytest.mark.parametrize("hook", ["generate_stream", "agenerate_stream", "generate"])
def test_a_call_on_an_unloaded_model_is_a_model_closed_error(hook: str) -> None:
    # No engine needed: unload() leaves the state without a runner, as after Model.close().
    from modelplug.errors import ModelClosedError
    from modelplug.types import ChatMessage, GenerationOptions
    from modelplug_vllm import provider

    state = VllmState("my-model", None)
    provider.unload(state)
    with pytest.raises(ModelClosedError, match="'my-model' is closed") as raised:
        getattr(provider, hook)(state, [ChatMessage(role="user", content="Hi")], GenerationOptions())
    assert isinstance(raised.value, InvalidOptionError) and not isinstance(raised.value, modelplug.ProviderError)
