"""Prompts: chat templates, content flattening, tools rendered by the template or by the fallback."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from modelplug.errors import CapabilityError
from modelplug.types import ChatMessage, Tool, ToolCall
from modelplug_transformers.templates import (
    FALLBACK_FORMAT,
    TemplateInfo,
    _fallback_dicts,
    _native_dicts,
    detect_format,
    inspect_template,
    render_messages,
)

WEATHER = Tool("get_weather", "Weather in a city", {"type": "object", "properties": {"city": {"type": "string"}}})
CALC = Tool("calc", "Evaluate arithmetic", {"type": "object", "properties": {"expression": {"type": "string"}}})
CALL = ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})
CONVERSATION = [
    ChatMessage(role="user", content="Weather in Paris?"),
    ChatMessage(role="assistant", content=None, tool_calls=(CALL,)),
    ChatMessage(role="tool", content="18 C", tool_call_id="call_1"),
]


def test_detect_format() -> None:
    assert detect_format("{% if tools %}<tool_call>{% endif %}") == "hermes"
    assert detect_format("<tool_call>\n<function=name>") == "qwen3_coder"
    assert detect_format("[TOOL_CALLS]") == "mistral"
    assert detect_format("<|python_tag|>") == "llama3_json"
    assert detect_format("plain") is None
    # the channel formats: their templates also write harmony-like <|start|> / <|message|> tokens
    assert detect_format("<|start|>assistant to={{ name }}<|message|><atem:function_calls>") == "muse_glimmer"
    assert detect_format("<|message_model|>{{ name }}<|content_invoke_tool_json|>") == "inkling"


def test_fallback_puts_tools_in_the_system_prompt() -> None:
    dicts = _fallback_dicts([ChatMessage(role="user", content="Hi")], [WEATHER], None)
    assert [d["role"] for d in dicts] == ["system", "user"]
    system = dicts[0]["content"]
    assert "<tools>" in system and "<tool_call>" in system
    schemas = system.split("<tools>\n")[1].split("\n</tools>")[0]
    assert json.loads(schemas)["function"]["name"] == "get_weather"
    with_system = _fallback_dicts(
        [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="Hi")], [WEATHER], "required"
    )
    # a forced call (constrained decoding writes the format): the tools, a line each, no schemas
    assert with_system[0]["content"] == "Be brief.\n\nAnswer by calling the tool get_weather: Weather in a city"
    two = _fallback_dicts([ChatMessage(role="user", content="Hi")], [WEATHER, CALC], {"function": {"name": "calc"}})
    assert two[0]["content"].endswith("Answer by calling the tool calc: Evaluate arithmetic")
    assert len(_fallback_dicts([ChatMessage(role="user", content="Hi")], [WEATHER], "none")) == 1


def test_fallback_writes_calls_and_results_as_text() -> None:
    dicts = _fallback_dicts([*CONVERSATION, ChatMessage(role="tool", content="dry", tool_call_id="call_1")], [], None)
    assert [d["role"] for d in dicts] == ["user", "assistant", "user"]
    assert dicts[1]["content"] == '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
    results = dicts[2]["content"].split("\n")
    assert [json.loads(r.removeprefix("<tool_response>").removesuffix("</tool_response>")) for r in results] == [
        {"name": "get_weather", "content": "18 C"},
        {"name": "get_weather", "content": "dry"},
    ]


def test_native_dicts_keep_tool_structure() -> None:
    dicts = _native_dicts([ChatMessage(role="developer", content="x"), *CONVERSATION])
    assert dicts[0]["role"] == "system"
    assert dicts[2]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": {"city": "Paris"}}
    assert dicts[2]["content"] == ""
    assert dicts[3] == {"role": "tool", "content": "18 C", "tool_call_id": "call_1"}


def test_list_content_is_flattened_and_images_refused() -> None:
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert _native_dicts([ChatMessage(role="user", content=parts)])[0]["content"] == "ab"
    with pytest.raises(CapabilityError):
        _native_dicts([ChatMessage(role="user", content=[{"type": "image_url", "image_url": {"url": "x"}}])])


# The ones below use the embedded model's real tokenizer.

TOOL_TEMPLATE = (
    "{%- if tools %}<|im_start|>system\nTools: {% for t in tools %}{{ t | tojson }}{% endfor %}\n"
    "Call them as <tool_call>{json}</tool_call><|im_end|>\n{% endif %}"
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n"
    "{%- if m.tool_calls %}{% for c in m.tool_calls %}<tool_call>{{ c.function | tojson }}</tool_call>{% endfor %}"
    "{%- else %}{{ m.content }}{% endif %}<|im_end|>\n{% endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="module")
def smol_tokenizer() -> Any:
    from transformers import AutoTokenizer

    from modelplug_transformers.embedded import converted_model_dir

    return AutoTokenizer.from_pretrained(converted_model_dir())


@pytest.mark.slow
def test_smollm2_template_ignores_tools_so_the_fallback_is_used(smol_tokenizer: Any) -> None:
    info = inspect_template(smol_tokenizer)
    assert info == TemplateInfo(has_template=True, renders_tools=False, tool_call_format=FALLBACK_FORMAT)
    plain = render_messages(smol_tokenizer, info, CONVERSATION[:1])
    with_tools = render_messages(smol_tokenizer, info, CONVERSATION[:1], [WEATHER])
    assert len(with_tools) > len(plain)
    text = smol_tokenizer.decode(with_tools)
    assert "<tools>" in text and "get_weather" in text and text.endswith("<|im_start|>assistant\n")
    history = smol_tokenizer.decode(render_messages(smol_tokenizer, info, CONVERSATION, [WEATHER]))
    assert '<tool_call>{"name": "get_weather"' in history and "<tool_response>" in history


@pytest.mark.slow
def test_a_template_that_renders_tools_gets_them(smol_tokenizer: Any) -> None:
    tokenizer = copy.deepcopy(smol_tokenizer)
    tokenizer.chat_template = TOOL_TEMPLATE
    info = inspect_template(tokenizer)
    assert info == TemplateInfo(has_template=True, renders_tools=True, tool_call_format="hermes")
    text = tokenizer.decode(render_messages(tokenizer, info, CONVERSATION, [WEATHER]))
    assert text.startswith("<|im_start|>system\nTools: ")
    assert '"name": "get_weather"' in text and "<tool_call>" in text and "<tools>" not in text
    no_tools = tokenizer.decode(render_messages(tokenizer, info, CONVERSATION, [WEATHER], tool_choice="none"))
    assert "Tools:" not in no_tools


@pytest.mark.slow
def test_without_a_template_a_transcript_is_used(smol_tokenizer: Any) -> None:
    tokenizer = copy.deepcopy(smol_tokenizer)
    tokenizer.chat_template = None
    info = inspect_template(tokenizer)
    assert not info.has_template
    text = tokenizer.decode(render_messages(tokenizer, info, [ChatMessage(role="user", content="Hi")]))
    assert text.endswith("user: Hi\n\nassistant:")


@pytest.mark.slow
def test_incremental_decoding_matches_whole_decoding(smol_tokenizer: Any) -> None:
    from modelplug_transformers.decoding import IncrementalDecoder

    text = "Café 🎨 naïve — 你好, wörld!\n\n  indented   spaces and emoji 👩‍💻 done."
    ids = smol_tokenizer(text, add_special_tokens=False)["input_ids"] + [smol_tokenizer.eos_token_id]
    decoder = IncrementalDecoder(smol_tokenizer)
    pieces = [decoder.add([i]) for i in ids]
    pieces.append(decoder.finish())
    assert "".join(pieces) == smol_tokenizer.decode(ids, skip_special_tokens=True) == text
    assert not any("\ufffd" in p for p in pieces)


@pytest.mark.slow
def test_decoding_keeps_special_tool_call_markers_and_drops_end_and_role_tokens(smol_tokenizer: Any) -> None:
    """vLLM decodes with special tokens kept for the tool parser; so does this decoder: markers
    made special (as [TOOL_CALLS] and <tool_call> are in Mistral's and Qwen's tokenizers) reach the
    text, the end and role tokens do not."""
    from modelplug_transformers.decoding import IncrementalDecoder

    tokenizer = copy.deepcopy(smol_tokenizer)
    markers = ["[TOOL_CALLS]", "<tool_call>", "</tool_call>", "<|channel|>"]
    tokenizer.add_special_tokens({"additional_special_tokens": markers})
    marker_ids = [tokenizer.convert_tokens_to_ids(m) for m in markers]
    assert all(i in tokenizer.all_special_ids for i in marker_ids)
    start, end = tokenizer.convert_tokens_to_ids("<|im_start|>"), tokenizer.convert_tokens_to_ids("<|im_end|>")
    body = tokenizer('{"name": "f", "arguments": {}}', add_special_tokens=False)["input_ids"]
    ids = [start, marker_ids[1], *body, marker_ids[2], marker_ids[0], marker_ids[3], end, tokenizer.eos_token_id]
    decoder = IncrementalDecoder(tokenizer)
    text = "".join(decoder.add([i]) for i in ids) + decoder.finish()
    assert text == '<tool_call>{"name": "f", "arguments": {}}</tool_call>[TOOL_CALLS]<|channel|>'
