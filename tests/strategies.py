"""Hypothesis strategies shared by the tests: text cut at random points, streams of deltas, and
tool calls rendered in every format with prose and marker soup around them; and
:func:`every_split`, the exhaustive (not drawn) cuts of a short text."""

from __future__ import annotations

import itertools
import json
import random
import string
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from modelplug.types import ChatMessageStreamDelta, ToolCallDelta, Usage

__all__ = [
    "FAMILY",
    "RENDER",
    "THINK_SPANS",
    "arguments",
    "calls",
    "every_split",
    "json_objects",
    "marker_soup",
    "near_common_chunks",
    "prose",
    "rechunk",
    "splits",
    "streams",
]

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), text)
json_objects = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.recursive(
        json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6
    ),
    max_size=4,
)


@st.composite
def splits(draw: st.DrawFn, text: str, max_cuts: int = 16) -> list[str]:
    """``text`` cut into non-empty pieces at arbitrary points (possibly in the middle of an escape
    or a multi-character marker); ``[]`` for ``""``."""
    if not text:
        return []
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=min(max_cuts, len(text)))))
    bounds = [0, *[c for c in cuts if 0 < c < len(text)], len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if a < b]


def every_split(text: str, random_splits: int = 0) -> list[list[str]]:
    """Ways to stream ``text``, each a list of pieces that join to it: the whole text, every cut in
    two (an empty piece first and last included), one character per piece, and ``random_splits``
    cuts into up to seven pieces, seeded by ``text`` (the same on every run)."""
    pieces = [[text], *([text[:k], text[k:]] for k in range(len(text) + 1)), list(text)]
    rng = random.Random(text)
    for _ in range(random_splits):
        cuts = sorted(rng.sample(range(len(text) + 1), min(6, len(text) + 1)))
        pieces.append([text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)])
    return pieces


@st.composite
def streams(draw: st.DrawFn) -> dict[str, Any]:
    """An expected message (content, reasoning, calls, usage) — the ground truth a stream must aggregate to."""
    calls = draw(st.lists(st.tuples(st.from_regex(r"[a-z_]{1,10}", fullmatch=True), json_objects), max_size=3))
    return {
        "content": draw(st.one_of(st.none(), st.text(min_size=1, max_size=80))),
        "reasoning": draw(st.one_of(st.none(), st.text(min_size=1, max_size=40))),
        "calls": [(f"call_{i}", name, args) for i, (name, args) in enumerate(calls)],
        "usage": draw(st.one_of(st.none(), st.tuples(st.integers(0, 5000), st.integers(1, 5000)))),
    }


@st.composite
def rechunk(draw: st.DrawFn, expected: dict[str, Any], cumulative_usage: bool = False) -> list[ChatMessageStreamDelta]:
    """One of the many delta sequences that carry ``expected``: every string split at random
    points, fragments interleaved in a random order that keeps each field's own order."""
    queues: list[list[ChatMessageStreamDelta]] = []
    if expected["content"]:
        queues.append([ChatMessageStreamDelta(content=p) for p in draw(splits(expected["content"]))])
    if expected["reasoning"]:
        queues.append([ChatMessageStreamDelta(reasoning_content=p) for p in draw(splits(expected["reasoning"]))])
    for index, (call_id, name, args) in enumerate(expected["calls"]):
        raw = json.dumps(args)
        pieces = draw(splits(raw))
        first = ToolCallDelta(index=index, id=call_id, name=name, arguments=pieces[0] if pieces else None)
        queue = [ChatMessageStreamDelta(tool_calls=(first,))]
        queue += [ChatMessageStreamDelta(tool_calls=(ToolCallDelta(index=index, arguments=p),)) for p in pieces[1:]]
        queues.append(queue)
    deltas: list[ChatMessageStreamDelta] = []
    while any(queues):
        live = [q for q in queues if q]
        deltas.append(draw(st.sampled_from(live)).pop(0))
    if expected["usage"] is not None:
        prompt, completion = expected["usage"]
        if cumulative_usage:
            # cumulative snapshots: growing completion counts, the last one is the truth
            steps = sorted(draw(st.lists(st.integers(0, completion), max_size=4)))
            for count in steps:
                position = draw(st.integers(0, len(deltas)))
                deltas.insert(position, ChatMessageStreamDelta(usage=Usage(prompt, count)))
        deltas.append(ChatMessageStreamDelta(usage=Usage(prompt, completion)))
    return deltas


# tool calls in every format

Calls = list[tuple[str, dict[str, Any]]]

names = st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True)
identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True)

#: Prose that cannot be mistaken for a call or a marker (no brackets, tags, quotes or ';').
prose = st.text(alphabet=string.ascii_letters + string.digits + " \n.,!?-:'", max_size=40).map(str.strip)

_unicode = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
_safe_text = st.text(
    alphabet=string.ascii_letters + string.digits + " \t\n.,;:!?-_/'\"()[]{}=&%$#@*+|\\`~", max_size=20
)
_floats = st.floats(allow_nan=False, allow_infinity=False, width=32)
#: Closing markers of the JSON-bodied formats: inside a JSON string they are data (issue 12, kind 2).
_CLOSERS = (
    "</tool>", "</tool_call>", "</tool_calls>", "</longcat_tool_call>", "</tools>", "</TOOLCALL>", "```",
    "<|action_end|>", "<|END_ACTION|>", "<|tool_call_end|>", "<|tool_calls_section_end|>", "<｜tool▁call▁end｜>",
    "<|plamo:end_tool_arguments:plamo|>", "<|tools_suffix|>", "</ifm|tool_call>", "</dots_function_call>",
)  # fmt: skip
_markup = st.builds(lambda a, m, b: a + m + b, _unicode, st.sampled_from(_CLOSERS), _unicode)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**9), 10**9) | _floats | _unicode | _markup,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_unicode, inner, max_size=3),
    max_leaves=6,
)
_py_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**9), 10**9) | _floats | _unicode,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(identifiers, inner, max_size=3),
    max_leaves=6,
)
_xml_values = _safe_text.filter(
    lambda v: "<" not in v and not v.startswith(("\n", "\r")) and not v.endswith(("\n", "\r"))
)
_gemma_values = st.recursive(
    st.booleans() | st.integers(-(10**6), 10**6) | st.text(alphabet=string.ascii_letters + " .,:-'\"{}[]", max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(identifiers, inner, max_size=3),
    max_leaves=5,
)

#: The argument domain each format can carry without a schema.
_DOMAINS = {
    "json": st.dictionaries(_unicode, _json_values, max_size=4),
    "python": st.dictionaries(identifiers, _py_values, max_size=4),
    "xml": st.dictionaries(identifiers, _xml_values, max_size=3),
    "gemma": st.dictionaries(identifiers, _gemma_values, max_size=3),
    # harmony bodies end at the next special token, so its JSON must not spell one
    "harmony": st.dictionaries(_unicode, _json_values, max_size=4).filter(lambda a: "<|" not in json.dumps(a)),
    # MuseGlimmer's ATEM parameters: named by identifiers, each value written as JSON (no tags in it)
    "atem": st.dictionaries(identifiers, _json_values, max_size=3).filter(lambda a: "<" not in json.dumps(a)),
}


def arguments(family: str) -> st.SearchStrategy[dict[str, Any]]:
    return _DOMAINS[family]


def calls(family: str) -> st.SearchStrategy[Calls]:
    return st.lists(st.tuples(names, arguments(family)), min_size=1, max_size=3)


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _obj(name: str, args: dict[str, Any], key: str = "arguments") -> str:
    return _j({"name": name, key: args})


def _py(name: str, args: dict[str, Any]) -> str:
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def _gemma(value: Any, quote: str = '<|"|>') -> str:
    if isinstance(value, str):
        return quote + value + quote
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ",".join(_gemma(v, quote) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_gemma(v, quote)}" for k, v in value.items()) + "}"
    return str(value)


def _hermes(c: Calls) -> str:
    return "".join(f"<tool_call>\n{_obj(n, a)}\n</tool_call>\n" for n, a in c)


def _list(c: Calls, key: str = "arguments") -> str:
    return "[" + ", ".join(_obj(n, a, key) for n, a in c) + "]"


def _qwen(c: Calls, open_: str = "<tool_call>", close: str = "</tool_call>") -> str:
    out = ""
    for n, a in c:
        params = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in a.items())
        out += f"{open_}\n<function={n}>\n{params}</function>\n{close}\n"
    return out


def _glm(c: Calls, sep: str, tag: str = "tool_call", value: Callable[[Any], str] = str) -> str:
    out = ""
    for n, a in c:
        pairs = "".join(f"<arg_key>{k}</arg_key>{sep}<arg_value>{value(v)}</arg_value>{sep}" for k, v in a.items())
        out += f"<{tag}>{n}{sep}{pairs}</{tag}>{sep}"
    return out


def _dsml(c: Calls, block: str = "function_calls", prefix: str = "｜DSML｜") -> str:
    invokes = "".join(
        f'<{prefix}invoke name="{n}">\n'
        + "".join(f'<{prefix}parameter name="{k}" string="true">{v}</{prefix}parameter>\n' for k, v in a.items())
        + f"</{prefix}invoke>\n"
        for n, a in c
    )
    return f"<{prefix}{block}>\n{invokes}</{prefix}{block}>"


def _kimi_k3(c: Calls) -> str:
    body = "".join(
        f'<|open|>call tool="{n}" index="{i}"<|sep|>'
        + "".join(f'<|open|>argument key="{k}" type="string"<|sep|>{v}<|close|>argument<|sep|>' for k, v in a.items())
        + "<|close|>call<|sep|>"
        for i, (n, a) in enumerate(c, 1)
    )
    return f"<|open|>tools<|sep|>{body}<|close|>tools<|sep|>"


def _hy_v3(c: Calls) -> str:
    # an even number of calls: with the suffix Hy's tokenizers add to every tag
    x = ":opensource" if len(c) % 2 == 0 else ""
    body = "".join(
        f"<tool_call{x}>{n}<tool_sep{x}>"
        + "".join(f"<arg_key{x}>{k}</arg_key{x}><arg_value{x}>{v}</arg_value{x}>" for k, v in a.items())
        + f"</tool_call{x}>"
        for n, a in c
    )
    return f"<tool_calls{x}>{body}</tool_calls{x}>"


def _k2_horizon(c: Calls) -> str:
    def call(i: int, n: str, a: dict[str, Any]) -> str:
        if i % 3 == 1:  # the JSON form
            return f"<ifm|tool_call>{_obj(n, a)}</ifm|tool_call>"
        typed = "<ifm|arg_type>string</ifm|arg_type>" if i % 3 == 2 else ""  # the typed XML form
        pairs = "".join(
            f"<ifm|arg_key>{k}</ifm|arg_key>{typed}<ifm|arg_value>{v}</ifm|arg_value>" for k, v in a.items()
        )
        return f"<ifm|tool_call>{n}{pairs}</ifm|tool_call>"

    body = "\n".join(call(i, n, a) for i, (n, a) in enumerate(c))
    return f"<ifm|tool_calls>{body}</ifm|tool_calls>"


def _minimax_m3(c: Calls) -> str:
    ns = "]<]minimax[>["
    invokes = "".join(
        f'{ns}<invoke name="{n}">' + "".join(f"{ns}<{k}>{v}{ns}</{k}>" for k, v in a.items()) + f"{ns}</invoke>\n"
        for n, a in c
    )
    return f"{ns}<tool_call>\n{invokes}{ns}</tool_call>"


def _cohere(c: Calls) -> str:
    actions = ",\n    ".join(
        _j({"tool_call_id": str(i), "tool_name": n, "parameters": a}) for i, (n, a) in enumerate(c)
    )
    return f"<|START_ACTION|>[\n    {actions}\n]<|END_ACTION|>"


def _minimax_m2(c: Calls) -> str:
    invokes = "".join(
        f'<invoke name="{n}">\n'
        + "".join(f'<parameter name="{k}">{v}</parameter>\n' for k, v in a.items())
        + "</invoke>\n"
        for n, a in c
    )
    return f"<minimax:tool_call>\n{invokes}</minimax:tool_call>"


def _step3(c: Calls) -> str:
    body = "".join(
        f'<｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke name="{n}">'
        + "".join(f'<steptml:parameter name="{k}">{v}</steptml:parameter>' for k, v in a.items())
        + "</steptml:invoke><｜tool_call_end｜>"
        for n, a in c
    )
    return f"<｜tool_calls_begin｜>{body}<｜tool_calls_end｜>"


def _mistral(c: Calls) -> str:
    if len(c) % 2:
        return "".join(f"[TOOL_CALLS]{n}{_j(a)}" for n, a in c)
    return "[TOOL_CALLS]" + _list(c)


def _harmony(c: Calls, before: str, after: str) -> str:
    out = f"<|channel|>analysis<|message|>thinking<|end|><|start|>assistant<|channel|>final<|message|>{before}<|end|>"
    for n, a in c:
        out += f"<|start|>assistant<|channel|>commentary to=functions.{n} <|constrain|>json<|message|>{_j(a)}<|call|>"
    return out + f"<|start|>assistant<|channel|>final<|message|>\n{after}<|return|>"


def _atem(c: Calls) -> str:
    invokes = "".join(
        f'<atem:invoke name="{n}">\n'
        + "".join(f'<atem:parameter name="{k}">{_j(v)}</atem:parameter>\n' for k, v in a.items())
        + "</atem:invoke>\n"
        for n, a in c
    )
    return f"<atem:function_calls>\n{invokes}</atem:function_calls>"


def _muse_glimmer(c: Calls, before: str, after: str) -> str:
    """A reasoning message, the text before, the calls (one tool message for an even number of
    calls, else one message per call), the text after."""
    out = f" to=self<|message|>thinking<|eom|><|start|>assistant to=user<|message|>{before}<|eom|>"
    groups = [c] if len(c) % 2 == 0 else [[call] for call in c]
    for group in groups:
        out += f"<|start|>assistant to={group[0][0]}<|message|>{_atem(group)}<|eom|>"
    return out + f"<|start|>assistant to=user<|message|>\n{after}<|eot|>"


def _inkling(c: Calls, before: str, after: str) -> str:
    """A thinking block, the text before, one block per call (every other one with its name in the
    header), the text after."""
    out = f"<|content_thinking|>thinking<|end_message|><|message_model|><|content_text|>{before}<|end_message|>"
    for i, (n, a) in enumerate(c):
        header = n if i % 2 else ""
        out += f"<|message_model|>{header}<|content_invoke_tool_json|>{_j({'name': n, 'args': a})}<|end_message|>"
    return out + f"<|message_model|><|content_text|>\n{after}<|content_model_end_sampling|>"


_BLOCKS: dict[str, Callable[[Calls], str]] = {
    "hermes": _hermes,
    "smollm2": lambda c: f"<tool_call>{_list(c)}</tool_call>",
    "granite": lambda c: f"<|tool_call|>{_list(c)}",
    "internlm2": lambda c: "".join(
        f"<|action_start|><|plugin|>\n{_obj(n, a, 'parameters')}<|action_end|>" for n, a in c
    ),
    "jamba": lambda c: f"<tool_calls>{_list(c)}</tool_calls>",
    "hunyuan_a13b": lambda c: f"<tool_calls>{_list(c)}</tool_calls>",
    "minimax": lambda c: "<tool_calls>\n" + "\n".join(_obj(n, a) for n, a in c) + "\n</tool_calls>",
    "phi4_mini_json": lambda c: f"functools{_list(c)}",
    "mistral": _mistral,
    "xlam": lambda c: f"```json\n{_list(c)}\n```" if len(c) % 2 else _list(c),
    "bare_json": lambda c: _obj(*c[0]) if len(c) == 1 else f"```json\n{_list(c)}\n```",
    "llama3_json": lambda c: "; ".join(_obj(n, a, "parameters") for n, a in c),
    "llama3_python_tag": lambda c: "<|python_tag|>" + "; ".join(_py(n, a) for n, a in c),
    "pythonic": lambda c: "[" + ", ".join(_py(n, a) for n, a in c) + "]",
    "llama4_pythonic": lambda c: "<|python_start|>[" + ", ".join(_py(n, a) for n, a in c) + "]<|python_end|>",
    "lfm2": lambda c: "<|tool_call_start|>[" + ", ".join(_py(n, a) for n, a in c) + "]<|tool_call_end|>",
    "olmo3": lambda c: "<function_calls>" + "\n".join(_py(n, a) for n, a in c) + "</function_calls>",
    "qwen3_coder": _qwen,
    "seed_oss": lambda c: _qwen(c, "<seed:tool_call>", "</seed:tool_call>"),
    "glm45": lambda c: _glm(c, "\n"),
    "glm47": lambda c: _glm(c, ""),
    "minimax_m2": _minimax_m2,
    "deepseek_v32": _dsml,
    "step3": _step3,
    "deepseek_v3": lambda c: (
        "<｜tool▁calls▁begin｜>"
        + "".join(
            f"<｜tool▁call▁begin｜>function<｜tool▁sep｜>{n}\n```json\n{_j(a)}\n```<｜tool▁call▁end｜>" for n, a in c
        )
        + "<｜tool▁calls▁end｜>"
    ),
    "deepseek_v31": lambda c: (
        "<｜tool▁calls▁begin｜>"
        + "".join(f"<｜tool▁call▁begin｜>{n}<｜tool▁sep｜>{_j(a)}<｜tool▁call▁end｜>" for n, a in c)
        + "<｜tool▁calls▁end｜>"
    ),
    "kimi_k2": lambda c: (
        "<|tool_calls_section_begin|>"
        + "".join(
            f"<|tool_call_begin|>functions.{n}:{i}<|tool_call_argument_begin|>{_j(a)}<|tool_call_end|>"
            for i, (n, a) in enumerate(c)
        )
        + "<|tool_calls_section_end|>"
    ),
    "gemma4": lambda c: "".join(f"<|tool_call>call:{n}{_gemma(a)}<tool_call|>" for n, a in c),
    "functiongemma": lambda c: "".join(
        f"<start_function_call>call:{n}{_gemma(a, '<escape>')}<end_function_call>" for n, a in c
    ),
    "deepseek_v4": lambda c: _dsml(c, "tool_calls"),
    "deepseek_v41": lambda c: _dsml(c, "calls", "｜DSML｜ "),
    "gigachat35": lambda c: _dsml(c, "tool_calls", "｜GCML｜"),
    "kimi_k3": _kimi_k3,
    "hy_v3": _hy_v3,
    "cohere_command4": _cohere,
    "longcat": lambda c: "".join(f"<longcat_tool_call>\n{_obj(n, a)}\n</longcat_tool_call>" for n, a in c),
    "gigachat3": lambda c: "".join(
        f"<|message_sep|>\n\nfunction call<|role_sep|>\n{_obj(n, a)}" if i % 2 else f"<|function_call|>{_obj(n, a)}"
        for i, (n, a) in enumerate(c)
    ),
    "qwen25_coder": lambda c: f"<tools>\n{_obj(*c[0]) if len(c) == 1 else _list(c)}\n</tools>",
    "nemotron_json": lambda c: f"<TOOLCALL>{_list(c)}</TOOLCALL>",
    "granite_20b_fc": lambda c: "\n".join(f"<function_call> {_obj(n, a)}" for n, a in c),
    "apertus": lambda c: "<|tools_prefix|>[" + ", ".join(_j({n: a}) for n, a in c) + "]<|tools_suffix|>",
    "step_audio_2": lambda c: "".join(f"<tool_call>function\n{n}\n{_j(a)}</tool_call>" for n, a in c),
    "dots": lambda c: _minimax_m2(c).replace("minimax:tool_call", "dots_function_call"),
    "solar_open2": lambda c: "\n".join(
        f"<|tool_call:start|>{n}\n"
        + "".join(f"<|tool_arg:start|>{k}<|tool_arg:value|>{v}<|tool_arg:end|>\n" for k, v in a.items())
        + "<|tool_call:end|>"
        for n, a in c
    ),
    "iquest_q1": lambda c: _glm(c, "", "iquest_tool_call"),
    "hyperclovax_seed_think": lambda c: _glm(c, "\n", value=_j),
    "k2_horizon": _k2_horizon,
    "cwm": lambda c: "\n".join(f"<tool: function>\n{n} {_j(a)}\n</tool>" for n, a in c),
    "minimax_m3": _minimax_m3,
    "rwkv": lambda c: "\n".join(f"**Tool Call:**\n```json\n{_obj(n, a)}\n```" for n, a in c),
    "plamo3": lambda c: "<|plamo:begin_tool_requests:plamo|>"
    + "".join(
        f"<|plamo:begin_tool_request:plamo|><|plamo:begin_tool_name:plamo|>{n}<|plamo:end_tool_name:plamo|>"
        f"<|plamo:begin_tool_arguments:plamo|>{_j(a)}<|plamo:end_tool_arguments:plamo|><|plamo:end_tool_request:plamo|>"
        for n, a in c
    )
    + "<|plamo:end_tool_requests:plamo|>",
    "minicpm5": lambda c: "\n".join(
        f'<function name="{n}">' + "".join(f'<param name="{k}">{v}</param>' for k, v in a.items()) + "</function>"
        for n, a in c
    ),
}

#: The argument domain of each format.
FAMILY = {
    **dict.fromkeys(
        ["hermes", "smollm2", "granite", "internlm2", "jamba", "hunyuan_a13b", "minimax", "phi4_mini_json"], "json"
    ),
    **dict.fromkeys(["mistral", "xlam", "bare_json", "llama3_json", "deepseek_v3", "deepseek_v31", "kimi_k2"], "json"),
    **dict.fromkeys(["llama3_python_tag", "pythonic", "llama4_pythonic", "lfm2", "olmo3"], "python"),
    **dict.fromkeys(["qwen3_coder", "seed_oss", "glm45", "glm47", "minimax_m2", "step3", "deepseek_v32"], "xml"),
    **dict.fromkeys(["cohere_command4", "longcat", "gigachat3", "qwen25_coder", "nemotron_json"], "json"),
    **dict.fromkeys(["deepseek_v4", "deepseek_v41", "gigachat35", "kimi_k3", "hy_v3"], "xml"),
    **dict.fromkeys(["granite_20b_fc", "apertus", "step_audio_2", "plamo3", "rwkv", "cwm"], "json"),
    **dict.fromkeys(["dots", "solar_open2", "minicpm5", "iquest_q1", "hyperclovax_seed_think", "k2_horizon"], "xml"),
    "minimax_m3": "xml",
    "gemma4": "gemma",
    "functiongemma": "gemma",
    "harmony": "harmony",
    "muse_glimmer": "atem",
    "inkling": "harmony",
}


#: The channel formats, whose text before and after the calls is a message of its own.
_CHANNELS: dict[str, Callable[[Calls, str, str], str]] = {"muse_glimmer": _muse_glimmer, "inkling": _inkling}


def _render(format: str, c: Calls, before: str, after: str) -> str:
    if format == "harmony":
        return _harmony(c, before, after)
    if format in _CHANNELS:
        return _CHANNELS[format](c, before, after)
    return f"{before}\n{_BLOCKS[format](c)}\n{after}"


#: format -> render(calls, before, after) -> model text.
RENDER: dict[str, Callable[[Calls, str, str], str]] = {
    name: (lambda c, b, a, _name=name: _render(_name, c, b, a)) for name in FAMILY
}

_MARKERS = [
    "<tool_call>", "</tool_call>", "<tool_calls>", "</tool_calls>", "<|tool_call|>", "[TOOL_CALLS]", "[ARGS]",
    "[CALL_ID]", "<|python_tag|>", "<|python_start|>", "<|python_end|>", "<|tool_call_start|>", "<|tool_call_end|>",
    "<function_calls>", "</function_calls>", "<function=", "</function>", "<parameter=", "</parameter>",
    "<seed:tool_call>", "</seed:tool_call>", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>",
    "<minimax:tool_call>", "</minimax:tool_call>", '<invoke name="', "</invoke>", '<parameter name="',
    "<｜tool_calls_begin｜>", "<｜tool_call_begin｜>", "<｜tool_sep｜>", "<｜tool_call_end｜>", "<｜tool_calls_end｜>",
    '<steptml:invoke name="', "</steptml:invoke>", '<steptml:parameter name="', "</steptml:parameter>",
    "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>",
    "<|tool_calls_section_begin|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>",
    "<|tool_calls_section_end|>", "<|action_start|>", "<|plugin|>", "<|action_end|>", "<|start|>", "<|channel|>",
    "<|message|>", "<|end|>", "<|call|>", "<|return|>", "<|constrain|>", "to=functions.f", "<|tool_call>",
    "<tool_call|>", '<|"|>', "call:", "functools[", "```", "```json\n", "<think>", "</think>", "{", "}", "[", "]",
    "(", ")", '"', "'", "'''", ":", ",", ";", "=", "\\", "\n", " ", '"name"', '"arguments"', '"parameters"',
    '"f"', "f", "get_weather", "true", "None", "1", "-2.5e3", "x=", "**", "analysis", "final", "commentary",
    "<start_function_call>", "<end_function_call>", "<escape>", "<seed:think>", "</seed:think>", "<|eom_id|>",
    "<|eot_id|>", ".call(", "<｜DSML｜function_calls>", '<｜DSML｜invoke name="',
    '<｜DSML｜parameter name="', '" string="false">', "</｜DSML｜parameter>", "</｜DSML｜invoke>", "brave_search",
    "<|channel>", "<channel|>", "thought\n", "<｜DSML｜tool_calls>", "<｜DSML｜ calls>", '<｜DSML｜ invoke name="',
    "<｜GCML｜tool_calls>", "<|open|>tools<|sep|>", '<|open|>call tool="', '<|open|>argument key="',
    "<|close|>argument<|sep|>", "<|close|>call<|sep|>", "<|open|>response<|sep|>", "<tool_sep>",
    "<|START_ACTION|>", "<|END_ACTION|>", '"tool_name"', "<longcat_tool_call>", "<|function_call|>",
    "<|message_sep|>", "function call<|role_sep|>", "<tools>", "</tools>", "<TOOLCALL>", "</TOOLCALL>", "</s>",
    "<function_call> ", "<|tools_prefix|>", "<|tools_suffix|>", "<tool_call>function\n", "<dots_function_call>",
    "<|tool_call:start|>", "<|tool_arg:start|>", "<|tool_arg:value|>", "<|tool_arg:end|>", "<|tool_call:end|>",
    '<function name="', '<param name="', "</param>", "<|plamo:begin_tool_requests:plamo|>",
    "<ifm|tool_calls>", "<ifm|tool_call>", "<ifm|arg_key>", "<iquest_tool_call>", "</iquest_tool_call>",
    "<|plamo:begin_tool_name:plamo|>", "<|plamo:end_tool_name:plamo|>",
    "<|plamo:begin_tool_arguments:plamo|>",
    "<ifm|arg_type>", "</ifm|arg_type>", "</ifm|tool_call>", "<tool_calls:x>", "<tool_call:x>", "</tool_call:x>",
    "<think:x>", "</think:x>", "<tool: function>\n", "</tool>", "]<]minimax[>[", "]<]minimax[>[<tool_call>",
    '<invoke name="f">', "<a>", "</a>", "<item>",
    "<|plamo:begin_tool_arguments:plamo|>", "<|eom|>", "<|eot|>", "to=self", "to=user", " to=f",
    "<atem:function_calls>", "</atem:function_calls>", '<atem:invoke name="', "</atem:invoke>",
    '<atem:parameter name="', "</atem:parameter>", "<|message_model|>", "<|content_thinking|>",
    "<|content_text|>", "<|content_invoke_tool_json|>", "<|end_message|>", "<|content_model_end_sampling|>",
    '"args"',
]  # fmt: skip

#: Text made of the formats' own markers and JSON / Python fragments, with some random text.
marker_soup = st.lists(st.sampled_from(_MARKERS) | st.text(max_size=4), max_size=40).map("".join)


# -- chunk dicts of the common shapes, and their near misses (wire.delta_from_chunk's fast path) --

_odd = st.sampled_from([None, "", 0, 1, -1, True, 1.0, "0", " 1", [], {}, ["x"], {"x": 1}])
_short_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6)
_fragment = st.fixed_dictionaries(
    {},
    optional={
        "index": st.integers(0, 2) | _odd,
        "id": _short_text | _odd,
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {}, optional={"name": _short_text | _odd, "arguments": _short_text | _odd | json_objects}
        )
        | _odd,
    },
)
_common_delta = st.fixed_dictionaries(
    {},
    optional={
        "role": st.just("assistant"),
        "content": st.none() | _short_text | _odd | st.just([{"type": "text", "text": "x"}]),
        "reasoning_content": st.none() | _short_text | _odd,
        "reasoning": st.none() | _short_text,
        "refusal": st.none() | _short_text | _odd,
        "tool_calls": st.lists(_fragment, max_size=2) | _fragment | _odd,
        "function_call": st.none() | st.fixed_dictionaries({"name": _short_text, "arguments": _short_text}),
        "annotations": st.just([]),
    },
)
_choice = st.fixed_dictionaries(
    {},
    optional={
        "index": st.just(0) | _odd,
        "delta": _common_delta | _odd,
        "message": st.fixed_dictionaries({"content": _short_text}),
        "finish_reason": st.none() | st.sampled_from(["stop", "tool_calls", ""]) | _odd,
    },
)
_usage_node = st.fixed_dictionaries(
    {}, optional={"prompt_tokens": st.integers(0, 9) | _odd, "completion_tokens": st.integers(0, 9)}
)


@st.composite
def near_common_chunks(draw: st.DrawFn) -> Any:
    """A ``chat.completion.chunk`` dict, mostly one choice with a delta of one field (text, reasoning,
    refusal, one tool-call fragment), with odd values, extra fields, several or no choices, usage
    and error objects mixed in: the shapes a fast path must read exactly as the general reader."""
    chunk: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk"}
    choices = draw(st.lists(_choice, min_size=1, max_size=2) | st.just([]) | _odd)
    chunk["choices"] = choices
    if draw(st.booleans()):
        chunk["usage"] = draw(st.none() | _usage_node | _odd)
    if draw(st.integers(0, 9)) == 0:
        chunk["error"] = draw(st.just({"message": "overloaded", "type": "server_error"}) | _short_text)
    return chunk


#: The reasoning spans of each format (opener as written, closer): ``<think>`` everywhere, plus
#: Seed-OSS's and Gemma 4's own. The reasoning of harmony, MuseGlimmer and Inkling is a message of
#: its own (see tests/toolcalls/test_reasoning.py and each format's tests).
THINK_SPANS: dict[str, list[tuple[str, str]]] = {
    name: [("<think>", "</think>")]
    + ([("<seed:think>", "</seed:think>")] if name == "seed_oss" else [])
    + ([("<|channel>thought\n", "<channel|>")] if name == "gemma4" else [])
    + ([("<|START_THINKING|>", "<|END_THINKING|>")] if name == "cohere_command4" else [])
    for name in FAMILY
    if name not in ("harmony", *_CHANNELS)
}
