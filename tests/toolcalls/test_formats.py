# ruff: noqa: E501
# (a table of model outputs, one per line)
"""Edge cases of single formats beyond the shared fixtures, each checked whole and at every split,
with its own format and with detection."""

from __future__ import annotations

from typing import Any

import pytest

from tests.toolcalls._support import norm, same, stream, whole

W = {"city": "Paris"}

# (format, text, content, calls); calls None means ToolCallParseError is expected
CASES: list[tuple[str, str, str | None, list[tuple[str, dict[str, Any]]] | None]] = [
    ("hermes", '<tool_call>{"name": "f", "arguments": "{\\"a\\": 1}"}</tool_call>', None, [("f", {"a": 1})]),
    (
        "hermes",
        "<tool_call>{'name': 'f', 'arguments': {'a': True, 'b': None}}</tool_call>",
        None,
        [("f", {"a": True, "b": None})],
    ),
    ("hermes", '<tool_call>\n{"name": "f", "parameters": {"city": "Paris"}}\n', None, [("f", W)]),
    ("hermes", '<tool_call>{"name": "a"}\n{"name": "b"}</tool_call>', None, [("a", {}), ("b", {})]),
    ("hermes", '<tool_call>{"name": "f", "arguments": 3}</tool_call>', None, None),
    ("hermes", '<tool_call>{"arguments": {}}</tool_call>', None, None),
    ("granite", '<|tool_call|>[{"name": "f", "arguments": {"city": "Paris"}}] Done.', "Done.", [("f", W)]),
    (
        "internlm2",
        "<|action_start|><|interpreter|>print(1)<|action_end|>",
        "<|action_start|><|interpreter|>print(1)<|action_end|>",
        [],
    ),
    (
        "minimax",
        '<tool_calls>\n{"name": "a", "arguments": {}}, {"name": "b", "arguments": {}}\n</tool_calls>',
        None,
        [("a", {}), ("b", {})],
    ),
    ("mistral", '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}', None, [("get_weather", W)]),
    ("mistral", "The [TOOL_CALLS] token starts calls.", "The [TOOL_CALLS] token starts calls.", []),
    ("mistral", "[TOOL_CALLS]f[ARGS]", None, None),
    (
        "llama3_json",
        '<|python_tag|>{"name": "f", "parameters": {"city": "Paris"}}; {"name": "g", "parameters": {}}',
        None,
        [("f", W), ("g", {})],
    ),
    ("llama3_python_tag", '<|python_tag|>f(city="Paris"); g()', None, [("f", W), ("g", {})]),
    ("llama3_python_tag", "<|python_tag|>[f(city='Paris')]", None, [("f", W)]),
    ("pythonic", "Use [f(city='Paris')] now", "Use now", [("f", W)]),
    ("pythonic", "See [the docs] and [1].", "See [the docs] and [1].", []),
    ("pythonic", "[f(city='Paris'", None, None),
    ("llama4_pythonic", "<|python_start|>[f(city='Paris')]<|python_end|>Done", "Done", [("f", W)]),
    ("lfm2", '<|tool_call_start|>[{"name": "f", "arguments": {"city": "Paris"}}]<|tool_call_end|>', None, [("f", W)]),
    (
        "lfm2",
        "<|tool_call_start|>[f(x=1, y=(1, 2), z={1, 2})]<|tool_call_end|>",
        None,
        [("f", {"x": 1, "y": [1, 2], "z": [1, 2]})],
    ),
    ("olmo3", "<function_calls>[f(city='Paris'), g()]</function_calls>", None, [("f", W), ("g", {})]),
    ("olmo3", "<function_calls>f(city=</function_calls>", None, None),
    ("qwen3_coder", "<function=f>\n<parameter=city>\nParis\n</parameter>\n</function>", None, [("f", W)]),
    ("qwen3_coder", "<tool_call>\n<function=f>\n<parameter=city>\nParis\n</function>\n</tool_call>", None, [("f", W)]),
    ("qwen3_coder", "<tool_call>\n<function=f>\n<parameter=city>\nPar", None, None),
    (
        "seed_oss",
        "<seed:tool_call>\n<function=f>\n<parameter=city>Paris</parameter>\n</function>\n</seed:tool_call>",
        None,
        [("f", W)],
    ),
    (
        "glm47",
        "<tool_call>f<arg_key>city</arg_key><arg_value> Paris </arg_value></tool_call>",
        None,
        [("f", {"city": " Paris "})],
    ),
    (
        "minimax_m2",
        '<minimax:tool_call><invoke name="a"></invoke><invoke name="b"><parameter name="city">Paris</parameter></invoke></minimax:tool_call>',
        None,
        [("a", {}), ("b", W)],
    ),
    ("step3", "<｜tool_calls_begin｜>junk", None, None),
    (
        "deepseek_v31",
        '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>{"city": "Paris"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
        None,
        [("function", W)],
    ),
    (
        "deepseek_v3",
        '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜>',
        None,
        [("f", W)],
    ),
    (
        "kimi_k2",
        '<|tool_call_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_call_section_end|>',
        None,
        [("f", W)],
    ),
    (
        "kimi_k2",
        "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{bad}<|tool_call_end|><|tool_calls_section_end|> ok",
        None,
        None,
    ),
    (
        "harmony",
        '<|start|>assistant to=functions.f<|channel|>commentary json<|message|>{"city": "Paris"}<|call|>',
        None,
        [("f", W)],
    ),
    ("harmony", "<|channel|>commentary<|message|>Checking first.<|end|>", "Checking first.", []),
    ("harmony", '<|channel|>commentary to=functions.f<|message|>{"city": "Par', None, None),
    (
        "muse_glimmer",
        '<|start|>assistant to=self<|message|>Look it up.<|eom|><|start|>assistant to=f<|message|><atem:function_calls><atem:invoke name="f"><atem:parameter name="city">Paris</atem:parameter></atem:invoke></atem:function_calls><|eom|><|start|>assistant to=user<|message|>Done.<|eot|>',
        "Done.",
        [("f", W)],
    ),
    ("muse_glimmer", "<|start|>assistant to=user<|message|>No tools needed.<|eot|>", "No tools needed.", []),
    (
        "muse_glimmer",
        '<|start|>assistant to=f<|message|><atem:function_calls><atem:invoke name="f"><atem:parameter name="city">Par',
        None,
        None,
    ),
    ("muse_glimmer", "<|start|>assistant to=f<|message|><atem:function_calls>oops<|eom|>", None, None),
    (
        "inkling",
        '<|message_model|><|content_thinking|>Look it up.<|end_message|><|message_model|>f<|content_invoke_tool_json|>{"name": "f", "args": {"city": "Paris"}}<|end_message|><|message_model|><|content_text|>Done.<|end_message|>',
        "Done.",
        [("f", W)],
    ),
    ("inkling", "<|message_model|><|content_text|>No tools needed.<|end_message|>", "No tools needed.", []),
    ("inkling", '<|content_invoke_tool_json|>{"name": "f", "args": {"city": "Par', None, None),
    ("inkling", '<|content_invoke_tool_json|>{"name": "f", "args": [1]}<|end_message|>', None, None),
    (
        "gemma4",
        '<|tool_call>call:f{city:<|"|>Paris<|"|>,opts:{deep:[1,2.5,true,null]}}<tool_call|>',
        None,
        [("f", {"city": "Paris", "opts": {"deep": [1, 2.5, True, None]}})],
    ),
    ("gemma4", '<|tool_call>call:f{city:<|"|>Par', None, None),
    ("gemma4", "Gemma writes <|tool_call> tokens.", "Gemma writes <|tool_call> tokens.", []),
    ("phi4_mini_json", "I used functools.partial here.", "I used functools.partial here.", []),
    ("bare_json", 'Config: {"name": "app", "arguments": ["a"]}', 'Config: {"name": "app", "arguments": ["a"]}', []),
    ("bare_json", '```\n{"name": "f", "arguments": {"city": "Paris"}}\n```', None, [("f", W)]),
    ("bare_json", '```python\nx = {"name": "f"}\n```', '```python\nx = {"name": "f"}\n```', []),
    (
        "xlam",
        '[{"name": "f", "arguments": {"city": "Paris"}}, 3]',
        '[{"name": "f", "arguments": {"city": "Paris"}}, 3]',
        [],
    ),
]


@pytest.mark.parametrize("mode", ["format", "detect"])
@pytest.mark.parametrize(("format", "text", "content", "calls"), CASES)
def test_case(format: str, text: str, content: str | None, calls: Any, mode: str) -> None:
    chosen = format if mode == "format" else None
    got = whole(text, chosen)
    if calls is None:
        assert got[2] is not None, "expected ToolCallParseError"
    else:
        assert got[2] is None
        assert got[1] == calls
        assert norm(got[0]) == norm(content)
    for k in range(len(text) + 1):
        assert same(stream([text[:k], text[k:]], chosen), got), k
    assert same(stream(list(text), chosen), got)


def test_markers_name_what_each_format_reads() -> None:
    from modelplug.errors import InvalidOptionError
    from modelplug.toolcalls import FORMATS, markers

    assert markers("qwen3") == markers("hermes") >= {"<tool_call>", "</tool_call>", "<think>", "</think>"}
    assert {"<|python_tag|>", "<|eom_id|>"} <= markers("llama3_json")
    assert "<|eot_id|>" not in markers("llama3_json")  # tolerated after a call, never needed
    assert {"<|tool_call_begin|>", "<|tool_call_argument_begin|>"} <= markers("kimi_k2")
    assert markers(None) == frozenset().union(*(markers(f) for f in FORMATS))
    roles = {"<|im_start|>", "<|im_end|>", "<|im_middle|>", "<|END_OF_TURN_TOKEN|>", "<|eot_id|>", "<end_of_turn>"}
    assert not any(role in marker for role in roles for marker in markers(None))
    with pytest.raises(InvalidOptionError):
        markers("nope")
