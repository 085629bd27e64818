"""DeltaPipeline: the one post-processing of generate() and stream() (stops, text tool calls)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import modelplug
from modelplug import ChatMessageStreamDelta
from modelplug._pipeline import DeltaPipeline
from modelplug.errors import ToolCallParseError
from modelplug.toolcalls import StreamParser

TOOLS = [{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
CALL_TEXT = ['Sure. <tool_call>{"name": "get_weather", ', '"arguments": {"city": "Paris"}}', "</tool_call>"]


def _script(*, early: bool, doubled: bool) -> list[ChatMessageStreamDelta]:
    deltas = [ChatMessageStreamDelta(finish_reason="stop")] if early else []  # finish_reason on an empty first chunk
    for index, piece in enumerate(CALL_TEXT):
        deltas.append(ChatMessageStreamDelta(content=piece, finish_reason="stop" if doubled and index == 1 else None))
    deltas.append(ChatMessageStreamDelta(finish_reason="stop"))
    return deltas


class TextCalls:
    def __init__(self, script: list[ChatMessageStreamDelta]) -> None:
        self.script = script

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True, tool_calling="text", tool_call_format="hermes")

    @modelplug.hookimpl
    def generate_stream(self) -> Iterator[ChatMessageStreamDelta]:
        yield from self.script


@pytest.mark.parametrize(("early", "doubled"), [(True, False), (False, True), (True, True), (False, False)])
def test_early_or_doubled_finish_reason_does_not_stop_text_tool_calls(
    fresh_plugins: None, early: bool, doubled: bool
) -> None:
    modelplug.register_provider("textcalls", TextCalls(_script(early=early, doubled=doubled)))
    model = modelplug.load_model("textcalls:m")
    streamed = model.stream("weather?", tools=TOOLS)
    deltas = list(streamed)
    generated = model.generate("weather?", tools=TOOLS)
    for message in (streamed.message, generated):
        assert [(c.name, c.arguments) for c in message.tool_calls] == [("get_weather", {"city": "Paris"})]
        assert "<tool_call>" not in (message.text or "")
        assert message.finish_reason == "stop"
    assert streamed.message.text == generated.text == "Sure."
    assert deltas[-1].finish_reason == "stop"  # the finish reason comes last, after the parsed calls
    assert sum(1 for d in deltas if d.finish_reason) == 1


def test_pipeline_feed_and_finish_with_stops() -> None:
    pipeline = DeltaPipeline(stop=["END"])
    out = pipeline.feed(ChatMessageStreamDelta(content="hello E"))
    assert [d.content for d in out] == ["hello "] and not pipeline.stopped
    out = pipeline.feed(ChatMessageStreamDelta(content="ND more"))
    assert pipeline.stopped and [(d.content, d.finish_reason) for d in out] == [(None, "stop")]
    assert pipeline.feed(ChatMessageStreamDelta(content="after")) == []
    assert pipeline.finish() == [] and pipeline.finish() == []


def test_pipeline_keeps_held_text_when_the_stream_ends_without_a_stop() -> None:
    pipeline = DeltaPipeline(stop=["END"])
    assert [d.content for d in pipeline.feed(ChatMessageStreamDelta(content="abc EN"))] == ["abc "]
    assert [d.content for d in pipeline.finish()] == ["EN"]


def test_pipeline_parse_error_carries_every_delta_still_to_deliver() -> None:
    pipeline = DeltaPipeline(tool_parser=StreamParser(format="hermes", tools=TOOLS))
    delivered = pipeline.feed(ChatMessageStreamDelta(content='<tool_call>{"name": "get_weather", "arguments": {'))
    delivered += pipeline.feed(ChatMessageStreamDelta(finish_reason="length"))
    with pytest.raises(ToolCallParseError) as caught:
        pipeline.finish()
    assert caught.value.deltas[-1].finish_reason == "length"
    assert all(d.finish_reason is None for d in delivered)


def test_pipeline_without_work_is_inactive() -> None:
    caps = modelplug.Capabilities(streaming=True, stop_sequences=True)
    options = modelplug.GenerationOptions(stop=("x",))
    assert not DeltaPipeline.for_generation(caps, options).active
    caps_no_stop = modelplug.Capabilities(streaming=True)
    assert DeltaPipeline.for_generation(caps_no_stop, options).active


def test_after_a_stop_only_usage_comes_out() -> None:
    pipeline = DeltaPipeline(stop=["END"])
    pipeline.feed(ChatMessageStreamDelta(content="a END b"))
    assert pipeline.stopped
    usage = modelplug.Usage(3, 4)
    assert pipeline.feed(ChatMessageStreamDelta(content="more", usage=usage)) == [ChatMessageStreamDelta(usage=usage)]


class Rendered:
    """A provider that renders prompts (``tool_calling="text"``, as Transformers and vLLM's text mode
    declare): it hands over the model's raw text, one piece per delta, ``generate`` or streamed."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True, tool_calling="text", tool_call_format="hermes")

    @modelplug.hookimpl
    def generate_stream(self) -> Iterator[ChatMessageStreamDelta]:
        for piece in self.pieces:
            yield ChatMessageStreamDelta(content=piece)
        yield ChatMessageStreamDelta(finish_reason="stop", usage=modelplug.Usage(3, len(self.pieces)))



class RenderedWhole(Rendered):
    """The same with its own ``generate`` (the core then post-processes the whole answer)."""

    @modelplug.hookimpl
    def generate(self) -> modelplug.ChatMessage:
        return modelplug.ChatMessage(role="assistant", content="".join(self.pieces), finish_reason="stop")


#: A prompt-opened span (the provider starts the text with the opener the template left open) and
#: one the model writes itself, after a blank line.
THOUGHT = "<think>\nThe user wants a city. <tool_call>{}</tool_call> is not for now.</think>\n\nParis."
SELF_OPENED = "\n<think>Paris, surely.</think>Paris."


@pytest.mark.parametrize("text", [THOUGHT, SELF_OPENED])
@pytest.mark.parametrize("whole", [False, True])
def test_without_tools_a_leading_reasoning_span_goes_to_reasoning_content(
    fresh_plugins: None, text: str, whole: bool
) -> None:
    """No tools given: the span is still split off, at every split of the text, by generate(),
    stream() and astream() alike (before: it stayed in content, tags and all)."""
    thought, answer = text.split("</think>")
    thought = thought.split("<think>")[1]
    answer = text.split("<think>")[0] + answer
    for cut in range(len(text) + 1):
        pieces = [p for p in (text[:cut], text[cut:]) if p]
        modelplug.register_provider("rendered", (RenderedWhole if whole else Rendered)(pieces), replace=True)
        model = modelplug.load_model("rendered:m")
        stream = model.stream("city?")
        deltas = list(stream)
        messages = [stream.message, model.generate("city?"), asyncio.run(_astreamed(model))]
        for message in messages:
            assert (message.reasoning_content, message.content) == (thought, answer), cut
            assert message.finish_reason == "stop"
        assert deltas[-1].finish_reason == "stop" and stream.message.usage == modelplug.Usage(3, len(pieces))


async def _astreamed(model: modelplug.Model) -> modelplug.ChatMessage:
    async with model.astream("city?") as stream:
        async for _ in stream:
            pass
    return stream.message


def test_without_tools_only_a_span_at_the_start_is_reasoning_and_the_rest_passes_through(
    fresh_plugins: None,
) -> None:
    """After the answer's first content the deltas are the provider's own (a later ``<think>`` is
    text the model wrote, e.g. about the tag); text without a span is unchanged."""
    later = ["Use ", "<think>", " tags: <think>x</think>", "."]
    modelplug.register_provider("rendered", Rendered(later))
    model = modelplug.load_model("rendered:m")
    stream = model.stream("tags?")
    contents = [d.content for d in stream if d.content]
    assert "".join(contents) == "".join(later) and contents[-3:] == later[1:]
    assert stream.message.reasoning_content is None
    assert model.generate("tags?").content == "".join(later)


class RenderedIn(Rendered):
    """A rendering provider whose model writes a channel format (``tool_call_format``)."""

    def __init__(self, pieces: list[str], format: str) -> None:
        super().__init__(pieces)
        self.format = format

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True, tool_calling="text", tool_call_format=self.format)


#: Channel formats' answers (reasoning, then the answer in its own message): every message is read.
CHANNELS = {
    "harmony": "<|channel|>analysis<|message|>Think of <tool_call>.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Paris.<|return|>",
    "muse_glimmer": " to=self<|message|>Think of <tool_call>.<|eom|><|start|>assistant to=user<|message|>Paris.<|eot|>",
    "inkling": "<|message_model|><|content_thinking|>Think of <tool_call>.<|end_message|>"
    "<|message_model|><|content_text|>Paris.<|end_message|>",
}


@pytest.mark.parametrize("format", sorted(CHANNELS))
def test_without_tools_a_channel_format_is_read_to_the_end(fresh_plugins: None, format: str) -> None:
    """No tools given, a channel format's reasoning message goes to ``reasoning_content`` and the
    answer's message to ``content``, its end token dropped (the split does not stop at the first
    content, as each message says where it goes), by generate(), stream() and astream() alike."""
    text = CHANNELS[format]
    for pieces in ([text], list(text), [text[:40], text[40:]]):
        modelplug.register_provider("rendered", RenderedIn(pieces, format), replace=True)
        model = modelplug.load_model("rendered:m")
        stream = model.stream("city?")
        list(stream)
        for message in (stream.message, model.generate("city?"), asyncio.run(_astreamed(model))):
            content = message.content.strip() if message.content else None
            assert (message.reasoning_content, content) == ("Think of <tool_call>.", "Paris."), pieces


def test_the_reasoning_split_ends_with_the_first_content() -> None:
    pipeline = DeltaPipeline(reasoning_parser=StreamParser(format="hermes", calls=False))
    assert pipeline.active
    out = pipeline.feed(ChatMessageStreamDelta(content="<think>a"))
    assert [d.reasoning_content for d in out] == ["a"] and pipeline.active
    out = pipeline.feed(ChatMessageStreamDelta(content="</think>b", finish_reason="length"))
    assert [(d.content, d.finish_reason) for d in out] == [("b", None), (None, "length")]
    assert not pipeline.active and pipeline.finish() == []
    with pytest.raises(ValueError, match="one parser"):
        DeltaPipeline(tool_parser=StreamParser(), reasoning_parser=StreamParser(calls=False))
