"""DeltaPipeline: the one post-processing of generate() and stream() (stops, text tool calls)."""

from __future__ import annotations

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
