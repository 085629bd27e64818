"""Tool calls written as text by open models, read whole or while they stream.

:func:`parse` reads a whole text; :class:`StreamParser` reads it in pieces, hands out content and
calls as soon as they are certain, never leaks half a marker into the content, and always agrees
with :func:`parse`. Every common format (:data:`FORMATS`) is read, one module per family. Users'
guide: ``docs/concepts/tool-calls.md``; how it is built: ``docs/toolcall-parser.md``.

>>> from modelplug.toolcalls import parse
>>> result = parse('Checking.<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>')
>>> result.content, result.tool_calls[0].name, result.tool_calls[0].arguments
('Checking.', 'get_weather', {'city': 'Paris'})
"""

from modelplug.toolcalls._api import ParseResult, StreamParser, ToolLike, detect_format, parse
from modelplug.toolcalls.blob import decode_json_string, looks_like_call, parse_json_blob, tool_call_from_text
from modelplug.toolcalls.formats import ALIASES, FORMATS, markers
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
    "markers",
    "open_span",
    "parse",
    "parse_json_blob",
    "tool_call_from_text",
]
