"""In-code providers for the command-line tests (registered with ``modelplug.register_provider``)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import modelplug
from modelplug.errors import ServerError
from modelplug.types import Capabilities, ChatMessage, ChatMessageStreamDelta, GenerationOptions, Usage


class Probe:
    """Streams back, as JSON text, the model options it was loaded with and the request it got.

    Model options: ``n`` (int), ``ratio`` (float), ``flag`` (bool), ``name`` (str), anything else
    untyped; ``fail_after`` (int): raise a ServerError after that many deltas.
    """

    @modelplug.hookimpl
    def load(self, options: Mapping[str, Any]) -> dict[str, Any]:
        return dict(options)

    @modelplug.hookimpl
    def capabilities(self) -> Capabilities:
        return Capabilities(streaming=True, usage_in_stream=True, tool_calling="native")

    @modelplug.hookimpl
    def option_types(self) -> Mapping[str, type]:
        return {"n": int, "ratio": float, "flag": bool, "name": str, "fail_after": int}

    @modelplug.hookimpl
    def generate_stream(
        self, state: dict[str, Any], messages: list[ChatMessage], options: GenerationOptions
    ) -> Iterator[ChatMessageStreamDelta]:
        report = {
            "options": state,
            "messages": [[m.role, m.content] for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
            "seed": options.seed,
            "tool_choice": options.tool_choice,
            "response_format": options.response_format,
            "tools": [tool.name for tool in options.tools],
            "extra": dict(options.extra),
        }
        text = json.dumps(report, sort_keys=True)
        pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
        fail_after = state.get("fail_after")
        for number, piece in enumerate(pieces):
            if fail_after is not None and number == fail_after:
                raise ServerError("probe backend fell over", provider="probe", status_code=500)
            yield ChatMessageStreamDelta(content=piece)
        yield ChatMessageStreamDelta(finish_reason="stop", usage=Usage(5, len(pieces)))


class OneShot:
    """A provider that cannot stream: ``generate`` only."""

    @modelplug.hookimpl
    def capabilities(self) -> Capabilities:
        return Capabilities(streaming=False)

    @modelplug.hookimpl
    def generate(self, messages: list[ChatMessage]) -> ChatMessage:
        return ChatMessage(content=f"one shot: {messages[-1].content}", usage=Usage(3, 4), finish_reason="stop")
