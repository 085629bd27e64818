"""Reading replay scripts: files and in-code response lists, turned into lists of chunk dicts."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelplug.errors import InvalidOptionError, ModelLoadError
from modelplug.types import ChatMessage
from modelplug.wire import message_to_wire

__all__ = ["Script", "load_script", "response_chunks"]

Chunk = Mapping[str, Any]
_PIECE = re.compile(r"\s*\S+\s*|\s+")


def _text_chunks(text: str) -> list[Chunk]:
    pieces = _PIECE.findall(text) or [""]
    chunks: list[Chunk] = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": p}}]} for p in pieces]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks


def _message_chunks(message: Mapping[str, Any]) -> list[Chunk]:
    delta: dict[str, Any] = {"role": "assistant"}
    if message.get("reasoning_content"):
        delta["reasoning_content"] = message["reasoning_content"]
    calls = message.get("tool_calls") or []
    chunks: list[Chunk] = []
    if delta.get("reasoning_content"):
        chunks.append({"choices": [{"index": 0, "delta": delta}]})
    content = message.get("content")
    if isinstance(content, str) and content:
        chunks.extend(_text_chunks(content)[:-1])
    for index, call in enumerate(calls):
        function = call.get("function", call)
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        chunks.append(
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": index,
                                    "id": call.get("id") or f"call_replay_{index}",
                                    "type": "function",
                                    "function": {"name": function["name"], "arguments": arguments},
                                }
                            ]
                        },
                    }
                ]
            }
        )
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if calls else "stop"}]})
    if message.get("usage"):
        chunks.append({"choices": [], "usage": dict(message["usage"])})
    return chunks


def response_chunks(response: Any) -> list[Chunk]:
    """The chunk dicts of one scripted response (see the package docstring for the forms).

    Raises:
        InvalidOptionError: the response is none of the accepted forms.
    """
    if isinstance(response, str):
        return _text_chunks(response)
    if isinstance(response, ChatMessage):
        return _message_chunks(message_to_wire(response) | {"usage": None})
    if isinstance(response, Mapping):
        if "chunks" in response:
            return [c for c in response["chunks"] if c != "[DONE]"]
        return _message_chunks(response)
    if isinstance(response, Sequence) and all(isinstance(c, (Mapping, str)) for c in response):
        return [c for c in response if c != "[DONE]"]
    raise InvalidOptionError(
        f"a replay response must be a string, a message dict, a ChatMessage or a list of chunk dicts; got {response!r}"
    )


def _read_file(path: Path, case: str | None) -> list[list[Chunk]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ModelLoadError(
            f"cannot read replay file {str(path)!r}: {error}", provider="replay", original=error
        ) from error
    responses: list[list[Chunk]] = []
    current: list[Chunk] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as error:
            raise ModelLoadError(
                f"replay file {str(path)!r}, line {number}: not JSON ({error})", provider="replay", original=error
            ) from error
        if item == "[DONE]":
            responses.append(current)
            current = []
        elif isinstance(item, Mapping) and "chunks" in item:
            if case is None or item.get("id") == case:
                responses.append(response_chunks(item))
        elif isinstance(item, Mapping):
            current.append(item)
        else:
            raise ModelLoadError(
                f'replay file {str(path)!r}, line {number}: expected a chunk dict, a case or "[DONE]", got {item!r}',
                provider="replay",
            )
    if current:
        responses.append(current)
    if not responses:
        detail = f" with id {case!r}" if case is not None else ""
        raise ModelLoadError(f"replay file {str(path)!r} holds no response{detail}", provider="replay")
    return responses


class Script:
    """The responses of one replay model and a thread-safe cursor over them."""

    def __init__(self, responses: list[list[Chunk]], *, loop: bool) -> None:
        self.responses = responses
        self.loop = loop
        self._next = 0
        self._lock = threading.Lock()

    def next_response(self) -> list[Chunk] | None:
        """The next response's chunks, or ``None`` when the script is exhausted."""
        with self._lock:
            if self._next >= len(self.responses):
                if not self.loop:
                    return None
                self._next = 0
            response = self.responses[self._next]
            self._next += 1
            return response


def load_script(model_id: str, options: Mapping[str, Any]) -> Script:
    """Build the :class:`Script` for ``replay:<model_id>`` and its options.

    Raises:
        ModelLoadError: the file is missing, unreadable or holds no response.
        InvalidOptionError: a scripted response has the wrong shape.
    """
    responses = options.get("responses")
    case = options.get("case")
    if responses is not None:
        if isinstance(responses, (str, Mapping)) or not isinstance(responses, Sequence):
            raise InvalidOptionError("the replay option 'responses' must be a list of responses")
        scripted = [response_chunks(r) for r in responses]
        if not scripted:
            raise InvalidOptionError("the replay option 'responses' is empty")
    else:
        path = Path(model_id).expanduser()
        if not path.is_file():
            raise ModelLoadError(
                f"replay file {model_id!r} not found; give 'replay:<path to a .jsonl file>' or pass responses=[...]",
                provider="replay",
            )
        scripted = _read_file(path, case if isinstance(case, str) else None)
    return Script(scripted, loop=bool(options.get("loop", False)))
