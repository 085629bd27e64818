"""The exception hierarchy: everything modelplug raises derives from :class:`ModelplugError`.

The tree, and which builtin each class also derives from, is in ``docs/concepts/errors.md``.
Messages never contain secrets (:func:`modelplug.secrets.redact`); HTTP providers pick the class of
a failed request with :func:`error_class_for_status`.
"""

from __future__ import annotations

from typing import Any

from modelplug.secrets import redact, scrub_exception

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "CapabilityError",
    "ContentFilterError",
    "ContextLengthError",
    "HookNotImplementedError",
    "InvalidOptionError",
    "MalformedChunkError",
    "ModelClosedError",
    "ModelLoadError",
    "ModelplugError",
    "PluginContractError",
    "PluginError",
    "PluginLoadError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitError",
    "ServerError",
    "ToolCallParseError",
    "UnknownProviderError",
    "error_class_for_status",
    "wrap_provider_exception",
]


class ModelplugError(Exception):
    """Root of every error modelplug raises.

    ``str()`` and ``repr()`` are redacted: API keys and tokens known to modelplug, and strings that
    look like keys, are replaced by ``***``.
    """

    def __init__(self, message: str, *args: Any) -> None:
        super().__init__(redact(message), *args)

    def __str__(self) -> str:
        return redact(super().__str__())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class PluginError(ModelplugError):
    """A plugin could not be loaded or used. ``provider`` names it (its entry-point name, the prefix
    of a model spec), as on every error class; ``plugin=`` and ``.plugin`` are its older names."""

    def __init__(self, message: str, *, provider: str | None = None, plugin: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider if provider is not None else plugin

    @property
    def plugin(self) -> str | None:
        """The older name of :attr:`provider`."""
        return self.provider


class PluginLoadError(PluginError):
    """A plugin failed to import, or one of its hook implementations does not match a hook
    specification (a misspelled hook name, an unknown argument). ``original`` keeps the cause."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        plugin: str | None = None,
        original: BaseException | None = None,
    ) -> None:
        super().__init__(message, provider=provider, plugin=plugin)
        if original is not None:
            scrub_exception(original)  # a printed traceback shows the chained original too
        self.original = original


class PluginContractError(PluginError):
    """A provider broke the hook contract at call time: a hook raised an exception that is not a
    modelplug error (outside ``generate`` / ``generate_stream``, whose failures are the backend's),
    or returned a value of the wrong type. ``hook`` names the hook; ``original`` keeps the cause."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        plugin: str | None = None,
        hook: str | None = None,
        original: BaseException | None = None,
    ) -> None:
        super().__init__(message, provider=provider, plugin=plugin)
        if original is not None:
            scrub_exception(original)
        self.hook = hook
        self.original = original


class UnknownProviderError(PluginError, LookupError):
    """No installed provider has that name. ``installed`` lists the providers that are."""

    def __init__(
        self, message: str, *, provider: str | None = None, plugin: str | None = None, installed: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, provider=provider, plugin=plugin)
        self.installed = installed


class HookNotImplementedError(PluginError, NotImplementedError):
    """The provider does not implement a hook that the call needs (``hook`` names it)."""

    def __init__(
        self, message: str, *, provider: str | None = None, plugin: str | None = None, hook: str | None = None
    ) -> None:
        super().__init__(message, provider=provider, plugin=plugin)
        self.hook = hook


class CapabilityError(ModelplugError):
    """The provider did not declare a capability the call needs (e.g. streaming).

    ``provider`` names the provider and ``capability`` the missing capability.
    """

    def __init__(self, message: str, *, provider: str | None = None, capability: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.capability = capability


class InvalidOptionError(ModelplugError, ValueError):
    """An option, a model spec or a message has the wrong shape; the message names it."""


class ModelClosedError(InvalidOptionError):
    """The model was used after :meth:`~modelplug.Model.close` (an ``InvalidOptionError``, as
    before it had a class of its own)."""


class MalformedChunkError(InvalidOptionError):
    """A stream chunk (from a server, or yielded by a client library) is not a chat-completions
    chunk: not a dict nor ``"[DONE]"``, or a field of the wrong type (``choices`` a string,
    ``delta`` a list, ``index`` not a number, a negative usage count); the message names the field
    and what came instead."""


class ProviderError(ModelplugError):
    """The backend failed.

    Attributes:
        provider: the provider name (``"litellm"``).
        original: the backend's own exception (also the ``__cause__``), its message and those of the
            exceptions it chains to redacted (:func:`~modelplug.secrets.scrub_exception`), so that
            a printed traceback shows no secret.
        status_code: the HTTP status, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        original: BaseException | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        if original is not None:
            scrub_exception(original)
        self.provider = provider
        self.original = original
        self.status_code = status_code
        if original is not None and self.__cause__ is None:
            self.__cause__ = original


class AuthenticationError(ProviderError, PermissionError):
    """The credentials were missing, wrong or not allowed (HTTP 401 / 403)."""


class RateLimitError(ProviderError):
    """Too many requests (HTTP 429). ``retry_after`` is the wait the server asked for, in seconds,
    or ``None``."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderTimeoutError(ProviderError, TimeoutError):
    """The request timed out (HTTP 408 or a client-side timeout)."""


class ContextLengthError(ProviderError):
    """The prompt (plus ``max_tokens``) does not fit the model's context window."""


class ContentFilterError(ProviderError):
    """The provider's content filter refused the prompt or the answer."""


class BadRequestError(ProviderError, ValueError):
    """The backend rejected the request as malformed (HTTP 400 / 422, other than the above)."""


class ServerError(ProviderError):
    """The backend failed on its side (HTTP 5xx, an error object inside a stream, malformed stream
    data). ``retry_after`` is the wait a 503 asked for (``Retry-After``), in seconds, or ``None``."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderConnectionError(ProviderError, ConnectionError):
    """The connection could not be made, or dropped in the middle of a stream."""


class ModelLoadError(ProviderError):
    """The model could not be loaded: files missing, a hub id with no network, bad weights."""


class ToolCallParseError(ModelplugError, ValueError):
    """Model text clearly attempts a tool call that cannot be used as written.

    Attributes:
        format: the tool-call format being read (``"hermes"``, ``"mistral"``, ...).
        offset: where in ``text`` the bad call starts (characters).
        reason: why it could not be read (e.g. "unterminated JSON object").
        text: the raw model text, unchanged.
        tool_calls: the calls that *could* be read from the same text (possibly empty).
        content: the prose around the calls.
        reasoning_content: the text of the reasoning spans read (``<think>`` ... ``</think>``, tags
            dropped), as :attr:`modelplug.toolcalls.ParseResult.reasoning_content` would hold it;
            ``None`` when there was none. Raised by :meth:`modelplug.Model.generate`, the whole
            answer's reasoning (also what the backend sent as reasoning).
        message: when raised by :meth:`modelplug.Model.generate`, the model's whole answer as
            received (a :class:`~modelplug.types.ChatMessage`, with its usage); otherwise ``None``.
        deltas: when raised by :meth:`modelplug.toolcalls.StreamParser.finish`, the deltas of its
            last step (the text it had held back), already yielded by :meth:`modelplug.Model.stream`.
    """

    def __init__(
        self,
        reason: str,
        *,
        format: str,
        text: str,
        offset: int = 0,
        tool_calls: tuple[Any, ...] = (),
        content: str | None = None,
        reasoning_content: str | None = None,
    ) -> None:
        excerpt = text[offset : offset + 60]
        if len(text) > offset + 60:
            excerpt += "…"
        message = f"{format} tool call at offset {offset} cannot be read: {reason} (text: {excerpt!r})"
        super().__init__(message)
        self.format = format
        self.offset = offset
        self.reason = reason
        self.text = text
        self.tool_calls = tuple(tool_calls)
        self.content = content
        self.reasoning_content = reasoning_content
        self.message: Any = None
        self.deltas: tuple[Any, ...] = ()


_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_CONTEXT_WORDS = ("context length", "context window", "maximum context", "too many tokens", "prompt is too long")
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation"})
_FILTER_WORDS = ("content management policy", "content filter", "content policy", "safety system")


def error_class_for_status(status: int | None, message: str = "", code: str | None = None) -> type[ProviderError]:
    """The :class:`ProviderError` subclass for an HTTP error: 401/403 authentication, 408 timeout,
    429 rate limit, 5xx server error; a 400/413/422 is a context-length error or a content-filter
    refusal when the error ``code`` (OpenAI's ``context_length_exceeded``, Azure's
    ``content_filter``) or the ``message`` says so, else a bad request (as are the other 4xx).
    ``None`` or anything else gives :class:`ProviderError`.
    """
    if status is None:
        return ProviderError
    if status in (401, 403):
        return AuthenticationError
    if status == 408:
        return ProviderTimeoutError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        lowered = message.lower()
        if code in _CONTEXT_CODES or any(word in lowered for word in _CONTEXT_WORDS):
            return ContextLengthError
        if code in _FILTER_CODES or any(word in lowered for word in _FILTER_WORDS):
            return ContentFilterError
        return BadRequestError
    return ProviderError


def wrap_provider_exception(provider: str, error: Exception, during: str = "") -> ModelplugError:
    """The modelplug error for an exception a provider let escape: the error itself when it is
    already a :class:`ModelplugError`; otherwise a :class:`ProviderTimeoutError` for a
    ``TimeoutError``, a :class:`ProviderConnectionError` for a ``ConnectionError``, else a
    :class:`ProviderError`, each keeping ``error`` as ``original``."""
    if isinstance(error, ModelplugError):
        return error
    cls: type[ProviderError] = ProviderError
    if isinstance(error, TimeoutError):
        cls = ProviderTimeoutError
    elif isinstance(error, ConnectionError):
        cls = ProviderConnectionError
    where = f" {during}" if during else ""
    return cls(
        f"provider {provider!r} failed{where}: {type(error).__name__}: {error}", provider=provider, original=error
    )
