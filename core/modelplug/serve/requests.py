"""Reading a ``POST /v1/chat/completions`` body into messages and generation options.

Every fault of the request is a :class:`RequestError` that names the field; the app answers it
with the OpenAI error JSON and its status (400 for a malformed or ill-typed body).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

import attrs

from modelplug.errors import InvalidOptionError
from modelplug.serve.request_schema import RequestFault, check_request
from modelplug.types import ChatMessage, GenerationOptions, check_tool_choice
from modelplug.wire import error_body, messages_from_input

__all__ = ["ChatRequest", "RequestError", "parse_chat_request"]

#: Fields clients send that change nothing here (accepted and left out).
IGNORED_FIELDS: Final = frozenset(
    {"user", "metadata", "store", "parallel_tool_calls", "service_tier", "logprobs", "stream_options", "n"}
)
#: Standard fields taken as they are (checked by :class:`~modelplug.types.GenerationOptions`).
_STANDARD: Final = ("temperature", "top_p", "seed", "stop", "tools", "tool_choice", "response_format")


@attrs.define(eq=False)
class RequestError(Exception):
    """A request the server refuses: ``status`` (HTTP), ``message``, the OpenAI error ``type``,
    ``code`` and ``param`` (the field at fault), and extra response ``headers``."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        """The OpenAI error JSON of this error."""
        return error_body(self.message, type=self.type, code=self.code, param=self.param)


@attrs.frozen
class ChatRequest:
    """A checked chat-completions request.

    Attributes:
        model: the requested model name (not yet looked up).
        messages: the conversation.
        options: keyword options for :meth:`modelplug.Model.stream` (standard fields, and the
            provider's own under ``extra``), already validated by :class:`GenerationOptions`.
        stream: answer as server-sent events.
        include_usage: send a last chunk with the usage (``stream_options.include_usage``).
    """

    model: str
    messages: list[ChatMessage]
    options: dict[str, Any]
    stream: bool = False
    include_usage: bool = False

    def option_named(self, message: str) -> str | None:
        """The request field an error ``message`` is about: the first of the request's generation
        options (standard or provider ``extra``) that it quotes (``'top_k'`` or ``"top_k"``), or ``None``."""
        names = [key for key in self.options if key != "extra"] + list(self.options.get("extra") or ())
        found = [(at, name) for name in names for q in "'\"" if (at := message.find(f"{q}{name}{q}")) >= 0]
        return min(found)[1] if found else None


def _type_error(field: str, expected: str, value: Any) -> RequestError:
    shown = json.dumps(value)[:80] if not isinstance(value, bytes) else repr(value)[:80]
    return RequestError(400, f"'{field}' must be {expected}, got {shown}", param=field, code="invalid_type")


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    value = None
    for field in ("max_completion_tokens", "max_tokens"):  # the newer name wins
        given = body.get(field)
        if given is None:
            continue
        if not isinstance(given, int) or isinstance(given, bool) or given < 1:
            raise _type_error(field, "a positive integer (tokens)", given)
        value = given if value is None else value
    return value


_FIELD_NAMES: Final = re.compile(r"\b(" + "|".join((*_STANDARD, "max_tokens")) + r"|tool)\b")


def _field_named(message: str) -> str | None:
    """The option a :class:`GenerationOptions` error is about: the first field its message names
    ("tool_choice names 'f', which is not among the tools" is about ``tool_choice``; "a tool
    dict needs ..." about ``tools``)."""
    found = _FIELD_NAMES.search(message)
    if found is None:
        return None
    return "tools" if found.group(1) == "tool" else found.group(1)


def parse_chat_request(raw: bytes) -> ChatRequest:
    """Check a request body and turn it into a :class:`ChatRequest`.

    The body is checked against :data:`~modelplug.serve.request_schema.REQUEST_SCHEMA` first.
    Read: ``model`` (string), ``messages`` (a non-empty list of message objects), ``stream``,
    ``stream_options.include_usage``, ``max_completion_tokens`` or ``max_tokens``, ``temperature``,
    ``top_p``, ``seed``, ``stop``, ``tools``, ``tool_choice``, ``response_format``; ``n`` must be 1;
    :data:`IGNORED_FIELDS` are accepted and dropped; any other field goes to the provider as
    ``GenerationOptions.extra`` (a provider rejects what it does not take).

    Raises:
        RequestError: 400 for a body that is not a JSON object, a missing or ill-typed field (in a
            message too: ``param`` is its place, ``messages[1].content``), or an option
            :class:`GenerationOptions` rejects (the message names the field).
    """
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise RequestError(400, f"the request body is not valid JSON: {error}", code="invalid_json") from None
    try:
        check_request(body)
        messages = messages_from_input(body["messages"])
    except RequestFault as fault:
        raise RequestError(400, str(fault), param=fault.param, code=fault.code) from None
    except InvalidOptionError as error:
        raise RequestError(400, f"'messages': {error}", param="messages") from None
    model: str = body["model"]
    stream = bool(body.get("stream"))
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    # JSON Schema's integer takes 1.0: the integers are checked here
    n = body.get("n")
    if n is not None and (type(n) is not int or n != 1):  # true and 1.0 equal 1, and are not the integer 1
        raise RequestError(400, f"'n' must be 1 (one choice per request), got {json.dumps(n)[:40]}", param="n")
    options: dict[str, Any] = {}
    max_tokens = _max_tokens(body)
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    for field in _STANDARD:
        value = body.get(field)
        if value is not None:
            options[field] = value
    response_format = options.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "text":
        del options["response_format"]  # the default: nothing to ask of the provider
    skip = {"model", "messages", "stream", "max_tokens", "max_completion_tokens", *_STANDARD, *IGNORED_FIELDS}
    extra = {key: value for key, value in body.items() if key not in skip}
    if extra:
        options["extra"] = extra
    try:
        check_tool_choice(GenerationOptions.from_kwargs(options))
    except (TypeError, ValueError) as error:
        named = _field_named(str(error))
        raise RequestError(400, f"invalid option: {error}", param=named, code="invalid_value") from None
    return ChatRequest(model, messages, options, stream, include_usage)
