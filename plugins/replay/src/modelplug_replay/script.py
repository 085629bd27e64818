"""Reading replay scripts: files and in-code response lists, turned into lists of chunk dicts."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelplug.errors import InvalidOptionError, ModelLoadError, ProviderError
from modelplug.types import ChatMessage
from modelplug.wire import delta_from_chunk, message_from_wire

__all__ = ["Script", "load_script", "response_chunks"]

Chunk = Mapping[str, Any]
_PIECE = re.compile(r"\s*\S+\s*|\s+")
#: A line of a replay file is a chunk when it has one of these (a recorded error chunk has ``error``).
_CHUNK_KEYS = frozenset({"choices", "usage", "error"})


def _text_chunks(text: str) -> list[Chunk]:
    pieces = _PIECE.findall(text) or [""]
    chunks: list[Chunk] = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": p}}]} for p in pieces]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return chunks


def _message_chunks(message: ChatMessage) -> list[Chunk]:
    chunks: list[Chunk] = []
    if message.reasoning_content:
        delta = {"role": "assistant", "reasoning_content": message.reasoning_content}
        chunks.append({"choices": [{"index": 0, "delta": delta}]})
    if message.text:
        chunks.extend(_text_chunks(message.text)[:-1])
    for index, call in enumerate(message.tool_calls):
        arguments = call.raw_arguments if call.arguments is None else json.dumps(call.arguments)
        fragment = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": arguments or ""},
        }
        chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [fragment]}}]})
    finish = message.finish_reason or ("tool_calls" if message.tool_calls else "stop")
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if message.usage is not None:
        usage = message.usage
        counts = {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }
        chunks.append({"choices": [], "usage": counts})
    return chunks


def _message(data: Mapping[str, Any]) -> ChatMessage:
    """The assistant message of a message-dict response, checked (tool calls without an id get
    ``call_replay_<n>``, so that replays are reproducible)."""
    calls = data.get("tool_calls")
    if isinstance(calls, (list, tuple)):
        calls = [
            {**call, "id": call.get("id") or f"call_replay_{n}"} if isinstance(call, Mapping) else call
            for n, call in enumerate(calls)
        ]
        data = {**data, "tool_calls": calls}
    return message_from_wire({"role": "assistant", **data})


def _checked(chunks: Any, where: str) -> list[Chunk]:
    """``chunks`` without ``"[DONE]"``, each read once as a stream chunk so that a malformed one
    fails when the script is loaded, not in the middle of a stream.

    Raises:
        InvalidOptionError: ``chunks`` is not a list, or a chunk is malformed (the message says which).
    """
    if isinstance(chunks, (str, Mapping)) or not isinstance(chunks, Sequence):
        raise InvalidOptionError(f"{where}: 'chunks' must be a list of chunk dicts, got {chunks!r:.80}")
    kept = [c for c in chunks if c != "[DONE]"]
    for number, chunk in enumerate(kept):
        try:
            _check_chunk(chunk)
        except InvalidOptionError as error:
            raise InvalidOptionError(f"{where}, chunk {number}: {error}") from error
    return kept


def _check_chunk(chunk: Any) -> None:
    """Read ``chunk`` once as a stream chunk, so that a malformed one fails when the script is
    loaded, not in the middle of a stream; a recorded error chunk is kept (raised when played).

    Raises:
        InvalidOptionError: the chunk is malformed, or a dict that is no chunk (a message dict).
    """
    if isinstance(chunk, Mapping) and not _CHUNK_KEYS & chunk.keys():
        raise InvalidOptionError(
            f"a dict with none of {', '.join(map(repr, sorted(_CHUNK_KEYS)))} is not a chunk "
            f"(keys: {', '.join(map(str, chunk))}); a message dict goes in the 'responses' option"
        )
    with contextlib.suppress(ProviderError):  # a recorded error chunk: raised when played
        delta_from_chunk(chunk)


def response_chunks(response: Any) -> list[Chunk]:
    """The chunk dicts of one scripted response (see the package docstring for the forms).

    Raises:
        InvalidOptionError: the response is none of the accepted forms, or its message fields or
            chunks are malformed (the message says which).
    """
    if isinstance(response, str):
        return _text_chunks(response)
    if isinstance(response, ChatMessage):
        return _message_chunks(response)
    if isinstance(response, Mapping):
        if "chunks" in response:
            label = f"replay case {response['id']!r}" if response.get("id") is not None else "replay response"
            return _checked(response["chunks"], label)
        return _message_chunks(_message(response))
    if isinstance(response, Sequence) and all(isinstance(c, (Mapping, str)) for c in response):
        return _checked(response, "replay response")
    raise InvalidOptionError(
        f"a replay response must be a string, a message dict, a ChatMessage or a list of chunk dicts; got {response!r}"
    )


def _read_file(path: Path, case: str | None) -> list[list[Chunk]]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelLoadError(
            f"cannot read replay file {str(path)!r}: {error}", provider="replay", original=error
        ) from error
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        number = data.count(b"\n", 0, error.start) + 1
        raise ModelLoadError(
            f"replay file {str(path)!r}, line {number}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
            "a replay file holds JSON lines",
            provider="replay",
            original=error,
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
        elif isinstance(item, Mapping):
            try:
                if "chunks" not in item:
                    _check_chunk(item)
                    current.append(item)
                elif case is None or item.get("id") == case:
                    responses.append(response_chunks(item))
            except InvalidOptionError as error:
                raise ModelLoadError(
                    f"replay file {str(path)!r}, line {number}: {error}", provider="replay", original=error
                ) from error
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
        try:
            found, folder = path.is_file(), path.is_dir()
        except (OSError, ValueError) as error:  # a name too long, a NUL byte
            raise ModelLoadError(
                f"cannot use {model_id[:200]!r} as a replay file: {error}", provider="replay", original=error
            ) from error
        if not found:
            what = "is a folder, not a file" if folder else "not found"
            raise ModelLoadError(
                f"replay file {model_id!r} {what}; give 'replay:<path to a .jsonl file>' or pass responses=[...]",
                provider="replay",
            )
        scripted = _read_file(path, case if isinstance(case, str) else None)
    return Script(scripted, loop=bool(options.get("loop", False)))
