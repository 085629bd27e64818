"""The OpenAI-compatible ASGI app: :func:`build_app` serves loaded models under names.

Routes: ``POST /v1/chat/completions`` (JSON or server-sent events), ``GET /v1/models``,
``GET /health``. docs/serving.md describes the behaviour; the request rules are in
:mod:`modelplug.serve.requests`, the chunks come from :mod:`modelplug.wire`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import anyio
import anyio.abc
import attrs
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from modelplug.errors import InvalidOptionError, ModelplugError, wrap_provider_exception
from modelplug.secrets import redact
from modelplug.serve.requests import ChatRequest, RequestError, parse_chat_request
from modelplug.serve.shutdown import SHUTDOWN_GRACE_S, ServerStop
from modelplug.serve.streams import ServedStream, open_stream
from modelplug.wire import (
    delta_to_chunk,
    error_body,
    error_to_wire,
    message_to_response,
    mint_tool_call_id,
    usage_to_chunk,
)

if TYPE_CHECKING:
    from modelplug._model import Model
    from modelplug.types import ChatMessageStreamDelta

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_CONCURRENCY",
    "LOGGER_NAME",
    "SHUTDOWN_GRACE_S",
    "ServedModel",
    "build_app",
]

#: Largest request body accepted, in bytes (413 above it).
DEFAULT_MAX_BODY_BYTES: Final = 4 * 1024 * 1024
#: Requests one model serves at once (429 with ``Retry-After`` above it).
DEFAULT_MAX_CONCURRENCY: Final = 64
#: The standard-library logger of the one line per request.
LOGGER_NAME: Final = "modelplug.serve"

_log = logging.getLogger(LOGGER_NAME)


@attrs.define(eq=False)
class ServedModel:
    """A loaded model served under ``name``: at most ``max_concurrency`` requests run at once
    (``active`` counts them), each streaming through :meth:`modelplug.Model.astream`."""

    name: str
    model: Model
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    active: int = 0

    def __attrs_post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {self.max_concurrency}")


def _json(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(dict(body), status_code=status, headers=dict(headers or {}))


def _error_response(error: BaseException) -> JSONResponse:
    if isinstance(error, RequestError):
        return _json(error.status, error.body(), error.headers)
    status, body, headers = error_to_wire(error)
    return _json(status, body, headers)


class _BearerAuth:
    """Pure ASGI middleware: ``/v1/...`` requests need ``Authorization: Bearer <key>`` (constant-time
    compare); ``/health`` stays open for load balancers."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self._key = key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1"):
            given = b""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    given = value
                    break
            scheme, _, token = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self._key):
                response = _json(
                    401,
                    error_body(
                        "a valid API key is required: send 'Authorization: Bearer <key>'",
                        type="invalid_request_error",
                        code="invalid_api_key",
                    ),
                    {"www-authenticate": "Bearer"},
                )
                _log_request(scope, None, 401, "rejected", time.perf_counter(), None)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _log_request(
    scope: Scope,
    model: str | None,
    status: int,
    outcome: str,
    start: float,
    stream: ServedStream | None,
    *,
    stream_mode: bool | None = None,
    **fields: Any,
) -> None:
    """The one line per request: model, status, outcome, tokens, time (never a header or a key)."""
    if not _log.isEnabledFor(logging.INFO):
        return
    usage = stream.usage if stream is not None else None
    parts = {
        "method": scope.get("method"),
        "path": scope.get("path"),
        "model": model,
        "status": status,
        "outcome": outcome,
        "stream": stream_mode,
        "prompt_tokens": None if usage is None else usage.prompt_tokens,
        "completion_tokens": None if usage is None else usage.completion_tokens,
        "duration_ms": round((time.perf_counter() - start) * 1000, 1),
        **fields,
    }
    _log.info(redact("request " + " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)))


def _too_large(limit: int) -> RequestError:
    return RequestError(413, f"the request body is larger than the limit of {limit} bytes", code="request_too_large")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


async def _watched(receive: Receive, stop: ServerStop, work: Callable[[], Awaitable[None]]) -> str | None:
    """Run ``work()``, cancelled if the client goes away (returns ``"gone"``) or the server's
    shutdown grace period ends (``"cut"``) first; ``None`` when it ran to its end.

    The body is read: the next message is the disconnect. ``work`` must not raise (exceptions
    would come out of the task group as an ``ExceptionGroup``): it keeps its failure itself.
    """
    ended: str | None = None

    async def watch(group: anyio.abc.TaskGroup) -> None:
        nonlocal ended
        while (await receive())["type"] != "http.disconnect":
            pass
        ended = ended or "gone"
        group.cancel_scope.cancel()

    async with anyio.create_task_group() as group:

        def cut() -> None:
            nonlocal ended
            ended = ended or "cut"
            group.cancel_scope.cancel()

        group.start_soon(watch, group)
        stop.add(cut)
        try:
            await work()
        finally:
            stop.discard(cut)
        group.cancel_scope.cancel()
    return ended


def _stopping_error(why: str = f"no answer within its {SHUTDOWN_GRACE_S:g} s grace period") -> RequestError:
    return RequestError(
        503,
        f"the server is shutting down: {why}; retry the request",
        type="server_error",
        code="server_shutting_down",
    )


class _Handler:
    """The chat-completions endpoint over a fixed set of served models."""

    def __init__(
        self, models: Mapping[str, ServedModel], max_body_bytes: int, retry_after_s: int, stop: ServerStop
    ) -> None:
        self.models = models
        self.max_body_bytes = max_body_bytes
        self.retry_after_s = retry_after_s
        self.stop = stop

    def _admit(self, chat: ChatRequest) -> ServedModel:
        if self.stop.stopping:  # a request on a connection still open: nothing new starts
            raise _stopping_error("no new request is started")
        served = self.models.get(chat.model)
        if served is None:
            known = ", ".join(sorted(self.models))
            raise RequestError(
                404, f"model {chat.model!r} is not served here; served: {known}", code="model_not_found", param="model"
            )
        if "response_format" in chat.options and not served.model.capabilities.structured_output:
            raise RequestError(
                400,
                f"model {chat.model!r} does not declare structured output: 'response_format' cannot be honoured",
                param="response_format",
                code="unsupported_parameter",
            )
        if served.active >= served.max_concurrency:
            raise RequestError(
                429,
                f"model {chat.model!r} has its limit of {served.max_concurrency} requests running; retry later",
                type="rate_limit_error",
                code="rate_limit_exceeded",
                headers={"retry-after": str(self.retry_after_s)},
            )
        served.active += 1
        return served

    async def chat(self, request: Request) -> Response:
        """``POST /v1/chat/completions``."""
        start = time.perf_counter()
        scope = request.scope
        try:
            chat = parse_chat_request(await _read_body(request, self.max_body_bytes))
            served = self._admit(chat)
        except RequestError as error:
            _log_request(scope, None, error.status, "rejected", start, None, error=error.code or error.type)
            return _error_response(error)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                served.active -= 1

        stream: ServedStream | None = None
        first: ChatMessageStreamDelta | None = None
        failure: Exception | None = None

        async def first_delta() -> None:  # a slow or silent backend: the client may leave meanwhile
            nonlocal first, failure
            try:
                first = await anext(opened, None)
            except Exception as error:
                failure = error

        try:
            stream = opened = await open_stream(served.model, chat.messages, chat.options)
            ended = await _watched(request.receive, self.stop, first_delta)
            if ended is not None:
                release()
                with anyio.CancelScope(shield=True):
                    await stream.aclose()
                if ended == "cut":
                    _log_request(scope, chat.model, 503, "cut_short", start, stream, stream_mode=chat.stream)
                    return _error_response(_stopping_error())
                _log_request(scope, chat.model, 499, "cancelled", start, stream, stream_mode=chat.stream)
                return Response(status_code=499)  # nobody reads it
            if failure is not None:
                raise failure
        except Exception as error:
            release()
            if stream is not None:
                await stream.aclose()
            failure = (
                error if isinstance(error, ModelplugError) else wrap_provider_exception(served.model.provider, error)
            )
            status, body, headers = error_to_wire(failure)
            if isinstance(failure, InvalidOptionError) and body["error"]["param"] is None:
                body["error"]["param"] = chat.option_named(str(failure))  # e.g. a provider refusing 'foo'
            # before any delta: a 4xx is the request refused (a bad option), not a generation that failed
            outcome = "rejected" if 400 <= status < 500 else "error"
            _log_request(scope, chat.model, status, outcome, start, stream, error=type(failure).__name__)
            return _json(status, body, headers)
        except BaseException:
            release()
            if stream is not None:
                with anyio.CancelScope(shield=True):
                    await stream.aclose()
            raise
        if chat.stream:
            events = self._events(scope, chat, served, stream, first, start, release)
            return EventSourceResponse(
                events,
                sep="\n",
                headers={"cache-control": "no-cache"},
                # a signal sse-starlette sees (uvicorn in the main thread): it cancels a stream still
                # open a second after our own cut, which has ended it with an error event by then
                shutdown_grace_period=SHUTDOWN_GRACE_S + 1,
            )
        return await self._whole(request, chat, served, stream, start, release)

    async def _whole(
        self, request: Request, chat: ChatRequest, served: ServedModel, stream: ServedStream, start: float, release: Any
    ) -> Response:
        failure: BaseException | None = None

        async def drain() -> None:
            nonlocal failure
            try:
                async for _ in stream:
                    pass
            except Exception as error:
                failure = error

        try:
            ended = await _watched(request.receive, self.stop, drain)
        finally:
            with anyio.CancelScope(shield=True):
                await stream.aclose()
            release()
        scope = request.scope
        if ended == "cut":
            _log_request(scope, chat.model, 503, "cut_short", start, stream, stream_mode=False)
            return _error_response(_stopping_error())
        if ended == "gone":
            _log_request(scope, chat.model, 499, "cancelled", start, stream, stream_mode=False)
            return Response(status_code=499)  # nobody reads it
        if failure is not None:
            if not isinstance(failure, ModelplugError):
                failure = wrap_provider_exception(served.model.provider, failure)  # type: ignore[arg-type]
            status = error_to_wire(failure)[0]
            _log_request(
                scope, chat.model, status, "error", start, stream, stream_mode=False, error=type(failure).__name__
            )
            return _error_response(failure)
        _log_request(scope, chat.model, 200, "ok", start, stream, stream_mode=False)
        body = message_to_response(stream.message, model=chat.model, id=_completion_id(), created=int(time.time()))
        return JSONResponse(body)

    async def _events(
        self,
        scope: Scope,
        chat: ChatRequest,
        served: ServedModel,
        stream: ServedStream,
        first: ChatMessageStreamDelta | None,
        start: float,
        release: Any,
    ) -> AsyncIterator[bytes]:
        id_, created, model = _completion_id(), int(time.time()), chat.model
        outcome = "cancelled"
        error_name = None
        calls: set[int] = set()  # indexes of the tool calls started so far
        cut = _StreamCut()
        self.stop.add(cut)
        try:
            if first is not None:
                first = _with_call_ids(_without_usage(first), calls)
                yield _event(delta_to_chunk(first, model=model, id=id_, created=created, role="assistant"))
                while True:
                    if cut.cut:
                        raise _ServerStopping()
                    cut.reading = True
                    try:
                        delta = await anext(stream, None)
                    except asyncio.CancelledError:
                        if not cut.withdraw():
                            raise
                        raise _ServerStopping() from None
                    finally:
                        cut.reading = False
                    if delta is None:
                        break
                    if delta.usage is not None:
                        delta = _without_usage(delta)
                        if _empty(delta):
                            continue
                    if delta.tool_calls:
                        delta = _with_call_ids(delta, calls)
                    yield _event(delta_to_chunk(delta, model=model, id=id_, created=created))
            usage = stream.usage
            if chat.include_usage and usage is not None:
                yield _event(usage_to_chunk(usage, model=model, id=id_, created=created))
            outcome = "ok"
            yield _DONE
        except _ServerStopping as error:
            outcome, error_name = "cut_short", "server_shutting_down"
            yield _event(error_body(str(error), type="server_error", code="server_shutting_down"))
        except Exception as error:  # after the headers: the error goes as an event, as OpenAI sends it
            failure = (
                error if isinstance(error, ModelplugError) else wrap_provider_exception(served.model.provider, error)
            )
            outcome, error_name = "error", type(failure).__name__
            yield _event(error_to_wire(failure)[1])
        finally:
            self.stop.discard(cut)
            with anyio.CancelScope(shield=True):
                await stream.aclose()
            release()
            _log_request(scope, model, 200, outcome, start, stream, stream_mode=True, error=error_name)


class _ServerStopping(Exception):
    """The server stops: a stream still open after the grace period ends with this error event."""

    def __init__(self) -> None:
        super().__init__(
            f"the server is shutting down: the answer was cut short after {SHUTDOWN_GRACE_S:g} s; retry the request"
        )


class _StreamCut:
    """Ends one SSE stream when the server's grace period ends (a :class:`ServerStop` callback).

    The stream's loop sets ``reading`` around its wait for the next delta (two attribute writes per
    delta: no cancel scope). A cut during that wait cancels the task iterating the stream, the way a
    client disconnect does: :class:`~modelplug._astream.AsyncChatStream` closes the backend and
    re-raises; the loop takes the cancellation back (:meth:`withdraw`) and ends with an error event.
    A cut while a chunk is being sent only sets ``cut``: the loop checks it before its next wait.
    """

    __slots__ = ("cancelled", "cut", "reading", "task")

    def __init__(self) -> None:
        try:  # the task iterating the stream (sse-starlette's sender)
            self.task = asyncio.current_task()
        except RuntimeError:  # not asyncio (a trio host): the cut then ends the stream at its next delta
            self.task = None
        self.reading = False
        self.cut = False
        self.cancelled = False

    def __call__(self) -> None:
        self.cut = True
        if self.reading and self.task is not None and not self.cancelled:
            self.cancelled = True
            self.task.cancel("modelplug serve: the shutdown grace period ended")

    def withdraw(self) -> bool:
        """Whether the cancellation being handled is this cut's alone; if so it is withdrawn (the
        task goes on to send the error event). A client disconnect or uvicorn's own timeout at the
        same time adds a cancellation of its own: then it is not withdrawn."""
        task = self.task
        if self.cancelled and task is not None and task.cancelling() == 1:
            task.uncancel()
            return True
        return False


def _completion_id() -> str:
    return f"chatcmpl-{random.getrandbits(96):024x}"  # an id, not a secret (os.urandom costs ~0.1 ms here)


#: One encoder for the process: ``json.dumps`` with options builds a new encoder per call (per delta).
_encode: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_DONE: Final = b"data: [DONE]\n\n"


def _event(data: Mapping[str, Any]) -> bytes:
    """One ``data:`` event, as bytes sse-starlette sends as they are (JSON text has no line break, so
    one ``data:`` line is the whole event)."""
    # a ServerSentEvent object would be encoded again per delta (docs/serving.md, Measured)
    return b"data: " + _encode(data).encode() + b"\n\n"


def _without_usage(delta: ChatMessageStreamDelta) -> ChatMessageStreamDelta:
    return delta if delta.usage is None else attrs.evolve(delta, usage=None)


def _with_call_ids(delta: ChatMessageStreamDelta, started: set[int]) -> ChatMessageStreamDelta:
    """``delta`` with an id on the first fragment of each indexed tool call whose provider sent none
    (clients answer a call by its id); ``started`` collects the indexes seen."""
    if not delta.tool_calls:
        return delta
    fragments = []
    for fragment in delta.tool_calls:
        index = fragment.index
        if index is not None and index not in started:
            started.add(index)
            if fragment.id is None:
                fragment = attrs.evolve(fragment, id=mint_tool_call_id())
        fragments.append(fragment)
    return attrs.evolve(delta, tool_calls=tuple(fragments))


def _empty(delta: ChatMessageStreamDelta) -> bool:
    return not (
        delta.content
        or delta.reasoning_content
        or delta.refusal
        or delta.tool_calls
        or delta.finish_reason
        or delta.content_parts
    )


def build_app(
    models: Mapping[str, Model] | Mapping[str, ServedModel],
    *,
    api_key: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    retry_after_s: int = 1,
) -> Starlette:
    """The OpenAI-compatible Starlette app serving ``models`` (served name -> loaded model).

    Args:
        models: the models, by the name clients put in ``model`` (:class:`ServedModel` values
            keep their own ``max_concurrency``).
        api_key: when given, every ``/v1`` request needs ``Authorization: Bearer <api_key>``.
        max_body_bytes: larger request bodies get 413.
        max_concurrency: requests one model serves at once; more get 429 with ``Retry-After``.
        retry_after_s: the ``Retry-After`` of those 429s, in seconds.

    The app does not close the models: their owner does, after the server stops. Its
    ``state.server_stop`` (a :class:`~modelplug.serve.shutdown.ServerStop`) must be begun when the
    server starts to stop: :mod:`modelplug.serve.server` does it; another host calls its ``begin()``.

    Raises:
        ValueError: no models, or a limit below 1.
    """
    if not models:
        raise ValueError("build_app needs at least one model to serve")
    if max_body_bytes < 1 or retry_after_s < 0:
        raise ValueError("max_body_bytes must be at least 1 and retry_after_s at least 0")
    served = {
        name: value if isinstance(value, ServedModel) else ServedModel(name, value, max_concurrency)
        for name, value in models.items()
    }
    stop = ServerStop()
    handler = _Handler(served, max_body_bytes, retry_after_s, stop)
    created = int(time.time())

    # the served models do not change: both bodies are rendered once per app, not per request
    health_body = JSONResponse({"status": "ok", "models": sorted(served)}).body
    models_body = JSONResponse(
        {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": created, "owned_by": s.model.provider}
                for name, s in served.items()
            ],
        }
    ).body

    async def health(request: Request) -> Response:
        return Response(health_body, media_type="application/json")

    async def list_models(request: Request) -> Response:
        return Response(models_body, media_type="application/json")

    async def http_error(request: Request, error: Exception) -> Response:
        status = error.status_code if isinstance(error, HTTPException) else 500
        kind = {404: "not_found", 405: "method_not_allowed"}.get(status)
        message = f"{request.method} {request.url.path}: {getattr(error, 'detail', None) or 'error'}"
        return _json(status, error_body(message, type="invalid_request_error", code=kind))

    middleware = [Middleware(_BearerAuth, key=api_key)] if api_key else []
    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/chat/completions", handler.chat, methods=["POST"]),
        ],
        middleware=middleware,
        exception_handlers={HTTPException: http_error},
    )
    app.state.server_stop = stop
    return app
