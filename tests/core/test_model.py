"""The Model facade: message forms, fallbacks, capability checks, errors mid-stream, closing."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

import modelplug
from modelplug import ChatMessage, ChatMessageStreamDelta, Usage
from modelplug.errors import (
    CapabilityError,
    InvalidOptionError,
    ModelClosedError,
    ModelLoadError,
    PluginContractError,
    PluginLoadError,
    ProviderError,
)
from modelplug.types import GenerationOptions, check_tool_choice


class Scripted:
    """An in-code provider whose behaviour each test sets."""

    def __init__(
        self, *, streaming: bool = True, pieces: tuple[str, ...] = ("Hello", " world"), fail_after: int | None = None
    ):
        self.streaming = streaming
        self.pieces = pieces
        self.fail_after = fail_after
        self.closed = False
        self.unloaded = False
        self.seen: list[list[ChatMessage]] = []

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=self.streaming, usage_in_stream=True)

    @modelplug.hookimpl
    def generate(self, messages: list[ChatMessage]) -> ChatMessage:
        self.seen.append(messages)
        return ChatMessage(content="".join(self.pieces), usage=Usage(3, len(self.pieces)), finish_reason="stop")

    @modelplug.hookimpl
    def generate_stream(self, messages: list[ChatMessage]) -> Iterator[ChatMessageStreamDelta]:
        self.seen.append(messages)
        try:
            for number, piece in enumerate(self.pieces):
                if self.fail_after is not None and number == self.fail_after:
                    raise RuntimeError("backend exploded")
                yield ChatMessageStreamDelta(content=piece)
            yield ChatMessageStreamDelta(usage=Usage(3, len(self.pieces)), finish_reason="stop")
        finally:
            self.closed = True

    @modelplug.hookimpl
    def unload(self) -> None:
        self.unloaded = True


@pytest.fixture
def scripted(fresh_plugins: None) -> Iterator[Scripted]:
    provider = Scripted()
    modelplug.register_provider("scripted", provider)
    yield provider


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


@pytest.mark.parametrize("spec", ["scripted", ":m", "scripted:", "", 42])
def test_bad_spec(spec: object) -> None:
    with pytest.raises(InvalidOptionError, match="transformers:default"):
        modelplug.load_model(spec)  # type: ignore[arg-type]


def test_stream_yields_deltas_and_aggregates(scripted: Scripted) -> None:
    with modelplug.load_model("scripted:m").stream("x") as stream:
        contents = [d.content for d in stream]
    assert contents == ["Hello", " world", None]
    assert stream.message.content == "Hello world"
    assert stream.message.usage == Usage(3, 2)
    assert stream.outcome == "ok" and stream.ttft_s is not None and stream.duration_s is not None


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


def test_error_mid_stream_keeps_what_was_received(fresh_plugins: None) -> None:
    provider = Scripted(pieces=("a", "b", "c"), fail_after=2)
    modelplug.register_provider("flaky", provider)
    stream = modelplug.load_model("flaky:m").stream("x")
    received = []
    with pytest.raises(ProviderError, match="backend exploded") as caught:
        for delta in stream:
            received.append(delta.content)
    assert received == ["a", "b"]
    assert stream.message.content == "ab"
    assert isinstance(caught.value.original, RuntimeError)
    assert caught.value.__cause__ is caught.value.original
    assert stream.error is caught.value and stream.outcome == "error"


def test_breaking_out_closes_the_provider(scripted: Scripted) -> None:
    model = modelplug.load_model("scripted:m")
    for _ in model.stream("x"):
        break
    gc.collect()
    assert scripted.closed
    scripted.closed = False
    with model.stream("x") as stream:
        next(stream)
    assert scripted.closed and stream.outcome == "cancelled"
    assert stream.message.content == "Hello"


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


class Broken:
    """A provider whose hooks break the contract in the way each test sets."""

    def __init__(self, *, stream: object = None, capabilities: object = None, unload: object = None) -> None:
        self.stream = stream
        self.caps = capabilities
        self.unload_error = unload

    @modelplug.hookimpl
    def capabilities(self) -> object:
        if isinstance(self.caps, Exception):
            raise self.caps
        return self.caps or modelplug.Capabilities(streaming=True, tool_calling="text")

    @modelplug.hookimpl
    def generate_stream(self) -> object:
        return self.stream() if callable(self.stream) else self.stream

    @modelplug.hookimpl
    def unload(self) -> None:
        if self.unload_error is not None:
            raise RuntimeError(self.unload_error)


def _broken(**kwargs: object) -> modelplug.Model:
    modelplug.register_provider("broken", Broken(**kwargs), replace=True)  # type: ignore[arg-type]
    return modelplug.load_model("broken:m")


def test_a_failing_capabilities_hook_is_a_plugin_error(fresh_plugins: None) -> None:
    model = _broken(capabilities=RuntimeError("caps boom"))  # the raw RuntimeError escaped stream()
    with pytest.raises(PluginContractError, match="capabilities hook failed: RuntimeError: caps boom") as caught:
        model.stream("x")
    assert not isinstance(caught.value, PluginLoadError)  # a broken contract at call time, not an import failure
    assert isinstance(caught.value.original, RuntimeError)


@pytest.mark.parametrize("returned", [5, "abc", {"content": "x"}])
def test_generate_stream_returning_no_iterator_is_a_plugin_error(fresh_plugins: None, returned: object) -> None:
    # stream() raised a bare TypeError (5) or AttributeError ("abc": its letters were taken as deltas).
    model = _broken(stream=returned)
    for call in (model.generate, model.stream):
        with pytest.raises(PluginContractError, match="generate_stream must return an iterator"):
            call("x")


def test_generate_stream_returning_a_list_works_in_generate_too(fresh_plugins: None) -> None:
    # stream() took a list; generate() failed with "'list' object is not an iterator".
    model = _broken(stream=lambda: [ChatMessageStreamDelta(content="a"), ChatMessageStreamDelta(content="b")])
    assert model.generate("x").content == "ab"


def test_yielding_something_else_than_a_delta_is_a_plugin_error_keeping_the_partial_answer(
    fresh_plugins: None,
) -> None:
    closed = []

    def deltas() -> Iterator[object]:
        try:
            yield ChatMessageStreamDelta(content="a")
            yield "b"
        finally:
            closed.append(True)

    model = _broken(stream=deltas)
    stream = model.stream("x")
    with pytest.raises(PluginContractError, match=r"must yield modelplug\.ChatMessageStreamDelta values, got str"):
        list(stream)  # was a bare AttributeError from the aggregator
    assert stream.message.content == "a" and stream.outcome == "error" and closed == [True]
    with pytest.raises(PluginContractError):
        model.generate("x")


def test_a_failing_unload_is_a_plugin_error_but_never_hides_the_error_of_the_block(fresh_plugins: None) -> None:
    with pytest.raises(PluginContractError, match="unload hook failed: RuntimeError: unload boom"):
        _broken(unload="unload boom").close()  # was the bare RuntimeError
    with pytest.raises(KeyError, match="the real one"), _broken(unload="unload boom"):
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


def test_closing_from_another_thread_closes_the_provider_and_ends_the_loop(fresh_plugins: None) -> None:
    produced = threading.Event()
    release = threading.Event()
    closed = []

    def deltas() -> Iterator[ChatMessageStreamDelta]:
        try:
            yield ChatMessageStreamDelta(content="a")
            produced.set()
            release.wait(10)  # the provider is busy producing the next delta when close() comes
            yield ChatMessageStreamDelta(content="b")
            yield ChatMessageStreamDelta(content="c")
        finally:
            closed.append(True)

    stream = _broken(stream=deltas).stream("x")
    assert next(stream).content == "a"

    def close_while_busy() -> None:
        produced.wait(10)
        stream.close()  # returns at once: the provider's generator is executing in the other thread
        release.set()

    closer = threading.Thread(target=close_while_busy)
    closer.start()
    rest = list(stream)
    closer.join()
    # The provider was never closed (its generator could not be closed while running) and kept going.
    assert rest == [] and closed == [True] and stream.outcome == "cancelled" and stream.message.content == "a"


def test_an_unknown_tool_call_format_fails_at_load(scripted: Scripted) -> None:
    # It loaded (the Transformers model too) and failed at the first call with tools.
    with pytest.raises(InvalidOptionError, match="unknown tool-call format 'hermess'"):
        modelplug.load_model("scripted:m", tool_call_format="hermess")
    with pytest.raises(InvalidOptionError, match="'tool_call_format' must be a format name"):
        modelplug.load_model("scripted:m", tool_call_format=5)  # was ignored: the declared format was used
    modelplug.load_model("scripted:m", tool_call_format="hermes")


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


def test_a_delta_with_a_field_of_the_wrong_type_is_a_plugin_error(fresh_plugins: None) -> None:
    def deltas() -> Iterator[ChatMessageStreamDelta]:
        yield ChatMessageStreamDelta(content="a")
        yield ChatMessageStreamDelta(usage={"prompt_tokens": 1})  # type: ignore[arg-type]

    stream = _broken(stream=deltas).stream("x")
    with pytest.raises(PluginContractError, match=r"'broken' yielded a malformed delta: delta\.usage must be"):
        list(stream)
    assert stream.message.content == "a" and stream.message.usage is None


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


def test_a_stream_ending_while_another_thread_closes_it_is_finished_once(
    fresh_plugins: None, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import threading

    caplog.set_level(logging.INFO, logger="modelplug")
    model = modelplug.load_model("replay:x", responses=["a b c"], loop=True)
    for _ in range(50):
        stream = model.stream("q")
        closer = threading.Thread(target=stream.close)
        closer.start()
        for _ in stream:
            pass
        closer.join()
    events = [r for r in caplog.records if "event='generation'" in r.getMessage()]
    assert len(events) == 50


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
