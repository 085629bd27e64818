"""Secrets: scrubbing of any exception shape, a canary key over the non-HTTP routes, release on close,
and many registered keys."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pytest

import modelplug
from modelplug import ChatMessageStreamDelta
from modelplug.errors import ModelplugError, ProviderError
from modelplug.secrets import redact, redact_value, register_secret, registered_count, release_secret, scrub_exception

CANARY = "canary-4d1f0c9e7b2a-not-a-known-key-shape"


def test_scrub_covers_args_of_any_type_notes_and_chains() -> None:
    register_secret("tok-scrub-0123456789")
    secret = "tok-scrub-0123456789"
    cause = ValueError({"headers": {"x-api-key": secret}}, [secret.encode()], (1, {secret}))
    error = RuntimeError(f"failed with {secret}")
    error.add_note(f"note {secret}")
    error.body = {"echo": [secret]}  # type: ignore[attr-defined]
    error.__cause__ = cause
    group = ExceptionGroup("many", [KeyError(secret), error])
    scrub_exception(group)
    text = "".join(traceback.format_exception(group)) + repr(cause.args) + repr(error.body)  # type: ignore[attr-defined]
    assert secret not in text and secret.encode() not in cause.args[1][0]
    assert "***" in text


def test_redact_value_keeps_shapes() -> None:
    register_secret("tok-shape-0123456789")
    value = {"a": ["x tok-shape-0123456789", b"tok-shape-0123456789"], "n": 3}
    assert redact_value(value) == {"a": ["x ***", b"***"], "n": 3}


class Leaky:
    """A provider that echoes its key everywhere an error can carry it."""

    @modelplug.hookimpl
    def load(self, options: dict[str, object]) -> object:
        return options

    @modelplug.hookimpl
    def capabilities(self) -> modelplug.Capabilities:
        return modelplug.Capabilities(streaming=True)

    @modelplug.hookimpl
    def generate_stream(self, state: dict[str, str]) -> Iterator[ChatMessageStreamDelta]:
        key = state["api_key"]
        yield ChatMessageStreamDelta(content="partial ")
        try:
            raise OSError(b"server echoed " + key.encode())
        except OSError as low:
            error = RuntimeError({"request": {"headers": {"authorization": key}}}, [key])
            error.add_note(f"while sending key={key}")
            raise error from low


def test_secrets_of_closed_models_are_released(fresh_plugins: None) -> None:
    modelplug.register_provider("leaky", Leaky())
    key = "tok-release-0123456789"
    model = modelplug.load_model("leaky:x", api_key=key)
    assert redact(key) == "***"
    model.close()
    assert redact(key) == key
    register_secret(key)  # a second holder keeps it until it lets go too
    with modelplug.load_model("leaky:x", api_key=key):
        pass
    assert redact(key) == "***"
    release_secret(key)
    assert redact(key) == key


def test_thousands_of_keys_are_all_redacted() -> None:
    before = registered_count()
    keys = [f"tok-many-{i:06d}-x" for i in range(5000)]
    for key in keys:
        register_secret(key)
    assert registered_count() == before + 5000
    text = " | ".join(keys[::499]) + " tok-many-nope"
    assert redact(text).count("***") == len(keys[::499]) and "tok-many-nope" in redact(text)
    for key in keys:
        release_secret(key)
    assert registered_count() == before


def test_canary_key_never_leaks(fresh_plugins: None, caplog: pytest.LogCaptureFixture) -> None:
    modelplug.register_provider("leaky", Leaky())
    caplog.set_level(logging.DEBUG, logger="modelplug")
    model = modelplug.load_model("leaky:m", api_key=CANARY, headers={"X-Api-Key": CANARY})
    outputs = [repr(model), repr(model.options), str(model.options)]
    stream = model.stream("hi")
    with pytest.raises(ProviderError) as caught:
        for _ in stream:
            pass
    error: ModelplugError = caught.value
    outputs += [str(error), repr(error), "".join(traceback.format_exception(error)), repr(stream), caplog.text]
    assert stream.message.content == "partial "  # nothing received is lost
    with pytest.raises(ProviderError) as again:
        model.generate("hi")
    outputs.append("".join(traceback.format_exception(again.value)))
    joined = "\n".join(outputs)
    assert CANARY not in joined and CANARY.encode().hex() not in joined
    assert "***" in joined
    model.close()


def test_scrub_exception_redacts_the_whole_chain_in_place() -> None:
    key = "sk-scrub-test-9f8e7d6c5b4a"
    register_secret(key)
    try:
        try:
            raise ValueError(f"server said: bad key {key}")
        except ValueError as inner:
            raise _ClientError(f"401: Incorrect API key provided: {key}") from inner
    except _ClientError as error:
        outer = error
    outer.original_exception = RuntimeError(key)  # type: ignore[attr-defined]
    scrub_exception(outer)
    assert key not in "".join(traceback.format_exception(outer))
    assert key not in outer.message and key not in str(outer.original_exception)  # type: ignore[attr-defined]
    assert "Incorrect API key provided: ***" in str(outer)


class _ClientError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
