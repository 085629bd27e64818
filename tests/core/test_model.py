"""The Model facade (modelplug._model): message forms, option and capability checks, contract errors, closing."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from tests.core.conftest import Broken, Scripted, load_broken

import modelplug
from modelplug import ChatMessage, ChatMessageStreamDelta, Usage
from modelplug.errors import (
    CapabilityError,
    InvalidOptionError,
    ModelClosedError,
    PluginContractError,
    PluginLoadError,
    ProviderError,
)
from modelplug.types import GenerationOptions, check_tool_choice


def test_messages_accept_strings_dicts_and_objects(scripted: Scripted) -> None:
    model = modelplug.load_model("scripted:m")
    model.generate("hi")
    model.generate({"role": "user", "content": "as dict"})
    model.generate([ChatMessage(role="system", content="sys"), {"role": "user", "content": "q"}])
    assert [[(m.role, m.text) for m in call] for call in scripted.seen] == [
        [("user", "hi")],
        [("user", "as dict")],
        [("system", "sys"), ("user", "q")],
    ]


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([], "messages is empty"),
        ([{"content": "no role"}], "role"),
        ([{"role": "wizard", "content": "x"}], "wizard"),
        ([3], "must be a dict"),
    ],
)
def test_bad_messages_are_clear_errors(scripted: Scripted, messages: object, match: str) -> None:
    with pytest.raises(InvalidOptionError, match=match):
        modelplug.load_model("scripted:m").generate(messages)


@pytest.mark.parametrize(
    "choice",
    ["auto", "none", {"type": "function", "function": {"name": "g"}}, {"type": "function", "name": "g"}],
)
def test_good_tool_choices_are_kept(choice: object) -> None:
    options = GenerationOptions.from_kwargs({"tools": [{"name": "g"}], "tool_choice": choice})
    check_tool_choice(options)
    assert options.tool_choice == choice


def test_a_forced_tool_choice_alone_is_a_valid_default() -> None:
    # a config default: each call brings its tools, and the request is checked then
    assert GenerationOptions(tool_choice="required").tool_choice == "required"
    with pytest.raises(ValueError, match="needs at least one tool"):
        check_tool_choice(GenerationOptions(tool_choice="required"))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": 2}, "top_p"),
        ({"stop": [""]}, "stop"),
        ({"stop": ""}, "stop"),  # was accepted, and generate() cut the answer to ''
        ({"stop": 5}, "stop must be a string or a list"),
        ({"stop": {"a": 1}}, "stop must be a string or a list"),  # was read as the stop sequence 'a'
        ({"stop": b"ab"}, "stop must be a string or a list"),
        ({"tools": "abc"}, "tools must be a list"),  # was 'cannot use 'a' as a tool'
        ({"tools": {"type": "function", "function": {"name": "f"}}}, "tools must be a list"),
        ({"tools": 5}, "tools must be a list"),
        ({"tools": [{"name": "f"}, {"name": "f"}]}, "distinct names"),
        ({"tools": [{"name": "f", "parameters": "x"}]}, "'parameters' must be a JSON schema"),
        ({"tool_choice": 5}, "tool_choice"),
        # were passed on unchecked, and most providers ignored them: no forced call, no error
        ({"tool_choice": "bogus"}, "tool_choice must be 'auto', 'none', 'required'.*'bogus'"),
        ({"tool_choice": "required"}, "tool_choice='required' needs at least one tool"),
        ({"tool_choice": {"type": "function", "function": {"name": "f"}}}, "names 'f'.*tools: none"),
        (
            {"tools": [{"name": "g"}], "tool_choice": {"type": "function", "function": {"name": "f"}}},
            "names 'f', which is not among the tools: g",
        ),
        ({"tools": [{"name": "g"}], "tool_choice": {"type": "function"}}, "tool_choice.*name"),
        ({"tools": [{"name": "g"}], "tool_choice": {"type": "function", "function": {"name": 3}}}, "tool_choice"),
        ({"response_format": "json"}, "response_format"),
        ({"extra": 5}, "extra must be a dict"),
    ],
)
def test_bad_generation_options_name_the_option(scripted: Scripted, options: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidOptionError, match=match):
        modelplug.load_model("scripted:m").generate("x", **options)


def test_no_streaming_declared_is_a_capability_error_naming_the_provider(fresh_plugins: None) -> None:
    modelplug.register_provider("batch", Scripted(streaming=False))
    model = modelplug.load_model("batch:m")
    with pytest.raises(CapabilityError, match="'batch' declares no streaming") as caught:
        model.stream("x")
    assert caught.value.provider == "batch" and caught.value.capability == "streaming"
    deltas = list(model.stream("x", allow_fallback=True))
    assert len(deltas) == 1
    assert deltas[0].content == "Hello world" and deltas[0].usage == Usage(3, 2)


def test_generate_is_derived_from_generate_stream_when_missing(fresh_plugins: None) -> None:
    model = modelplug.load_model("replay:x", responses=["one two three"])
    answer = model.generate("x")
    assert answer.content == "one two three" and answer.finish_reason == "stop"


def test_close_calls_unload_once(scripted: Scripted) -> None:
    model = modelplug.load_model("scripted:m")
    with model:
        pass
    assert scripted.unloaded
    model.close()
    with pytest.raises(ModelClosedError, match="closed") as caught:
        model.generate("x")
    assert isinstance(caught.value, InvalidOptionError)  # its class before it had one of its own


def test_stop_sequences_are_emulated_for_providers_that_ignore_them(fresh_plugins: None) -> None:
    model = modelplug.load_model("replay:x", responses=["Hello<code>world!"] * 2)
    assert not model.capabilities.stop_sequences
    assert model.generate("x", stop=["<code>"]).content == "Hello"
    stream = model.stream("x", stop=["<code>"])
    pieces = [d.content for d in stream if d.content]
    assert "".join(pieces) == "Hello"
    assert stream.message.finish_reason == "stop"


def test_tools_for_a_provider_without_tool_calling(scripted: Scripted) -> None:
    with pytest.raises(CapabilityError, match="no tool calling"):
        modelplug.load_model("scripted:m").generate("x", tools=[{"name": "f"}])


def test_secrets_stay_out_of_repr_and_errors(fresh_plugins: None) -> None:
    key = "very-secret-key-123456"

    class Leaky:
        @modelplug.hookimpl
        def capabilities(self) -> modelplug.Capabilities:
            return modelplug.Capabilities()

        @modelplug.hookimpl
        def generate(self, state: dict[str, str]) -> ChatMessage:
            raise RuntimeError(f"401 for key {state['api_key']}")

    modelplug.register_provider("leaky", Leaky())
    model = modelplug.load_model("leaky:m", api_key=key)
    assert key not in repr(model)
    with pytest.raises(ProviderError) as caught:
        model.generate("x")
    assert key not in str(caught.value) and key not in repr(caught.value)
    assert "***" in str(caught.value)


def test_capabilities_hook_must_return_capabilities(fresh_plugins: None) -> None:
    class Wrong:
        @modelplug.hookimpl
        def capabilities(self) -> dict[str, bool]:
            return {"streaming": True}

    modelplug.register_provider("wrong", Wrong())
    with pytest.raises(modelplug.PluginContractError, match=r"must return a modelplug\.Capabilities"):
        modelplug.load_model("wrong:m").capabilities  # noqa: B018


TEXT_CALLS = {"tool_calling": "text", "tool_call_format": "hermes"}
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def _text_response(text: str) -> list[dict[str, object]]:
    chunks: list[dict[str, object]] = [
        {"choices": [{"delta": {"content": text[i : i + 7]}}]} for i in range(0, len(text), 7)
    ]
    chunks.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    chunks.append({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4}})
    return chunks


def test_text_tool_calls_are_parsed_while_streaming_and_in_generate(fresh_plugins: None) -> None:
    text = 'Let me check. <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
    model = modelplug.load_model("replay:t", responses=[_text_response(text)] * 2, capabilities=TEXT_CALLS)
    stream = model.stream("weather?", tools=[WEATHER])
    deltas = list(stream)
    assert "".join(d.content or "" for d in deltas).strip() == "Let me check."
    assert not any("<tool" in (d.content or "") for d in deltas)
    assert any(d.tool_calls for d in deltas)
    assert [(c.name, c.arguments) for c in stream.message.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert stream.message.usage == Usage(9, 4)
    answer = model.generate("weather?", tools=[WEATHER])
    assert [(c.name, c.arguments) for c in answer.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert answer.content is not None and answer.content.strip() == "Let me check."


def test_unreadable_text_tool_call_keeps_usage_and_text(fresh_plugins: None) -> None:
    from modelplug.errors import ToolCallParseError

    text = "Sure. <tool_call>{bad json</tool_call>"
    model = modelplug.load_model("replay:t", responses=[_text_response(text)] * 2, capabilities=TEXT_CALLS)
    stream = model.stream("x", tools=[WEATHER])
    with pytest.raises(ToolCallParseError) as caught:
        for _ in stream:
            pass
    assert caught.value.text == text
    assert stream.message.usage == Usage(9, 4)  # the usage after the finish reason was still read
    assert stream.message.finish_reason == "stop"
    with pytest.raises(ToolCallParseError) as caught:
        model.generate("x", tools=[WEATHER])
    assert caught.value.message.usage == Usage(9, 4)
    assert caught.value.message.content == text


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ConnectionResetError("peer reset"), "ProviderConnectionError"),
        (TimeoutError("read timed out"), "ProviderTimeoutError"),
        (KeyError("x"), "ProviderError"),
    ],
)
def test_bare_exceptions_map_to_the_matching_provider_error(
    fresh_plugins: None, raised: Exception, expected: str
) -> None:
    class Raising:
        @modelplug.hookimpl
        def capabilities(self) -> modelplug.Capabilities:
            return modelplug.Capabilities(streaming=True)

        @modelplug.hookimpl
        def generate_stream(self) -> Iterator[ChatMessageStreamDelta]:
            yield ChatMessageStreamDelta(content="partial")
            raise raised

        @modelplug.hookimpl
        def generate(self) -> ChatMessage:
            raise raised

    modelplug.register_provider("raising", Raising())
    model = modelplug.load_model("raising:m")
    stream = model.stream("x")
    with pytest.raises(ProviderError) as caught:
        list(stream)
    assert type(caught.value).__name__ == expected and caught.value.original is raised
    assert stream.message.content == "partial"
    with pytest.raises(ProviderError) as caught:
        model.generate("x")
    assert type(caught.value).__name__ == expected


def test_a_failing_capabilities_hook_is_a_plugin_error(fresh_plugins: None) -> None:
    model = load_broken(capabilities=RuntimeError("caps boom"))  # the raw RuntimeError escaped stream()
    with pytest.raises(PluginContractError, match="capabilities hook failed: RuntimeError: caps boom") as caught:
        model.stream("x")
    assert not isinstance(caught.value, PluginLoadError)  # a broken contract at call time, not an import failure
    assert isinstance(caught.value.original, RuntimeError)


@pytest.mark.parametrize("returned", [5, "abc", {"content": "x"}])
def test_generate_stream_returning_no_iterator_is_a_plugin_error(fresh_plugins: None, returned: object) -> None:
    # stream() raised a bare TypeError (5) or AttributeError ("abc": its letters were taken as deltas).
    model = load_broken(stream=returned)
    for call in (model.generate, model.stream):
        with pytest.raises(PluginContractError, match="generate_stream must return an iterator"):
            call("x")


def test_generate_stream_returning_a_list_works_in_generate_too(fresh_plugins: None) -> None:
    # stream() took a list; generate() failed with "'list' object is not an iterator".
    model = load_broken(stream=lambda: [ChatMessageStreamDelta(content="a"), ChatMessageStreamDelta(content="b")])
    assert model.generate("x").content == "ab"


def test_a_failing_unload_is_a_plugin_error_but_never_hides_the_error_of_the_block(fresh_plugins: None) -> None:
    with pytest.raises(PluginContractError, match="unload hook failed: RuntimeError: unload boom"):
        load_broken(unload="unload boom").close()  # was the bare RuntimeError
    with pytest.raises(KeyError, match="the real one"), load_broken(unload="unload boom"):
        raise KeyError("the real one")  # was replaced by the RuntimeError of unload


def test_a_parse_tool_calls_hook_returning_garbage_is_a_plugin_error(fresh_plugins: None) -> None:
    class Garbage(Broken):
        @modelplug.hookimpl(tryfirst=True)
        def parse_tool_calls(self) -> object:
            return "garbage"

    modelplug.register_provider("garbage", Garbage(stream=lambda: iter([ChatMessageStreamDelta(content="call f")])))
    model = modelplug.load_model("garbage:m")
    with pytest.raises(PluginContractError, match="parse_tool_calls must return"):
        model.generate("x", tools=[{"name": "f"}])  # was AttributeError: 'str' object has no attribute 'tool_calls'


def test_secrets_stay_out_of_printed_tracebacks(fresh_plugins: None) -> None:
    # str() was redacted, but the chained original exception (printed by --debug, logging.exception
    # or an uncaught error) carried the key verbatim.
    import traceback

    key = "plain-secret-value-123456"

    class Leaky:
        @modelplug.hookimpl
        def load(self, options: dict[str, object]) -> dict[str, object]:
            if options.get("fail"):
                raise RuntimeError(f"cannot load with {options['api_key']}")
            return dict(options)

        @modelplug.hookimpl
        def capabilities(self) -> modelplug.Capabilities:
            return modelplug.Capabilities(streaming=True)

        @modelplug.hookimpl
        def generate_stream(self, state: dict[str, str]) -> Iterator[ChatMessageStreamDelta]:
            yield ChatMessageStreamDelta(content="a")
            raise RuntimeError(f"401 for key {state['api_key']}")

    modelplug.register_provider("leaky", Leaky())
    for call in (
        lambda: modelplug.load_model("leaky:m", api_key=key, fail=True),
        lambda: modelplug.load_model("leaky:m", api_key=key).generate("x"),
    ):
        with pytest.raises(modelplug.ModelplugError) as caught:
            call()
        printed = "".join(traceback.format_exception(caught.value))
        assert key not in printed and "***" in printed


def test_closing_a_model_ends_the_streams_other_threads_are_reading() -> None:
    words = " ".join(f"w{i}" for i in range(400))
    model = modelplug.load_model("replay:x", responses=[words], delay=0.01, loop=True)
    streams: list[modelplug.ChatStream] = []
    started = threading.Barrier(5)
    failures: list[BaseException] = []

    def read() -> None:
        try:
            stream = model.stream("hi")
            streams.append(stream)
            started.wait(10)
            for _ in stream:
                pass
        except BaseException as error:  # reported below
            failures.append(error)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    started.wait(10)
    model.close()
    for reader in readers:
        reader.join(5)
    assert not any(reader.is_alive() for reader in readers), "a stream outlived its closed model"
    assert failures == []
    for stream in streams:  # each ended early, cancelled, keeping what it had received
        assert stream.outcome == "cancelled"
        assert words.startswith(stream.message.text) and len(stream.message.text) < len(words)
    with pytest.raises(ModelClosedError):
        model.stream("again")


def test_unreadable_text_tool_call_keeps_the_reasoning(fresh_plugins: None) -> None:
    from modelplug.errors import ToolCallParseError

    text = '<think>plan it</think>Sure. <tool_call>{"name": "get_weather", "arguments": {"city": "P"}}</tool_call>'
    text += "<tool_call>{bad json</tool_call>"
    model = modelplug.load_model("replay:t", responses=[_text_response(text)] * 2, capabilities=TEXT_CALLS)
    with pytest.raises(ToolCallParseError) as caught:
        model.generate("x", tools=[WEATHER])
    assert caught.value.reasoning_content == "plan it"
    assert caught.value.message.reasoning_content == "plan it"
    assert [c.name for c in caught.value.tool_calls] == ["get_weather"]
    stream = model.stream("x", tools=[WEATHER])
    with pytest.raises(ToolCallParseError) as streamed:
        for _ in stream:
            pass
    assert streamed.value.reasoning_content == "plan it"
    assert stream.message.reasoning_content == "plan it"


def test_unreadable_text_tool_call_keeps_the_backends_reasoning(fresh_plugins: None) -> None:
    from modelplug.errors import ToolCallParseError

    chunks = [
        {"choices": [{"delta": {"reasoning_content": "native plan"}}]},
        *_text_response("<tool_call>{bad</tool_call>"),
    ]
    model = modelplug.load_model("replay:t", responses=[chunks], capabilities=TEXT_CALLS)
    with pytest.raises(ToolCallParseError) as caught:
        model.generate("x", tools=[WEATHER])
    assert caught.value.reasoning_content == "native plan"
