"""Tool calls written as text by open models, read whole or while they stream.

Many backends return a model's tool calls as plain text in the model's own format
(``<tool_call>{...}</tool_call>``, ``[TOOL_CALLS]f{...}``, ``[f(a=1)]``, ...). This package reads
every common format (:data:`FORMATS`), detects which one a text uses, and does it incrementally:
:class:`StreamParser` hands out content as it arrives and tool calls as soon as they are
recognisable, without ever leaking half a marker into the content, and always agrees with
:func:`parse` on the same text.

>>> from modelplug.toolcalls import parse
>>> result = parse('Checking.<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>')
>>> result.content, result.tool_calls[0].name, result.tool_calls[0].arguments
('Checking.', 'get_weather', {'city': 'Paris'})

One module per format family: :mod:`~modelplug.toolcalls.json_tags` (hermes, granite, ...),
:mod:`~modelplug.toolcalls.bare_json`, :mod:`~modelplug.toolcalls.mistral`,
:mod:`~modelplug.toolcalls.pythonic`, :mod:`~modelplug.toolcalls.xml_tags` (qwen3_coder, GLM, ...),
:mod:`~modelplug.toolcalls.deepseek`, :mod:`~modelplug.toolcalls.kimi`,
:mod:`~modelplug.toolcalls.harmony`, :mod:`~modelplug.toolcalls.gemma` (Gemma 4, FunctionGemma),
:mod:`~modelplug.toolcalls.llama_builtins`; reasoning spans in :mod:`~modelplug.toolcalls.reasoning`,
stray closing markers in :mod:`~modelplug.toolcalls.stray_markers`; the registry and detection are
in :mod:`~modelplug.toolcalls.formats`.
"""

from modelplug.toolcalls._api import ParseResult, StreamParser, ToolLike, detect_format, parse
from modelplug.toolcalls.blob import decode_json_string, looks_like_call, parse_json_blob, tool_call_from_text
from modelplug.toolcalls.formats import ALIASES, FORMATS
from modelplug.toolcalls.reasoning import open_span

__all__ = [
    "ALIASES",
    "FORMATS",
    "ParseResult",
    "StreamParser",
    "ToolLike",
    "decode_json_string",
    "detect_format",
    "looks_like_call",
    "open_span",
    "parse",
    "parse_json_blob",
    "tool_call_from_text",
]
