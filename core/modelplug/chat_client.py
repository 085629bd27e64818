"""The chat-client kit: what every provider built on an HTTP client library shares.

Secrets a request carries, HTTP errors and transport failures to modelplug's error classes, the
empty-200 rule, retries before the first delta only, default timeouts and a stream that ``close()``
from any thread stops at once; for native async streams (``agenerate_stream``) :func:`aopen_stream`,
the same retries on the event loop. A provider built on a client library uses these through
:mod:`modelplug.client_stream` (a base state, its hooks, one sync and async stream driver). The
guide is ``docs/writing-a-plugin.md`` ("HTTP providers: the chat-client kit").
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import json
import socket
import threading
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import attrs

from modelplug import wire
from modelplug.errors import (
    InvalidOptionError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from modelplug.retry import (
    AsyncStreamStarter,
    RetriedAsyncStream,
    RetryPolicy,
    StreamStarter,
    astream_with_retries,
    start_with_retries,
)
from modelplug.secrets import is_secret_option, redact, register_secret, scrub_exception
from modelplug.types import Capabilities, ChatMessageStreamDelta

__all__ = [
    "CHAT_COMPLETIONS_CAPABILITIES",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_READ_TIMEOUT",
    "KIT_OPTION_TYPES",
    "SECRET_HEADER_NAMES",
    "ClosableStream",
    "Timeouts",
    "aclose_httpx_response",
    "aopen_stream",
    "empty_stream_error",
    "error_from_client_response",
    "error_from_event",
    "error_from_response",
    "error_from_transport",
    "malformed_data_error",
    "open_stream",
    "register_request_secrets",
    "request_json",
    "retry_after_seconds",
    "shutdown_httpx_response",
    "with_original",
]

#: Seconds to wait for a connection to be made (TCP and TLS).
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
#: Seconds to wait for the next bytes of a response (headers or the next read of the body): a stalled
#: server fails with :class:`~modelplug.errors.ProviderTimeoutError` after this long. As long as the
#: OpenAI SDK's default, since reasoning models may think for minutes before the first token.
DEFAULT_READ_TIMEOUT: Final = 600.0

#: What an OpenAI-compatible chat-completions server normally does (streaming with usage, native
#: tools, ``stop``, ``response_format``); the ``capabilities`` option overrides.
CHAT_COMPLETIONS_CAPABILITIES: Final = Capabilities(
    streaming=True,
    tool_calling="native",
    streamed_tool_calls=True,
    usage_in_stream=True,
    stop_sequences=True,
    structured_output=True,
)
#: The command-line types of the timeout options :class:`Timeouts` reads (the retry options and the
#: ``capabilities`` override are the core's reserved options, :mod:`modelplug.reserved`: a provider
#: gets them as ``reserved.retry`` and ``reserved.apply(defaults)`` in ``load``, never in ``options``).
KIT_OPTION_TYPES: Final[Mapping[str, type]] = {"timeout": float, "connect_timeout": float}

#: Header names (lower case) whose values are credentials. Any header whose name contains ``key``,
#: ``token``, ``secret``, ``auth``, ``cookie``, ``signature`` or ``password`` counts too.
SECRET_HEADER_NAMES: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
        "cookie",
        "x-auth-token",
        "x-amz-security-token",
    }
)
_SECRET_WORDS: Final = ("key", "token", "secret", "auth", "cookie", "signature", "password", "credential")
_SCHEMES: Final = ("bearer ", "basic ", "token ", "apikey ", "api-key ", "key ")
_QUERY_WORDS: Final = ("key", "token", "secret", "sig", "signature", "password", "auth", "code", "credential")


def _secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_HEADER_NAMES or any(word in lowered for word in _SECRET_WORDS)


def _header_secrets(value: str) -> list[str]:
    """The credential strings in one header value: the whole value, the value after an auth
    scheme (``Bearer``, ``Basic``...), and the password inside a Basic credential."""
    found = [value]
    lowered = value.lower()
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            credential = value[len(scheme) :].strip()
            found.append(credential)
            if scheme == "basic ":
                try:
                    decoded = base64.b64decode(credential, validate=True).decode()
                except (binascii.Error, UnicodeDecodeError, ValueError):
                    decoded = ""
                _user, _, password = decoded.partition(":")
                found += [password] if password else []
            break
    return found


def _cookie_secrets(cookies: Any) -> list[str]:
    if isinstance(cookies, str):
        pairs = [part.partition("=")[2].strip() for part in cookies.split(";")]
        return [cookies, *pairs]
    if isinstance(cookies, Mapping):
        return [str(value) for value in cookies.values()]
    items = getattr(cookies, "items", None)  # http.cookiejar / httpx.Cookies
    if callable(items):
        return [str(value) for _, value in items()]
    return [str(getattr(cookie, "value", "")) for cookie in cookies or ()]


def _url_secrets(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [parts.password or ""]
    if parts.password and parts.username:
        found.append(parts.username)
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        lowered = name.lower()
        if is_secret_option(lowered) or any(word in lowered for word in _QUERY_WORDS):
            found.append(value)
    return found


def register_request_secrets(
    *,
    headers: Mapping[str, Any] | None = None,
    cookies: Any = None,
    urls: tuple[str | None, ...] = (),
    values: tuple[Any, ...] = (),
) -> tuple[str, ...]:
    """Register (:func:`modelplug.secrets.register_secret`) every credential a request carries.

    Args:
        headers: request headers; the values of auth headers (:data:`SECRET_HEADER_NAMES` and any
            name containing ``key``, ``token``, ``secret``, ``auth``, ``cookie``, ``signature``...)
            are registered whole, without their scheme (``Bearer``, ``Basic``, ``Token``...) and, for
            Basic, the decoded password.
        cookies: a ``Cookie`` header string, a dict, or a cookie jar: every value.
        urls: base URLs: the password (and user) of the user-info, and the values of query
            parameters named like a key (``key``, ``api_key``, ``token``, ``sig``, ``code``...).
        values: plain secrets (an API key option, a token from the environment).

    Returns:
        What was registered (strings under 4 characters are skipped by ``register_secret``), so
        that a provider can :func:`~modelplug.secrets.release_secret` them when the model closes.
    """
    found: list[str] = [value for value in values if isinstance(value, str)]
    for name, value in (headers or {}).items():
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str) and _secret_header(str(name)):
            found += _cookie_secrets(value) if str(name).lower() == "cookie" else _header_secrets(value)
    if cookies:
        found += _cookie_secrets(cookies)
    for url in urls:
        if isinstance(url, str):
            found += _url_secrets(url)
    registered = tuple(dict.fromkeys(value for value in found if len(value) >= 4))
    for value in registered:
        register_secret(value)
    return registered


def request_json(body: Any, *, provider: str) -> bytes:
    """``body`` as strict JSON (UTF-8 bytes), checked before anything is sent.

    Raises:
        InvalidOptionError: a value that JSON cannot carry (an object, ``NaN``, a lone surrogate):
            a failure before anything was sent, raised at once and never retried.
    """
    try:
        return json.dumps(body, allow_nan=False, ensure_ascii=False).encode()
    except (TypeError, ValueError) as error:
        raise InvalidOptionError(f"{provider}: the request cannot be sent as JSON: {error}") from error


def _seconds(provider: str, name: str, value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise InvalidOptionError(f"{provider} option {name!r} must be a number of seconds > 0, got {value!r}")
    return float(value)


@attrs.frozen
class Timeouts:
    """Connect and read timeouts, in seconds.

    Attributes:
        connect: to make the connection (default :data:`DEFAULT_CONNECT_TIMEOUT`).
        read: between two reads: for the response headers, then for each piece of the body
            (default :data:`DEFAULT_READ_TIMEOUT`); not a limit on the whole answer.
    """

    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT

    @classmethod
    def from_options(cls, options: Mapping[str, Any], provider: str) -> Timeouts:
        """Read the ``timeout`` model option (seconds for every phase, or ``{"connect": s, "read": s}``)
        and ``connect_timeout`` (seconds).

        Raises:
            InvalidOptionError: a value that is not a positive number, or an unknown key.
        """
        connect = _seconds(provider, "connect_timeout", options.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT))
        value = options.get("timeout")
        if value is None:
            return cls(connect, DEFAULT_READ_TIMEOUT)
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {"connect", "read"})
            if unknown:
                raise InvalidOptionError(
                    f"{provider} option 'timeout' has unknown key(s) {unknown}; known: connect, read"
                )
            read = _seconds(provider, "timeout.read", value.get("read", DEFAULT_READ_TIMEOUT))
            return cls(_seconds(provider, "timeout.connect", value.get("connect", connect)), read)
        seconds = _seconds(provider, "timeout", value)
        return cls(min(connect, seconds), seconds)

    def to_httpx(self) -> Any:
        """An ``httpx.Timeout`` with these values (write and pool: the read timeout)."""
        import httpx

        return httpx.Timeout(self.read, connect=self.connect)


def retry_after_seconds(headers: Any) -> float | None:
    """The wait a response asked for, in seconds: ``retry-after-ms``, else ``Retry-After`` in
    seconds or as an HTTP date; ``None`` when absent or unreadable. ``headers``: any mapping with
    case-insensitive ``get`` (httpx's, requests', a plain dict with lower-case keys)."""
    if not headers:
        return None
    try:
        milliseconds = headers.get("retry-after-ms")
        if milliseconds is not None:
            return max(0.0, float(milliseconds) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            import email.utils
            import time

            when = email.utils.parsedate_to_datetime(str(value))
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, AttributeError):
        return None


def _from_wire(data: Any, status: int | None, provider: str) -> ProviderError:
    return wire.error_from_wire(data, status=status, provider=provider)


def _attach(error: ProviderError, original: BaseException | None, retry_after: float | None) -> ProviderError:
    if original is not None:
        scrub_exception(original)
        error.original = original
        error.__cause__ = original
    if retry_after is not None and isinstance(error, (RateLimitError, ServerError)):
        error.retry_after = retry_after
    return error


def error_from_response(
    status: int,
    body: Any,
    headers: Any = None,
    *,
    provider: str,
    reason: str = "",
    original: BaseException | None = None,
) -> ProviderError:
    """The error for a non-2xx HTTP response.

    Args:
        status: the HTTP status.
        body: the body as bytes or text (JSON is decoded), or already decoded; the server's message
            and error type are read by :func:`modelplug.wire.error_from_wire` (OpenAI, TGI, vLLM,
            FastAPI shapes), a body that is not JSON is the message as is.
        headers: the response headers, for ``retry_after`` (:func:`retry_after_seconds`), set on a
            :class:`~modelplug.errors.RateLimitError` or :class:`~modelplug.errors.ServerError`.
        provider: the provider name.
        reason: the reason phrase, the message when the body is empty.
        original: the client's exception (scrubbed, kept as ``original`` and the cause).
    """
    data = body
    if isinstance(body, bytes):
        data = body.decode("utf-8", errors="replace")
    if isinstance(data, str):
        with contextlib.suppress(ValueError):
            data = json.loads(data) if data.strip() else (reason or f"HTTP {status}")
    if data is None:
        data = reason or f"HTTP {status}"
    return _attach(_from_wire(data, status, provider), original, retry_after_seconds(headers))


def error_from_client_response(
    response: Any, *, provider: str, original: BaseException, fallback: Any = None
) -> ProviderError:
    """The error for a client exception that carries the HTTP error ``response`` (an
    ``httpx.Response`` or alike: ``status_code``, ``content``, ``headers``, ``reason_phrase``):
    :func:`error_from_response` with its body, or ``fallback`` (else ``str(original)``) where the
    body of a streamed response was never read."""
    try:
        body = response.content
    except Exception:  # a streamed body never read (httpx.ResponseNotRead)
        body = fallback or str(original)
    reason = getattr(response, "reason_phrase", "")
    return error_from_response(
        response.status_code,
        body,
        getattr(response, "headers", None),
        provider=provider,
        reason=reason if isinstance(reason, str) else "",
        original=original,
    )


def with_original(error: ProviderError, original: BaseException) -> ProviderError:
    """``error`` with ``original`` kept as its ``original`` and ``__cause__`` (an error mapped from
    a link of the client's exception chain still names what the client raised)."""
    error.original = original
    error.__cause__ = original
    return error


def error_from_event(data: Any, *, provider: str) -> ProviderError:
    """The typed error for an ``{"error": ...}`` object sent inside a 200 stream (see
    :func:`modelplug.wire.error_from_wire`: a validation error is a BadRequestError, an overload a
    ServerError)."""
    return _from_wire(data, None, provider)


_TIMEOUT_NAMES: Final = frozenset({"TimeoutException", "InferenceTimeoutError", "APITimeoutError", "Timeout"})
_CONNECTION_NAMES: Final = frozenset(
    {"TransportError", "NetworkError", "ProtocolError", "ConnectError", "ReadError", "RemoteProtocolError",
     "APIConnectionError", "ChunkedEncodingError", "ConnectionError", "IncompleteRead"}
)  # fmt: skip


def error_from_transport(error: BaseException, *, provider: str, during: str = "") -> ProviderError:
    """The error for an exception raised by the client while connecting or reading, found by the
    exception's class and its causes (no client library is imported):

    - timeouts (httpx's ``TimeoutException``, ``TimeoutError``, huggingface_hub's, the OpenAI SDK's):
      :class:`~modelplug.errors.ProviderTimeoutError`;
    - transport failures (refused, reset, a body cut mid-stream, ``ConnectionError``):
      :class:`~modelplug.errors.ProviderConnectionError`;
    - bytes that are not JSON or not UTF-8: :func:`malformed_data_error`;
    - anything else: :class:`~modelplug.errors.ProviderError`.

    A :class:`~modelplug.errors.ProviderError` is returned as is. ``during`` ("connecting",
    "reading the stream") goes into the message.
    """
    if isinstance(error, ProviderError):
        return error
    scrub_exception(error)
    link: BaseException | None = error
    seen = 0
    while link is not None and seen < 8:
        names = {cls.__name__ for cls in type(link).__mro__}
        if names & _TIMEOUT_NAMES or isinstance(link, (TimeoutError, socket.timeout)):
            return ProviderTimeoutError(
                f"{provider}: timed out{_where(during)}: {type(link).__name__}: {redact(str(link))}",
                provider=provider,
                original=error,
            )
        if names & _CONNECTION_NAMES or isinstance(link, ConnectionError):
            return ProviderConnectionError(
                f"{provider}: connection failed{_where(during)}: {type(link).__name__}: {redact(str(link))}",
                provider=provider,
                original=error,
            )
        if isinstance(link, (ValueError, UnicodeError)) and names & {"JSONDecodeError", "UnicodeDecodeError"}:
            return malformed_data_error(str(link).encode(), provider=provider, original=error)
        link = link.__cause__ or link.__context__
        seen += 1
    return ProviderError(
        f"{provider}: {type(error).__name__}{_where(during)}: {redact(str(error))}", provider=provider, original=error
    )


def _where(during: str) -> str:
    return f" while {during}" if during else ""


def malformed_data_error(data: bytes, *, provider: str, original: BaseException | None = None) -> ServerError:
    """The error for stream data that is not JSON (or not UTF-8): a
    :class:`~modelplug.errors.ServerError` quoting the first 200 bytes (redacted)."""
    try:
        data.decode()
        what = "not JSON"
    except UnicodeDecodeError:
        what = "not UTF-8"
    text = data[:200].decode(errors="replace")
    return ServerError(
        f"{provider}: malformed stream data ({what}): {redact(text)!r}", provider=provider, original=original
    )


def empty_stream_error(provider: str) -> ServerError:
    """The error for a 200 answer that sent no stream data at all (retried like a 5xx): some
    gateways and clients turn it into an empty answer, which would look like a model that said nothing."""
    return ServerError(
        f"{provider}: the server answered 200 but sent no stream data", provider=provider, status_code=200
    )


def shutdown_httpx_response(response: Any) -> Callable[[], None]:
    """A closer for an ``httpx.Response`` that unblocks a read waiting in another thread: it shuts
    the socket down (``SHUT_RDWR``: a blocked ``recv`` returns at once) and closes the response."""

    def close() -> None:
        stream = getattr(response, "extensions", {}).get("network_stream")
        sock = None
        try:
            sock = stream.get_extra_info("socket") if stream is not None else None
        except Exception:  # an odd transport: fall back to closing the response
            sock = None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):  # already closing in the reading thread
            response.close()

    return close


class _Cancelled(Exception):
    """Raised inside :func:`open_stream` when the stream was closed before a retry could start."""


class ClosableStream(Iterator[ChatMessageStreamDelta]):
    """The deltas of a stream, with a ``close()`` that any thread may call at any time.

    A generator cannot be closed while another thread runs it, and a read blocked on a stalled
    server would wait for the read timeout. ``close()`` runs the transport's closer at once (e.g.
    :func:`shutdown_httpx_response`), which makes the blocked read fail; the iterating thread then
    ends the iteration quietly (the stream was cancelled, not failed) and what arrived before stays.
    The closers also run when the deltas end or fail.

    Args:
        deltas: the deltas (``None`` with ``begin``).
        begin: started by the first ``__next__`` instead: returns the deltas and those already read
            from them (:func:`open_stream`: the retried start); afterwards each ``__next__`` reads
            the deltas directly, with no layer between.
    """

    __slots__ = ("_begin", "_closed", "_closers", "_deltas", "_lock", "_source")

    def __init__(
        self,
        deltas: Iterator[ChatMessageStreamDelta] | None = None,
        *,
        begin: Callable[[], tuple[Iterator[ChatMessageStreamDelta], list[ChatMessageStreamDelta]]] | None = None,
    ) -> None:
        if (deltas is None) == (begin is None):
            raise TypeError("ClosableStream takes exactly one of deltas and begin")
        self._deltas = deltas
        self._source = deltas  # what close() closes: the provider's own iterator
        self._begin = begin
        self._closers: list[Callable[[], object]] = []
        self._closed = False
        self._lock = threading.Lock()

    def add_closer(self, close: Callable[[], object]) -> None:
        """Run ``close`` on :meth:`close` (at once when already closed)."""
        with self._lock:
            if not self._closed:
                self._closers.append(close)
                return
        close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __iter__(self) -> ClosableStream:
        return self

    def __next__(self) -> ChatMessageStreamDelta:
        if self._closed:
            raise StopIteration
        deltas = self._deltas
        try:
            if deltas is None:
                return self._start()
            return next(deltas)
        except StopIteration:
            self._release()
            raise
        except Exception:
            if self._closed:  # the read failed because close() shut the connection
                raise StopIteration from None
            self._release()
            raise

    def _start(self) -> ChatMessageStreamDelta:
        begin, self._begin = self._begin, None
        self._deltas = iter(())  # a start that fails ends the stream: a later next() stops
        if begin is None:
            raise StopIteration
        deltas, held = begin()
        self._source = deltas
        if len(held) > 1:
            self._deltas = itertools.chain(held[1:], deltas)
        else:
            self._deltas = deltas
        if self._closed:  # closed while the first deltas were read
            self._close_source()
            raise StopIteration
        return held[0] if held else next(deltas)

    def _release(self) -> None:
        """Run the closers (the stream ended or failed: its transport is done)."""
        with self._lock:
            closers, self._closers = self._closers, []
        for close in closers:
            with contextlib.suppress(Exception):  # closing must not fail
                close()

    def close(self) -> None:
        """Stop the stream: close the transport, then the deltas (when no thread is inside them)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._release()
        self._close_source()

    def _close_source(self) -> None:
        close_deltas = getattr(self._source, "close", None)
        if close_deltas is not None:
            with contextlib.suppress(ValueError):  # "generator already executing": the reading thread ends it
                close_deltas()


def open_stream(
    policy: RetryPolicy,
    start: StreamStarter,
    *,
    provider: str,
    model: str,
) -> ClosableStream:
    """The deltas of a streamed request, retried under ``policy`` before the first delta with
    content only (:func:`modelplug.retry.start_with_retries`), as a :class:`ClosableStream` whose
    ``close()`` also runs the closer of the attempt in flight (``start`` returns it first). After
    that first delta the stream reads the attempt's generator directly.

    ``start`` sends the request and returns ``(close, deltas)``; it raises modelplug errors
    (:func:`error_from_response`, :func:`error_from_transport`).
    """
    stream: ClosableStream

    def tracked() -> tuple[Callable[[], object], Generator[ChatMessageStreamDelta, None, None]]:
        if stream.closed:  # closed during an earlier attempt: no new request (not retryable)
            raise _Cancelled
        close, deltas = start()
        stream.add_closer(close)
        return close, deltas

    def begin() -> tuple[Iterator[ChatMessageStreamDelta], list[ChatMessageStreamDelta]]:
        _close, deltas, held = start_with_retries(policy, tracked, provider=provider, model=model)
        return deltas, held

    stream = ClosableStream(begin=begin)
    return stream


def aclose_httpx_response(response: Any) -> Callable[[], Awaitable[None]]:
    """A closer for an async ``httpx.Response`` (``await close()``): closes the response and its
    connection (a half-read response is never put back in the pool, so the server sees the
    disconnect at once); never raises."""

    async def close() -> None:
        with contextlib.suppress(Exception):  # already closed, or the connection already failed
            await response.aclose()

    return close


def aopen_stream(
    policy: RetryPolicy,
    start: AsyncStreamStarter,
    *,
    provider: str,
    model: str,
) -> RetriedAsyncStream:
    """The async twin of :func:`open_stream`, for ``agenerate_stream``: the deltas of a streamed
    request, retried under ``policy`` before the first delta with content only
    (:func:`modelplug.retry.astream_with_retries`); after it, each ``__anext__`` is the attempt's
    own generator's.

    ``start`` is a coroutine function that sends the request and returns ``(close, deltas)``:
    ``close`` a coroutine function closing the response (e.g. :func:`aclose_httpx_response`),
    ``deltas`` an async generator that closes the response itself when it ends or fails (in its
    ``finally``); it raises modelplug errors (:func:`error_from_response`,
    :func:`error_from_transport`). ``aclose()`` of the returned iterator closes the deltas and the
    response of the attempt in flight at once, on the loop; a cancellation closes them through the
    generator's ``finally`` (no thread is involved, so nothing like :class:`ClosableStream` is needed).
    """
    return astream_with_retries(policy, start, provider=provider, model=model)
