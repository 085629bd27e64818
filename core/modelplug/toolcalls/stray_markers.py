"""Closing markers left in the text without their block (``</tool_call>`` after the calls, a
second ``<|tool_call_end|>``, ...), and ``[TOOL_CALLS]`` with nothing after it.

A closing marker of the format that no block opened, met after a block of calls, is dropped when
only whitespace follows it to the end of the text (the model's trailing markup, which vLLM and
SGLang leave out of the content too). Anywhere else (before any call, or followed by prose) it
stays in the content.
"""

from __future__ import annotations

import re
from typing import Final

from modelplug.toolcalls._calls import Done, OfferedTools, Outcome, Reject
from modelplug.toolcalls._engine import Reader
from modelplug.toolcalls._source import Read, Source, accept, peek, read_run, skip_ws

__all__ = ["CLOSERS", "dropped_marker", "stray_closer"]

_SUFFIX: Final = re.compile(r"[^\s<>]*")

#: The closing markers of each format (those with a closer).
CLOSERS: Final[dict[str, tuple[str, ...]]] = {
    "hermes": ("</tool_call>",),
    "smollm2": ("</tool_call>",),
    "granite": ("</tool_call>",),
    "xlam": ("</tool_call>",),
    "qwen3_coder": ("</tool_call>", "</function>"),
    "glm45": ("</tool_call>",),
    "glm47": ("</tool_call>",),
    "internlm2": ("<|action_end|>",),
    "jamba": ("</tool_calls>",),
    "hunyuan_a13b": ("</tool_calls>",),
    "minimax": ("</tool_calls>",),
    "llama4_pythonic": ("<|python_end|>",),
    "lfm2": ("<|tool_call_end|>",),
    "olmo3": ("</function_calls>",),
    "seed_oss": ("</seed:tool_call>",),
    "minimax_m2": ("</minimax:tool_call>",),
    "step3": ("<｜tool_calls_end｜>", "<｜tool_call_end｜>"),
    "deepseek_v3": ("<｜tool▁calls▁end｜>", "<｜tool▁call▁end｜>"),
    "deepseek_v31": ("<｜tool▁calls▁end｜>", "<｜tool▁call▁end｜>"),
    "deepseek_v32": ("</｜DSML｜function_calls>",),
    "kimi_k2": ("<|tool_calls_section_end|>", "<|tool_call_end|>"),
    "gemma4": ("<tool_call|>",),
    "functiongemma": ("<end_function_call>",),
    "deepseek_v4": ("</｜DSML｜tool_calls>",),
    "deepseek_v41": ("</｜DSML｜ calls>",),
    "gigachat35": ("</｜GCML｜tool_calls>",),
    "kimi_k3": ("<|close|>tools<|sep|>",),
    "hy_v3": ("</tool_calls>", "</tool_call>", "</tool_calls:", "</tool_call:"),
    "longcat": ("</longcat_tool_call>",),
    "qwen25_coder": ("</tools>",),
    "nemotron_json": ("</TOOLCALL>",),
    "cohere_command4": ("<|END_ACTION|>",),
    "gigachat3": ("</s>",),
    "apertus": ("<|tools_suffix|>",),
    "step_audio_2": ("</tool_call>",),
    "dots": ("</dots_function_call>",),
    "solar_open2": ("<|tool_call:end|>",),
    "minicpm5": ("</function>",),
    "plamo3": ("<|plamo:end_tool_requests:plamo|>", "<|plamo:tag|>"),
    "iquest_q1": ("</iquest_tool_call>",),
    "hyperclovax_seed_think": ("</tool_call>",),
    "rwkv": ("```",),
    "k2_horizon": ("</ifm|tool_calls>",),
    "cwm": ("</tool>",),
    "minimax_m3": ("]<]minimax[>[</tool_call>",),
    "muse_glimmer": ("</atem:function_calls>",),
}


def stray_closer(closer: str) -> Reader:
    """A reader for ``closer`` met outside any block (see the module docstring). A closer ending in
    ``:`` is the start of a tag with a tokenizer's suffix (Hy's ``</tool_call:opensource>``)."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        if not src.after_calls:
            return Reject(len(closer))
        src.i += len(closer)
        if closer.endswith(":"):
            suffix = yield from read_run(src, _SUFFIX, 64)
            if not suffix or not (yield from accept(src, ">")):
                return Reject(len(closer))
        yield from skip_ws(src)
        if peek(src):
            return Reject(len(closer))
        return Done(None, tool_block=False)

    read.stray = True  # type: ignore[attr-defined]  # the engine looks for it only after a call
    return read


def dropped_marker(marker: str) -> Reader:
    """A reader for ``marker``, markup around content that is no call (Kimi K3's response channel
    tags): dropped wherever it appears."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(marker)
        yield from ()  # a generator, like every reader
        return Done(None, tool_block=False)

    return read
