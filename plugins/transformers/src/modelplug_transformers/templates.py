"""Turning messages (and tools) into prompt token ids with the model's chat template.

Tools go to the template when it renders them; otherwise a system-prompt fallback asks for the
``"hermes"`` format (``<tool_call>{json}</tool_call>``). A tokenizer without a chat template gets a
plain ``role: content`` transcript.

A prompt that ends inside a reasoning span (``<think>\n``, thinking models) is found by
:func:`open_reasoning_span`, so the provider starts the answer with that opener.

Details: docs/providers/transformers.md, "Chat templates and tools".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from modelplug.errors import CapabilityError, InvalidOptionError
from modelplug.tools import tool_to_wire
from modelplug.types import ChatMessage, Tool, forced_tool_name

__all__ = [
    "FALLBACK_FORMAT",
    "FORMAT_MARKERS",
    "TemplateInfo",
    "inspect_template",
    "open_reasoning_span",
    "render_messages",
]

#: Markers that identify a tool-call format in a chat template or among the special tokens, most
#: specific first: (marker, format name understood by :mod:`modelplug.toolcalls`).
FORMAT_MARKERS: Final[tuple[tuple[str, str], ...]] = (
    ("<|content_invoke_tool_json|>", "inkling"),
    ("<atem:function_calls>", "muse_glimmer"),
    ("<function=", "qwen3_coder"),
    ("<|tool_call_begin|>", "kimi_k2"),
    ("<｜tool▁calls▁begin｜>", "deepseek_v3"),
    ("<arg_key>", "glm45"),
    ("<|tool_call_start|>", "lfm2"),
    ("<|channel|>", "harmony"),
    ("[TOOL_CALLS]", "mistral"),
    ("<|python_tag|>", "llama3_json"),
    ("<tool_call>", "hermes"),
)
#: The format the system-prompt fallback asks for.
FALLBACK_FORMAT: Final = "hermes"

_PROBE_MESSAGES: Final = ({"role": "user", "content": "Hi"},)
_PROBE_TOOL: Final = {
    "type": "function",
    "function": {
        "name": "modelplug_probe",
        "description": "probe",
        "parameters": {"type": "object", "properties": {"x": {"type": "string"}}},
    },
}


@attrs.frozen
class TemplateInfo:
    """What a tokenizer's chat template can do.

    Attributes:
        has_template: the tokenizer has a chat template.
        renders_tools: the template renders ``tools`` (else the system-prompt fallback is used).
        tool_call_format: the tool-call format detected, ``"hermes"`` for the fallback, or ``None``
            when the template renders tools in a format not recognised (the parser then detects it).
    """

    has_template: bool
    renders_tools: bool
    tool_call_format: str | None


def _template_source(tokenizer: Any) -> str:
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, Mapping):
        return "\n".join(str(v) for v in template.values())
    return template if isinstance(template, str) else ""


def _special_tokens(tokenizer: Any) -> str:
    try:
        added = tokenizer.get_added_vocab()
    except Exception:
        added = {}
    return "\n".join(added)


def detect_format(text: str) -> str | None:
    """The first format of :data:`FORMAT_MARKERS` whose marker occurs in ``text``, or ``None``."""
    for marker, name in FORMAT_MARKERS:
        if marker in text:
            return name
    return None


def inspect_template(tokenizer: Any) -> TemplateInfo:
    """Probe ``tokenizer``'s chat template: does it render tools, and in which tool-call format?"""
    source = _template_source(tokenizer)
    if not source:
        return TemplateInfo(has_template=False, renders_tools=False, tool_call_format=FALLBACK_FORMAT)
    try:
        plain = tokenizer.apply_chat_template(list(_PROBE_MESSAGES), tokenize=False, add_generation_prompt=True)
        with_tools = tokenizer.apply_chat_template(
            list(_PROBE_MESSAGES), tools=[_PROBE_TOOL], tokenize=False, add_generation_prompt=True
        )
        renders_tools = plain != with_tools
    except Exception:
        renders_tools = False
    if not renders_tools:
        return TemplateInfo(has_template=True, renders_tools=False, tool_call_format=FALLBACK_FORMAT)
    found = detect_format(source) or detect_format(_special_tokens(tokenizer))
    return TemplateInfo(has_template=True, renders_tools=True, tool_call_format=found)


def _text(message: ChatMessage) -> str:
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            parts.append(str(part.get("text", "")))
        else:
            raise CapabilityError(
                f"transformers text models take text content only; got a {kind!r} content part",
                provider="transformers",
                capability="vision",
            )
    return "".join(parts)


def _call_text(name: str, arguments: Any) -> str:
    return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False) + "</tool_call>"


def _arguments(call: Any) -> Any:
    if call.arguments is not None:
        return call.arguments
    return call.raw_arguments or {}


def _forced_instructions(tools: Sequence[Tool], tool_choice: Any) -> str:
    """A forced call's instructions: which tools, in a line each. Constrained decoding writes the
    format and keeps the arguments to the schema, and a small model given the schemas and the format
    as well copies their shape into the values (measured on the embedded model: ``17*23`` becomes
    ``"17*23}}</tool_call>..."``)."""
    name = forced_tool_name(tool_choice)
    chosen = [t for t in tools if t.name == name] if name else list(tools)
    if len(chosen) == 1:
        return f"Answer by calling the tool {chosen[0].name}: {chosen[0].description}"
    return "Answer by calling one of these tools:\n" + "\n".join(f"- {t.name}: {t.description}" for t in chosen)


def _fallback_instructions(tools: Sequence[Tool], tool_choice: Any) -> str:
    if tool_choice == "required" or forced_tool_name(tool_choice):
        return _forced_instructions(tools, tool_choice)
    schemas = "\n".join(json.dumps(tool_to_wire(t), ensure_ascii=False) for t in tools)
    lines = [
        "You can call tools. Their JSON schemas are listed between <tools> and </tools>:",
        "<tools>",
        schemas,
        "</tools>",
        "To call a tool, answer with one line per call, exactly in this form:",
        '<tool_call>{"name": "<tool name>", "arguments": {<the arguments as a JSON object>}}</tool_call>',
        "Then stop: the results come back in <tool_response> blocks. When no tool is needed, answer normally.",
    ]
    return "\n".join(lines)


def _native_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    rendered: list[dict[str, Any]] = []
    for message in messages:
        role = "system" if message.role == "developer" else message.role
        item: dict[str, Any] = {"role": role, "content": _text(message)}
        if message.tool_calls:
            item["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": _arguments(c)}}
                for c in message.tool_calls
            ]
        if message.tool_call_id is not None:
            item["tool_call_id"] = message.tool_call_id
        if message.name is not None:
            item["name"] = message.name
        rendered.append(item)
    return rendered


def _fallback_dicts(messages: Sequence[ChatMessage], tools: Sequence[Tool], tool_choice: Any) -> list[dict[str, Any]]:
    names = {c.id: c.name for m in messages for c in m.tool_calls}
    rendered: list[dict[str, Any]] = []
    for message in messages:
        role = "system" if message.role == "developer" else message.role
        text = _text(message)
        if role == "assistant" and message.tool_calls:
            calls = "\n".join(_call_text(c.name, _arguments(c)) for c in message.tool_calls)
            text = f"{text}\n{calls}" if text else calls
        if role == "tool":
            name = message.name or names.get(message.tool_call_id or "") or ""
            block = (
                "<tool_response>" + json.dumps({"name": name, "content": text}, ensure_ascii=False) + "</tool_response>"
            )
            if rendered and rendered[-1].get("_tool_results"):
                rendered[-1]["content"] += "\n" + block
                continue
            rendered.append({"role": "user", "content": block, "_tool_results": True})
            continue
        rendered.append({"role": role, "content": text})
    for item in rendered:
        item.pop("_tool_results", None)
    if tools and tool_choice != "none":
        instructions = _fallback_instructions(tools, tool_choice)
        if rendered and rendered[0]["role"] == "system":
            first = rendered[0]["content"]
            rendered[0]["content"] = f"{first}\n\n{instructions}" if first else instructions
        else:
            rendered.insert(0, {"role": "system", "content": instructions})
    return rendered


def _transcript(messages: list[dict[str, Any]]) -> str:
    return "".join(f"{m['role']}: {m['content']}\n\n" for m in messages) + "assistant:"


def render_messages(
    tokenizer: Any,
    info: TemplateInfo,
    messages: Sequence[ChatMessage],
    tools: Sequence[Tool] = (),
    tool_choice: Any = None,
) -> list[int]:
    """The prompt token ids for ``messages`` (and ``tools``), ending with the assistant's turn.

    Raises:
        CapabilityError: a message holds an image (or other non-text) content part.
        InvalidOptionError: the chat template rejects the conversation (the template's message is kept).
    """
    if info.renders_tools:
        dicts = _native_dicts(messages)
        template_tools = [tool_to_wire(t) for t in tools] if tools and tool_choice != "none" else None
    else:
        dicts = _fallback_dicts(messages, tools, tool_choice)
        template_tools = None
    if not info.has_template:
        ids = tokenizer(_transcript(dicts), add_special_tokens=True)["input_ids"]
        return list(ids)
    try:
        ids = tokenizer.apply_chat_template(
            dicts, tools=template_tools, add_generation_prompt=True, tokenize=True, return_dict=False
        )
    except Exception as error:
        raise InvalidOptionError(
            f"the model's chat template rejected the messages: {type(error).__name__}: {error}"
        ) from error
    if isinstance(ids, Mapping):  # some tokenizers return a BatchEncoding whatever the flag
        ids = ids["input_ids"]
    if ids and isinstance(ids[0], list):
        ids = ids[0]
    return [int(i) for i in ids]


#: Prompt tokens decoded to find a reasoning span left open (its opener and layout fit in them).
_TAIL_TOKENS: Final = 16


def open_reasoning_span(tokenizer: Any, prompt: Sequence[int], format: str | None) -> str:
    """The opener of the reasoning span the rendered ``prompt`` (token ids) ends inside, else ``""``.

    Only the last tokens are decoded, special tokens kept (``<think>`` is one in Qwen3's
    vocabulary); the rule is :func:`modelplug.toolcalls.open_span`'s.
    """
    from modelplug.toolcalls import open_span

    tail = tokenizer.decode(list(prompt[-_TAIL_TOKENS:]), skip_special_tokens=False)
    return open_span(tail, format) or ""
