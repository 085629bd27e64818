"""The supported formats, their openers, and format detection.

Format names follow vLLM's ``--tool-call-parser`` names where one exists (a few aliases map
vLLM's other spellings: ``openai`` is ``harmony``, ``internlm`` is ``internlm2``). ``None`` means
*detect*: every format's openers are active at once, ``<tool_call>`` is told apart by what follows
it (JSON for hermes, ``<function=`` for qwen3_coder, a bare name for GLM), and markerless calls
(bare JSON, fenced JSON, Python call lists) are recognised only when they are clearly calls.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final

from modelplug.errors import InvalidOptionError
from modelplug.toolcalls._calls import Done, OfferedTools, Outcome, Reject
from modelplug.toolcalls._engine import Reader, Table
from modelplug.toolcalls._jsoncalls import BlockCalls
from modelplug.toolcalls._source import NAME_RE, Read, Source, accept, at, peek, skip_ws
from modelplug.toolcalls.bare_json import brace, bracket, fence
from modelplug.toolcalls.channels import message_reader
from modelplug.toolcalls.deepseek import CALLS_BEGIN, deepseek
from modelplug.toolcalls.gemma import FUNCTIONGEMMA_OPENER, functiongemma, gemma4
from modelplug.toolcalls.gemma import OPENER as GEMMA_OPENER
from modelplug.toolcalls.harmony import HARMONY, harmony
from modelplug.toolcalls.harmony import OPENERS as HARMONY_OPENERS
from modelplug.toolcalls.inkling import CLOSERS as INKLING_CLOSERS
from modelplug.toolcalls.inkling import INKLING, inkling
from modelplug.toolcalls.inkling import OPENERS as INKLING_OPENERS
from modelplug.toolcalls.json_tags import PLAMO_OPENER, json_payload, named_json, plamo3, tagged_json
from modelplug.toolcalls.kimi import SECTION_BEGIN, kimi_k2
from modelplug.toolcalls.llama_builtins import llama_python_tag
from modelplug.toolcalls.minimax_m3 import OPENER as M3_OPENER
from modelplug.toolcalls.minimax_m3 import minimax_m3
from modelplug.toolcalls.mistral import MARKER, mistral
from modelplug.toolcalls.muse_glimmer import (
    ATEM_OPENER,
    HARMONY_OR_MUSE,
    MUSE_GLIMMER,
    RECIPIENT,
    bare_recipient,
    collapsed,
    harmony_or_muse,
    muse_glimmer,
    recipient_reader,
)
from modelplug.toolcalls.muse_glimmer import CLOSERS as MUSE_CLOSERS
from modelplug.toolcalls.muse_glimmer import OPENERS as MUSE_OPENERS
from modelplug.toolcalls.pythonic import function_calls, tagged_python
from modelplug.toolcalls.reasoning import COHERE_THINK, GEMMA_THOUGHT, HY_THINK, SEED_THINK, THINK, span_reader
from modelplug.toolcalls.stray_markers import CLOSERS, closed_pair, dropped_marker, stray_closer
from modelplug.toolcalls.xml_tags import (
    CWM_OPENER,
    DOTS_OPENER,
    DSML_OPENER,
    DSML_V4_OPENER,
    DSML_V41_OPENER,
    GCML_OPENER,
    HY_SUFFIXED_OPENER,
    IQUEST_OPENER,
    K2_HORIZON_OPENER,
    K3_CLOSE,
    K3_MARKUP,
    K3_OPEN,
    K3_TOOLS_OPEN,
    MINICPM_OPENER,
    SOLAR_OPENER,
    bare_function,
    cwm,
    deepseek_v4,
    deepseek_v32,
    deepseek_v41,
    dots,
    gigachat35,
    glm_body,
    hy_body,
    hy_suffixed,
    iquest_q1,
    k2_horizon,
    k3_spaced,
    kimi_k3,
    minicpm5,
    minimax_m2,
    qwen_body,
    seed_oss,
    solar_open2,
    step3,
)

__all__ = ["ALIASES", "FORMATS", "canonical", "markers", "table", "tool_call_tag"]

_TOOL_CALL: Final = "<tool_call>"
_TOOL_CALL_END: Final = "</tool_call>"


def tool_call_tag(
    *,
    json: str | None = None,
    qwen: str | None = None,
    glm: bool = False,
    step_audio: bool = False,
    glm_json: str | None = None,
) -> Reader:
    """A reader for ``<tool_call>``, shared by hermes-like JSON (``json``: the format name to report),
    qwen3_coder's ``<function=...>``, GLM's bare name (``glm_json``: the format name of GLM calls
    whose values are JSON where they read, HyperCLOVA X) and Step-Audio 2's ``function`` line."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(_TOOL_CALL)
        yield from skip_ws(src)
        c = peek(src)
        if not c:
            return BlockCalls(ctx, json or qwen or "glm45", src).failed("the text ends after <tool_call>")
        if step_audio and c == "f" and (yield from at(src, _STEP_AUDIO_TYPE)):
            src.i += len(_STEP_AUDIO_TYPE)
            return (yield from named_json(src, ctx, "step_audio_2", closer=_TOOL_CALL_END))
        if json is not None and c in "{[":
            return (yield from json_payload(src, ctx, json, closer=_TOOL_CALL_END, several=True))
        if qwen is not None and c == "<" and (yield from at(src, "<function=")):
            return (yield from qwen_body(src, ctx, qwen, closer=_TOOL_CALL_END, opener_length=len(_TOOL_CALL)))
        if glm_json is not None and NAME_RE.match(src.s, src.i):
            return (yield from glm_body(src, ctx, opener_length=len(_TOOL_CALL), format=glm_json, json_values=True))
        if glm and NAME_RE.match(src.s, src.i):
            return (yield from glm_body(src, ctx, opener_length=len(_TOOL_CALL)))
        return Reject(len(_TOOL_CALL))

    return read


_STEP_AUDIO_TYPE: Final = "function\n"
_TOOL_CALLS: Final = "<tool_calls>"
_TOOL_CALLS_END: Final = "</tool_calls>"


def tool_calls_tag(*, json: str | None = None, hy: bool = False) -> Reader:
    """A reader for ``<tool_calls>``, shared by JSON call lists (``json``: the format name to
    report; jamba, hunyuan_a13b, minimax) and Hy V3's ``<tool_call>NAME<tool_sep>...`` elements."""

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        src.i += len(_TOOL_CALLS)
        yield from skip_ws(src)
        c = peek(src)
        if not c:
            return BlockCalls(ctx, json or "hy_v3", src).failed("the text ends after <tool_calls>")
        if json is not None and c in "{[":
            return (yield from json_payload(src, ctx, json, closer=_TOOL_CALLS_END, several=True))
        if hy and c == "<" and (yield from at(src, _TOOL_CALL)):
            return (yield from hy_body(src, ctx, opener_length=len(_TOOL_CALLS)))
        return Reject(len(_TOOL_CALLS))

    return read


def _gigachat3(prefixed: bool) -> Reader:
    """GigaChat 3: one call object after ``<|function_call|>`` (3.1) or after
    ``function call<|role_sep|>`` (3.0, which follows ``<|message_sep|>``); ``prefixed``: the
    reader of ``<|message_sep|>``, dropped when no call follows it."""
    tagged = tagged_json(_GIGACHAT_ROLE, "gigachat3", closer=None, several=False, also=_GIGACHAT_OPENERS)

    def read(src: Source, ctx: OfferedTools) -> Read[Outcome]:
        if not prefixed:
            return (yield from tagged(src, ctx))
        src.i += len(_GIGACHAT_SEP)
        yield from skip_ws(src)
        if not (yield from at(src, _GIGACHAT_ROLE)):
            return Done(None, tool_block=False)  # the end of the content, no call after it
        return (yield from tagged(src, ctx))

    return read


_RWKV: Final = "**Tool Call:**"


def _rwkv(src: Source, ctx: OfferedTools) -> Read[Outcome]:
    """RWKV: ``**Tool Call:**`` then a call object in a ```` ```json ```` fence."""
    src.i += len(_RWKV)
    yield from skip_ws(src)
    if (yield from accept(src, "```")):
        yield from accept(src, "json")
        yield from skip_ws(src)
    c = peek(src)
    if not c:
        return BlockCalls(ctx, "rwkv", src).failed(f"the text ends after {_RWKV}")
    if c not in "{[":
        return Reject(len(_RWKV))
    return (yield from json_payload(src, ctx, "rwkv", closer="```", several=False))


_GIGACHAT_SEP: Final = "<|message_sep|>"
#: Cohere Command's answer wrappers: markup around content, dropped.
_COHERE_MARKUP: Final = ("<|START_RESPONSE|>", "<|END_RESPONSE|>", "<|START_TEXT|>", "<|END_TEXT|>")
_GIGACHAT_ROLE: Final = "function call<|role_sep|>"
#: Where a GigaChat 3 call starts (a broken call without a closer ends at the first of them).
_GIGACHAT_OPENERS: Final = ("<|function_call|>", "<|message_sep|>", _GIGACHAT_ROLE)


def _fenced(name: str, readers: dict[str, Reader]) -> dict[str, Reader]:
    """``readers`` of a JSON-bodied format, plus its calls in a ```` ```json ```` fence (models
    fall back to Markdown; only a fence holding call objects counts, see bare_json)."""
    return {**readers, "```": fence(name)}


def _hermes_like(name: str) -> dict[str, Reader]:
    return _fenced(name, {_TOOL_CALL: tool_call_tag(json=name)})


def _tool_calls_tag(name: str) -> dict[str, Reader]:
    return _fenced(name, {_TOOL_CALLS: tool_calls_tag(json=name)})


def _json_tag(opener: str, name: str, closer: str | None) -> dict[str, Reader]:
    return {opener: tagged_json(opener, name, closer=closer)}


def _harmony() -> dict[str, Reader]:
    return dict.fromkeys(HARMONY_OPENERS, harmony)


def _muse_glimmer() -> dict[str, Reader]:
    return {
        **dict.fromkeys(MUSE_OPENERS, muse_glimmer),
        RECIPIENT: bare_recipient,
        ATEM_OPENER: collapsed,
        **{m: dropped_marker(m) for m in MUSE_CLOSERS},
    }


def _inkling() -> dict[str, Reader]:
    return {**dict.fromkeys(INKLING_OPENERS, inkling), **{m: dropped_marker(m) for m in INKLING_CLOSERS}}


def _kimi() -> dict[str, Reader]:
    return dict.fromkeys(SECTION_BEGIN, kimi_k2)


_PYTHON_START: Final = "<|python_start|>"
_LFM2_START: Final = "<|tool_call_start|>"

#: Each format's openers and readers (built once, on first use).
_BUILDERS: Final[dict[str, Callable[[], dict[str, Reader]]]] = {
    "hermes": lambda: _hermes_like("hermes"),
    "mistral": lambda: _fenced("mistral", {MARKER: mistral()}),
    "llama3_json": lambda: _fenced(
        "llama3_json", {"<|python_tag|>": llama_python_tag(python=False), "{": brace("llama3_json")}
    ),
    "llama3_python_tag": lambda: {"<|python_tag|>": llama_python_tag(python=True)},
    "pythonic": lambda: {"[": bracket(json_format=None, python_format="pythonic", strict=True)},
    "llama4_pythonic": lambda: {
        _PYTHON_START: tagged_python(_PYTHON_START, "<|python_end|>", "llama4_pythonic"),
        "[": bracket(json_format=None, python_format="llama4_pythonic", strict=True),
    },
    "qwen3_coder": lambda: {_TOOL_CALL: tool_call_tag(qwen="qwen3_coder"), "<function=": bare_function("qwen3_coder")},
    "granite": lambda: _fenced(
        "granite",
        {
            "<|tool_call|>": tagged_json("<|tool_call|>", "granite", closer=None, several=False),
            _TOOL_CALL: tool_call_tag(json="granite"),
        },
    ),
    "internlm2": lambda: _fenced(
        "internlm2",
        {
            "<|action_start|>": tagged_json(
                "<|action_start|>", "internlm2", closer="<|action_end|>", several=False, token="<|plugin|>"
            )
        },
    ),
    "jamba": lambda: _tool_calls_tag("jamba"),
    "deepseek_v3": lambda: {CALLS_BEGIN: deepseek},
    "deepseek_v31": lambda: {CALLS_BEGIN: deepseek},
    "deepseek_v32": lambda: {DSML_OPENER: deepseek_v32},
    "kimi_k2": _kimi,
    "glm45": lambda: {_TOOL_CALL: tool_call_tag(glm=True)},
    "glm47": lambda: {_TOOL_CALL: tool_call_tag(glm=True)},
    "harmony": _harmony,
    "phi4_mini_json": lambda: _fenced(
        "phi4_mini_json",
        {"functools[": tagged_json("functools[", "phi4_mini_json", closer=None, several=False, skip=len("functools"))},
    ),
    "xlam": lambda: {
        MARKER: mistral("xlam"),
        _TOOL_CALL: tool_call_tag(json="xlam"),
        "{": brace("xlam"),
        "[": bracket(json_format="xlam", python_format=None, strict=False),
        "```": fence("xlam"),
    },
    "minimax": lambda: _tool_calls_tag("minimax"),
    "minimax_m2": lambda: {"<minimax:tool_call>": minimax_m2},
    "hunyuan_a13b": lambda: _tool_calls_tag("hunyuan_a13b"),
    "lfm2": lambda: {_LFM2_START: tagged_python(_LFM2_START, "<|tool_call_end|>", "lfm2", json=True)},
    "step3": lambda: {"<｜tool_calls_begin｜>": step3},
    "seed_oss": lambda: {"<seed:tool_call>": seed_oss},
    "olmo3": lambda: {"<function_calls>": function_calls},
    "gemma4": lambda: {GEMMA_OPENER: gemma4},
    "functiongemma": lambda: {FUNCTIONGEMMA_OPENER: functiongemma},
    "smollm2": lambda: _hermes_like("smollm2"),
    "bare_json": lambda: {
        "{": brace("bare_json"),
        "[": bracket(json_format="bare_json", python_format=None, strict=False),
        "```": fence("bare_json"),
    },
    "deepseek_v4": lambda: {DSML_V4_OPENER: deepseek_v4},
    "deepseek_v41": lambda: {DSML_V41_OPENER: deepseek_v41},
    "kimi_k3": lambda: {
        K3_TOOLS_OPEN: kimi_k3,
        **{m: dropped_marker(m) for m in K3_MARKUP},
        **dict.fromkeys((K3_OPEN, K3_CLOSE), k3_spaced),
    },
    "cohere_command4": lambda: {
        **_json_tag("<|START_ACTION|>", "cohere_command4", "<|END_ACTION|>"),
        **{m: dropped_marker(m) for m in _COHERE_MARKUP},
    },
    "longcat": lambda: _json_tag("<longcat_tool_call>", "longcat", "</longcat_tool_call>"),
    "gigachat3": lambda: {
        "<|function_call|>": tagged_json(
            "<|function_call|>", "gigachat3", closer=None, several=False, also=_GIGACHAT_OPENERS
        ),
        _GIGACHAT_SEP: _gigachat3(prefixed=True),
        _GIGACHAT_ROLE: _gigachat3(prefixed=False),
    },
    "gigachat35": lambda: {GCML_OPENER: gigachat35},
    "hy_v3": lambda: {_TOOL_CALLS: tool_calls_tag(hy=True), HY_SUFFIXED_OPENER: hy_suffixed},
    "qwen25_coder": lambda: _json_tag("<tools>", "qwen25_coder", "</tools>"),
    "nemotron_json": lambda: _json_tag("<TOOLCALL>", "nemotron_json", "</TOOLCALL>"),
    "granite_20b_fc": lambda: {
        "<function_call>": tagged_json("<function_call>", "granite_20b_fc", closer=None, several=False)
    },
    "apertus": lambda: {
        "<|tools_prefix|>": tagged_json("<|tools_prefix|>", "apertus", closer="<|tools_suffix|>", keyed=True)
    },
    "step_audio_2": lambda: {_TOOL_CALL: tool_call_tag(step_audio=True)},
    "dots": lambda: {DOTS_OPENER: dots},
    "solar_open2": lambda: {SOLAR_OPENER: solar_open2},
    "minicpm5": lambda: {MINICPM_OPENER: minicpm5},
    "plamo3": lambda: {PLAMO_OPENER: plamo3},
    "iquest_q1": lambda: {IQUEST_OPENER: iquest_q1},
    "hyperclovax_seed_think": lambda: {_TOOL_CALL: tool_call_tag(glm_json="hyperclovax_seed_think")},
    "rwkv": lambda: {_RWKV: _rwkv},
    "k2_horizon": lambda: {K2_HORIZON_OPENER: k2_horizon},
    "cwm": lambda: {CWM_OPENER: cwm},
    "minimax_m3": lambda: {M3_OPENER: minimax_m3},
    "muse_glimmer": _muse_glimmer,
    "inkling": _inkling,
}

#: The names accepted by ``format=``, in a stable order.
FORMATS: Final[tuple[str, ...]] = tuple(_BUILDERS)

#: Other spellings of format names (vLLM's parser names where they differ).
ALIASES: Final = {
    "openai": "harmony",
    "gpt_oss": "harmony",
    "internlm": "internlm2",
    "qwen25": "hermes",
    "qwen3": "hermes",
    "qwen": "hermes",
    "qwen3_xml": "qwen3_coder",
    "glm": "glm45",
    "gpt-oss": "harmony",
    "minimax-m2": "minimax_m2",
    "minimax-m3": "minimax_m3",
    "deepseekv3": "deepseek_v3",
    "deepseekv31": "deepseek_v31",
    "llama3": "llama3_json",
    "llama4_json": "llama3_json",
    "phi4_mini": "phi4_mini_json",
    "hunyuan": "hunyuan_a13b",
    "glm4_moe": "glm45",
    "json": "bare_json",
    # same markers as a format above (the upstream parsers differ in streaming only)
    "ernie45": "hermes",
    "granite4": "hermes",
    "qwen35coder": "qwen3_coder",
    "step3p5": "qwen3_coder",
    "mimo": "qwen3_coder",
    "nemotron_nano_v2": "nemotron_json",
    "deepseekv4": "deepseek_v4",
    "deepseekv41": "deepseek_v41",
    "deepseek_v4_1": "deepseek_v41",
    "kimik3": "kimi_k3",
    "cohere_command": "cohere_command4",
    "cohere_command3": "cohere_command4",
    "qwen2_5_coder": "qwen25_coder",
    "poolside_v1": "glm45",
    "ling3": "glm47",
    "interns1": "internlm2",
    "intern_s1": "internlm2",
    "intern-s1": "internlm2",
    "iquest_coder": "qwen3_coder",
    "trinity": "hermes",
    "spark3": "glm47",
    "berrylm": "qwen3_coder",
    "k2_v3": "k2_horizon",
    "hyperclovax": "hyperclovax_seed_think",
    "pangu": "lfm2",
    "openpangu_v2": "lfm2",
    "hy_v4": "hy_v3",
    "granite-20b-fc": "granite_20b_fc",
    "minicpm4_xml": "minicpm5",
    "minicpm5xml": "minicpm5",
    "minicpm": "minicpm5",
}


def _detection() -> dict[str, Reader]:
    readers: dict[str, Reader] = {}
    for name in FORMATS:
        for opener, reader in _BUILDERS[name]().items():
            readers.setdefault(opener, reader)
    # openers shared by several formats get a reader that accepts all of them
    readers[_TOOL_CALL] = tool_call_tag(json="hermes", qwen="qwen3_coder", glm=True, step_audio=True)
    readers["<|python_tag|>"] = llama_python_tag(python=True)
    readers["{"] = brace("bare_json")
    readers["["] = bracket(json_format="bare_json", python_format="pythonic", strict=None)
    readers["```"] = fence("bare_json")
    readers[MARKER] = mistral()
    readers[_TOOL_CALLS] = tool_calls_tag(json="jamba", hy=True)
    # harmony's and MuseGlimmer's messages share their openers: one reader routes both
    for opener in ("<|channel|>", *MUSE_OPENERS):
        readers[opener] = harmony_or_muse
    # an opener starting with a new character would slow the scan of every call-free text (see
    # _fenced): GigaChat 3.0's prefix is read after its <|message_sep|> instead, RWKV's marker and
    # MiniMax-M3's namespace token (its "]" would be such a character) only when the format is
    # named, MuseGlimmer's first header without its <|start|>assistant (``to=self<|message|>``)
    # at the start of the text only (the table's ``leading`` opener: no scan looks for it); so is
    # CWM's <tool: ...> tag, which prose mentions too often for a bare name after it to be taken
    # for a call
    del readers[_GIGACHAT_ROLE], readers[_RWKV], readers[RECIPIENT], readers[M3_OPENER], readers[CWM_OPENER]
    return readers


def canonical(format: str | None) -> str | None:
    """The format name ``format`` stands for (aliases resolved). Raises InvalidOptionError."""
    if format is None:
        return None
    name = ALIASES.get(format, format)
    if name not in _BUILDERS:
        raise InvalidOptionError(
            f"unknown tool-call format {format!r}; known formats: {', '.join(FORMATS)} (or None to detect)"
        )
    return name


#: Reasoning spans beyond ``<think>`` (which every format has), by format.
_SPANS: Final = {
    "seed_oss": (SEED_THINK,),
    "gemma4": (GEMMA_THOUGHT,),
    "cohere_command4": (COHERE_THINK,),
    "hy_v3": (HY_THINK,),
}


def _with_extras(
    readers: dict[str, Reader], spans: tuple[tuple[str, str, str], ...], closers: tuple[str, ...]
) -> dict[str, Reader]:
    """``readers`` plus the reasoning spans and the stray closing markers of a format."""
    for closer in closers:
        readers.setdefault(closer, stray_closer(closer))
    markers = tuple(readers)
    for span in (THINK, *spans):
        readers[span[0]] = span_reader(span, markers)
    return readers


#: Openers that are not markers (markerless JSON and Python calls, fences): prose writes them.
_MARKERLESS: Final = ("{", "[", "```")


def _closed_pairs(readers: dict[str, Reader], formats: tuple[str, ...]) -> dict[str, Reader]:
    """``readers`` with every marker of ``formats`` that has closing markers wrapped so that the
    pair around something that is not a call is content or an error, never nothing
    (:func:`~modelplug.toolcalls.stray_markers.closed_pair`)."""
    pairs: dict[str, tuple[str, tuple[str, ...]]] = {}
    openers: dict[str, None] = dict.fromkeys(readers)
    for name in formats:
        for opener in _BUILDERS[name]():
            openers[opener] = None  # also those detection leaves out (MiniMax-M3's token): markers all the same
            if name in CLOSERS and opener not in _MARKERLESS:
                first, closers = pairs.get(opener, (name, ()))
                pairs[opener] = (first, tuple(dict.fromkeys((*closers, *CLOSERS[name]))))
    every_closer = {c for _, closers in pairs.values() for c in closers}
    markers = tuple(lit for lit in openers if lit not in every_closer and lit not in _MARKERLESS[:2])
    for opener, (name, closers) in pairs.items():
        if opener in readers and opener not in closers:
            readers[opener] = closed_pair(readers[opener], opener, name, closers, markers)
    return readers


def _inkling_blocks() -> dict[str, Reader]:
    reader = message_reader(INKLING, calls=False)
    reader.span = inkling.span  # type: ignore[attr-defined]  # the prompt may open a message
    return {**dict.fromkeys(INKLING_OPENERS, reader), **{m: dropped_marker(m) for m in INKLING_CLOSERS}}


#: The channel formats' messages read for reasoning only (``table(..., calls=False)``): a message
#: to a tool is content as written, the others are routed as usual (harmony's analysis channel,
#: MuseGlimmer's ``to=self``, Inkling's thinking blocks are reasoning).
_CHANNELS_ONLY: Final[dict[str, Callable[[], dict[str, Reader]]]] = {
    "harmony": lambda: dict.fromkeys(HARMONY_OPENERS, message_reader(HARMONY, calls=False)),
    "muse_glimmer": lambda: {
        **dict.fromkeys(MUSE_OPENERS, message_reader(MUSE_GLIMMER, calls=False)),
        RECIPIENT: recipient_reader(calls=False),
        **{m: dropped_marker(m) for m in MUSE_CLOSERS},
    },
    "inkling": _inkling_blocks,
}


def _channels_detected() -> dict[str, Reader]:
    """Detection's channel readers for reasoning only (harmony's and MuseGlimmer's shared openers
    routed by one reader, as with calls; MuseGlimmer's bare first header left out, as with calls)."""
    both = message_reader(HARMONY_OR_MUSE, calls=False)
    return {
        **_inkling_blocks(),
        **{m: dropped_marker(m) for m in MUSE_CLOSERS},
        **dict.fromkeys(("<|channel|>", *MUSE_OPENERS), both),
    }


@functools.cache
def table(format: str | None, *, calls: bool = True) -> Table:
    """The opener table of ``format`` (a canonical name, or None for detection); with
    ``calls=False``, only its reasoning spans and channel messages (every tool-call marker is then
    content; a channel message to a tool is content as written)."""
    if not calls:
        if format is None:
            spans = tuple(sorted({s for spans in _SPANS.values() for s in spans}))
            return Table(_with_extras(_channels_detected(), spans, ()), {RECIPIENT: recipient_reader(calls=False)})
        channels = _CHANNELS_ONLY.get(format, dict)()
        return Table(_with_extras(channels, _SPANS.get(format, ()), ()))
    if format is None:
        spans = tuple(sorted({s for spans in _SPANS.values() for s in spans}))
        closers = tuple(sorted({c for closers in CLOSERS.values() for c in closers}))
        return Table(_closed_pairs(_with_extras(_detection(), spans, closers), FORMATS), {RECIPIENT: bare_recipient})
    readers = _with_extras(_BUILDERS[format](), _SPANS.get(format, ()), CLOSERS.get(format, ()))
    return Table(_closed_pairs(readers, (format,)))


def _invoke_tags(prefix: str) -> tuple[str, ...]:
    """The invoke and parameter tags of the MiniMax-M2 family (``prefix``: DSML's ``｜DSML｜``...)."""
    return (f"<{prefix}invoke name=", f"</{prefix}invoke>", f"<{prefix}parameter name=", f"</{prefix}parameter>")


#: The markup a format's reader reads inside its blocks, beyond the openers and closers the tables
#: and :data:`~modelplug.toolcalls.stray_markers.CLOSERS` already name (separators, argument
#: markers, the tokens that end a call). Tokens a reader merely tolerates (Llama's
#: ``<|eot_id|>``, harmony's ``<|constrain|>``) are not markup: without them it reads the same.
_INNER: Final[dict[str, tuple[str, ...]]] = {
    "mistral": ("[ARGS]", "[CALL_ID]"),
    # MiniMax-M3's namespace token, before every tag (parameter elements are named by their key)
    "minimax_m3": ("]<]minimax[>[", "<tool_call>", '<invoke name="', "</invoke>"),
    "xlam": ("[ARGS]", "[CALL_ID]"),
    "llama3_json": ("<|eom_id|>",),
    "llama3_python_tag": ("<|eom_id|>",),
    "internlm2": ("<|plugin|>",),
    "deepseek_v3": ("<｜tool▁call▁begin｜>", "<｜tool▁sep｜>"),
    "deepseek_v31": ("<｜tool▁call▁begin｜>", "<｜tool▁sep｜>"),
    "kimi_k2": ("<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_section_end|>"),
    "qwen3_coder": ("<function=", "<parameter=", "</parameter>"),
    "seed_oss": ("<function=", "</function>", "<parameter=", "</parameter>"),
    "glm45": ("<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"),
    "glm47": ("<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"),
    "iquest_q1": ("<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"),
    "hyperclovax_seed_think": ("<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"),
    "hy_v3": ("<tool_call>", "<tool_sep>", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"),
    "k2_horizon": ("</ifm|tool_calls>", "<ifm|tool_call>", "</ifm|tool_call>", "<ifm|tool_sep>",
                   "<ifm|arg_key>", "</ifm|arg_key>", "<ifm|arg_value>", "</ifm|arg_value>"),
    "minimax_m2": _invoke_tags(""),
    "dots": _invoke_tags(""),
    "deepseek_v32": _invoke_tags("｜DSML｜"),
    "deepseek_v4": _invoke_tags("｜DSML｜"),
    "deepseek_v41": _invoke_tags("｜DSML｜ "),
    "gigachat35": _invoke_tags("｜GCML｜"),
    "muse_glimmer": _invoke_tags("atem:"),
    "step3": ("<｜tool_call_begin｜>", "<｜tool_sep｜>", '<steptml:invoke name="', "</steptml:invoke>",
              '<steptml:parameter name="', "</steptml:parameter>"),
    "kimi_k3": ("<|open|>call", "<|close|>call<|sep|>", '<|open|>argument key="', "<|close|>argument<|sep|>"),
    "solar_open2": ("<|tool_arg:start|>", "<|tool_arg:value|>", "<|tool_arg:end|>"),
    "minicpm5": ("<param name=", "</param>"),
    "plamo3": tuple(
        f"<|plamo:{edge}_tool_{part}:plamo|>" for part in ("request", "name", "arguments") for edge in ("begin", "end")
    ),
    "harmony": ("<|message|>", "<|end|>", "<|call|>", "<|return|>"),
    "gemma4": ('<|"|>',),
    "functiongemma": ("<escape>",),
}


@functools.cache
def markers(format: str | None) -> frozenset[str]:
    """Every marker the readers of ``format`` (a name or alias; None: of every format) read: call
    openers and closers, the markup inside a call (separators, argument markers, Llama's
    ``<|eom_id|>``), reasoning-span tags and dropped markup. A decoder that keeps exactly the
    special tokens found inside these strings hands the parser all it reads.

    Raises:
        InvalidOptionError: an unknown format name.
    """
    name = canonical(format)
    if name is None:
        return frozenset().union(*(markers(n) for n in FORMATS))
    found: set[str] = set(table(name).readers)
    for span in (THINK, *_SPANS.get(name, ())):
        found.update(span[:2])
    found.update(CLOSERS.get(name, ()), _INNER.get(name, ()))
    return frozenset(m for m in found if m.strip())
