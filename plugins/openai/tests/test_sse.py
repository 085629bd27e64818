"""The SSE reader on every framing variant, cut at every byte."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from modelplug_openai.sse import iter_sse_data

BODIES = {
    "lf": b'data: {"a":1}\n\ndata: [DONE]\n\n',
    "no space": b'data:{"a":1}\n\ndata:[DONE]\n\n',
    "crlf with comments": b': keep-alive\r\ndata: {"a":1}\r\n\r\n: ping\r\n\r\ndata: [DONE]\r\n\r\n',
    "lone cr": b'data: {"a":1}\r\rdata: [DONE]\r\r',
    "fields and two data lines": b'event: message\nid: 7\nretry: 10\ndata: {"a":\ndata: 1}\n\ndata: [DONE]\n\n',
    "utf-8": 'data: {"a":"é😀"}\n\ndata: [DONE]\n\n'.encode(),
}
EXPECTED = {
    "fields and two data lines": [b'{"a":\n1}', b"[DONE]"],
    "utf-8": ['{"a":"é😀"}'.encode(), b"[DONE]"],
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_every_cut_of_every_framing_gives_the_same_events(name: str) -> None:
    body = BODIES[name]
    want = EXPECTED.get(name, [b'{"a":1}', b"[DONE]"])
    assert list(iter_sse_data([body])) == want
    for cut in range(1, len(body)):
        assert list(iter_sse_data([body[:cut], body[cut:]])) == want, cut
    assert list(iter_sse_data([body[i : i + 1] for i in range(len(body))])) == want


def test_an_event_without_its_blank_line_at_the_end_is_dropped() -> None:
    assert list(iter_sse_data([b'data: {"a":1}\n\ndata: {"b"'])) == [b'{"a":1}']
    assert list(iter_sse_data([b": only a comment\n\n", b"event: x\n\n"])) == []


@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_async_reader_and_the_decoder_give_the_same_events(name: str) -> None:
    import asyncio

    from modelplug_openai.sse import SSEDecoder, aiter_sse_data

    body = BODIES[name]
    want = EXPECTED.get(name, [b'{"a":1}', b"[DONE]"])

    async def reads(pieces: list[bytes]) -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    async def collect(pieces: list[bytes]) -> list[bytes]:
        return [data async for data in aiter_sse_data(reads(pieces))]

    for cut in range(1, len(body)):
        assert asyncio.run(collect([body[:cut], body[cut:]])) == want, cut
        decoder = SSEDecoder()
        assert decoder.feed(body[:cut]) + decoder.feed(body[cut:]) + decoder.end() == want, cut
