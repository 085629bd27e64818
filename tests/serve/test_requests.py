"""Reading a request body (:mod:`modelplug.serve.requests`): what :func:`parse_chat_request` keeps,
renames, drops and passes on, and a body that is not JSON answered with a 400 on a real server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelplug.serve.requests import RequestError, parse_chat_request
from modelplug.types import ChatMessage
from tests.serve.conftest import HELLO, error_of, post


def _parse(**fields: Any) -> Any:
    return parse_chat_request(json.dumps({"model": "m", "messages": HELLO, **fields}).encode())


def test_malformed_json_is_a_400(served_replay: str) -> None:
    response = post(served_replay, b'{"model": "replay", "messages": [')
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_json" and "not valid JSON" in error["message"]


def test_the_messages_and_stream_flags_are_read() -> None:
    chat = _parse(messages=[{"role": "system", "content": "Be brief."}, *HELLO], stream_options={"include_usage": True})
    assert chat.model == "m" and not chat.stream and chat.include_usage
    assert chat.messages == [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="hi")]
    assert _parse(stream=True).stream and not _parse(stream=True).include_usage


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    assert _parse(max_tokens=50, max_completion_tokens=20).options == {"max_tokens": 20}
    assert _parse(max_tokens=50).options == {"max_tokens": 50}


def test_ignored_fields_are_dropped_and_unknown_ones_go_to_the_provider_as_extra() -> None:
    options = _parse(user="ann", n=1, store=False, temperature=0.5, top_k=3, repetition_penalty=1.1).options
    assert options == {"temperature": 0.5, "extra": {"top_k": 3, "repetition_penalty": 1.1}}


def test_the_default_response_format_asks_nothing_and_the_others_are_kept() -> None:
    assert _parse(response_format={"type": "text"}).options == {}
    assert _parse(response_format={"type": "json_object"}).options == {"response_format": {"type": "json_object"}}


@pytest.mark.parametrize(
    ("fields", "param"),
    [({"n": True}, "n"), ({"max_tokens": 0}, "max_tokens"), ({"tool_choice": "required"}, "tool_choice")],
)
def test_a_rejected_field_is_a_request_error_whose_body_names_it(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(RequestError) as raised:
        _parse(**fields)
    assert raised.value.status == 400 and raised.value.param == param
    error = raised.value.body()["error"]
    assert error["param"] == param and param in error["message"] and error["type"] == "invalid_request_error"
