"""The exception hierarchy and secret redaction."""

from __future__ import annotations

import pytest

from modelplug import errors
from modelplug.errors import error_class_for_status
from modelplug.secrets import redact, redact_mapping, register_secret


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.AuthenticationError, PermissionError),
        (errors.ProviderTimeoutError, TimeoutError),
        (errors.BadRequestError, ValueError),
        (errors.ProviderConnectionError, ConnectionError),
        (errors.UnknownProviderError, LookupError),
        (errors.HookNotImplementedError, NotImplementedError),
        (errors.ToolCallParseError, ValueError),
        (errors.InvalidOptionError, ValueError),
    ],
)
def test_errors_also_subclass_the_matching_builtin(cls: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(cls, builtin) and issubclass(cls, errors.ModelplugError)


def test_every_public_error_is_a_modelplug_error() -> None:
    classes = [getattr(errors, name) for name in errors.__all__ if isinstance(getattr(errors, name), type)]
    assert len(classes) >= 18
    for cls in classes:
        assert issubclass(cls, errors.ModelplugError), cls


def test_provider_error_keeps_the_original() -> None:
    original = OSError("boom")
    error = errors.RateLimitError("slow down", provider="p", original=original, status_code=429, retry_after=2.5)
    assert error.original is original and error.__cause__ is original
    assert (error.provider, error.status_code, error.retry_after) == ("p", 429, 2.5)


def test_tool_call_parse_error_says_where_and_keeps_the_text() -> None:
    text = "Sure. <tool_call>{bad json</tool_call>"
    error = errors.ToolCallParseError("invalid JSON", format="hermes", text=text, offset=6)
    assert "hermes" in str(error) and "offset 6" in str(error) and "<tool_call>{bad" in str(error)
    assert error.text == text


def test_redaction() -> None:
    register_secret("my-registered-secret")
    text = "key my-registered-secret, openai sk-abcdefghijklmnop, hf hf_abcdefghijkl, Bearer abc.def-ghi_jkl"
    redacted = redact(text)
    for secret in ("my-registered-secret", "sk-abcdefghijklmnop", "hf_abcdefghijkl", "abc.def-ghi_jkl"):
        assert secret not in redacted
    assert redact_mapping({"api_key": "x", "model": "m", "hf_token": "t"}) == {
        "api_key": "***",
        "model": "m",
        "hf_token": "***",
    }
    assert "my-registered-secret" not in repr(errors.ProviderError("failed with my-registered-secret"))


@pytest.mark.parametrize(
    "cls",
    [
        errors.PluginError,
        errors.PluginLoadError,
        errors.PluginContractError,
        errors.UnknownProviderError,
        errors.HookNotImplementedError,
        errors.CapabilityError,
        errors.ProviderError,
        errors.RateLimitError,
        errors.ModelLoadError,
    ],
)
def test_every_error_about_a_provider_takes_the_same_keyword(cls: type[errors.ModelplugError]) -> None:
    error = cls("boom", provider="acme")  # type: ignore[call-arg]
    assert error.provider == "acme"  # type: ignore[attr-defined]


def test_plugin_is_the_older_name_of_provider() -> None:
    error = errors.PluginContractError("boom", plugin="acme", hook="load")
    assert error.provider == error.plugin == "acme"


@pytest.mark.parametrize("chunk", ["data: {}", 42, ["a"]])
def test_a_chunk_that_is_not_a_chunk_is_a_malformed_chunk_error(chunk: object) -> None:
    from modelplug.wire import delta_from_chunk

    with pytest.raises(errors.MalformedChunkError, match="a stream chunk must be a dict") as caught:
        delta_from_chunk(chunk)  # type: ignore[arg-type]
    assert isinstance(caught.value, errors.InvalidOptionError)


@pytest.mark.parametrize(
    ("status", "message", "code", "expected"),
    [
        (401, "", None, errors.AuthenticationError),
        (403, "", None, errors.AuthenticationError),
        (408, "", None, errors.ProviderTimeoutError),
        (429, "", None, errors.RateLimitError),
        (500, "", None, errors.ServerError),
        (503, "", None, errors.ServerError),
        (400, "This model's maximum context length is 8192 tokens.", None, errors.ContextLengthError),
        (400, "", "context_length_exceeded", errors.ContextLengthError),
        (413, "prompt is too long", None, errors.ContextLengthError),
        (400, "", "content_filter", errors.ContentFilterError),
        (400, "filtered by Azure OpenAI's content management policy", None, errors.ContentFilterError),
        (400, "Invalid value for 'temperature'.", None, errors.BadRequestError),
        (422, "Unexpected fields", None, errors.BadRequestError),
        (404, "The model does not exist.", None, errors.BadRequestError),
        (None, "", None, errors.ProviderError),
        (302, "", None, errors.ProviderError),
    ],
)
def test_error_class_for_status(status: int | None, message: str, code: str | None, expected: type) -> None:
    assert error_class_for_status(status, message, code) is expected
