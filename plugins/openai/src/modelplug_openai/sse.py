"""The ``data`` of each server-sent event in an HTTP body, as bytes, by the WHATWG SSE rules.

Cheaper than httpx-sse's ``EventSource.iter_sse`` on the same stream (rows (h) and (o+) of
``bench/bench_http_plugins.py --openai-only``: the whole provider costs about what the raw loop with
httpx-sse alone costs): it splits whole network reads instead of decoding line by line and building an
event object per line. It reads every framing variant: ``\\n``, ``\\r\\n`` and lone ``\\r`` line ends (also
split between reads), ``data:`` with or without its one space, several ``data`` lines joined with
``\\n``, comments (``:...``) and the ``event``/``id``/``retry`` fields (skipped), lines cut anywhere,
UTF-8 cut mid-character (the bytes are only decoded by ``json.loads``). An event without its closing
blank line at the end of the body is dropped, as the SSE rules say.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

__all__ = ["SSEDecoder", "aiter_sse_data", "iter_sse_data"]


class SSEDecoder:
    """The SSE framing state of one body: :meth:`feed` it each read as it arrives, sync or async,
    then :meth:`end` it; both return the ``data`` of the events they completed."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""  # the body after the last complete event (line ends already \n)

    def feed(self, read: bytes) -> list[bytes]:
        """The ``data`` of each event that ``read`` (the next bytes of the body, cut anywhere) completes."""
        if (
            # nearly every read: one whole event, one "data: " line (servers flush event by event)
            not self._buffer
            and read[:6] == b"data: "
            and read[-2:] == b"\n\n"
            and read.count(b"\n") == 2
            and b"\r" not in read
        ):
            return [read[6:-2]]
        buffer = self._buffer + read if self._buffer else read
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):  # its \n may come in the next read
                buffer, held = buffer[:-1], b"\r"
            else:
                held = b""
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        else:
            held = b""
        # a blank line ends an event: split the body into events, then each event into lines
        events = buffer.split(b"\n\n")
        self._buffer = events.pop() + held
        found: list[bytes] = []
        for event in events:
            if event[:6] == b"data: " and b"\n" not in event:  # nearly every event: one "data: " line
                found.append(event[6:])
                continue
            data = [
                (line[6:] if line[5:6] == b" " else line[5:])
                for line in event.split(b"\n")
                if line[:5] == b"data:" or line == b"data"
            ]
            if data:
                found.append(data[0] if len(data) == 1 else b"\n".join(data))
        return found

    def end(self) -> list[bytes]:
        """The events the end of the body completes: only those whose last line end was a lone ``\\r``
        (an event without its closing blank line is dropped)."""
        buffer, self._buffer = self._buffer, b""
        if not buffer.endswith(b"\r"):
            return []
        return self.feed(buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")[:-1] + b"\n")


def iter_sse_data(reads: Iterable[bytes]) -> Iterator[bytes]:
    """The ``data`` of each complete event in ``reads`` (the body's bytes in any cut), in order.

    Events without ``data`` (comments only, ``event:`` only) give nothing.
    """
    decoder = SSEDecoder()
    feed = decoder.feed
    for read in reads:
        yield from feed(read)
    yield from decoder.end()


async def aiter_sse_data(reads: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """:func:`iter_sse_data` over an async iterable of reads (``httpx.Response.aiter_bytes()``)."""
    decoder = SSEDecoder()
    feed = decoder.feed
    async for read in reads:
        for data in feed(read):
            yield data
    for data in decoder.end():
        yield data
