"""Tool-call text parsing: throughput on long prose and per-delta cost of the incremental parser.

Run: ``python bench/bench_toolcalls.py [--size-kb 1024] [--runs R] [--format hermes]``. Prints
medians; asserts nothing.

- throughput: MB/s of :func:`modelplug.toolcalls.parse` on long prose with no call (plain prose,
  and prose full of ``<tags>``, ``[links]`` and ``{braces}`` that look like the start of a marker),
  with format detection (every format's markers active) and with one format; and of
  :class:`~modelplug.toolcalls.StreamParser` fed the same text in ~4-character token deltas.
- per delta: µs per 1-token delta through ``StreamParser.feed`` (tokens are words with their
  leading space), on prose without calls, on prose with a hermes call every ~60 tokens (its
  arguments stream as they are written), and with a long qwen3_coder / hermes call with several
  arguments every ~60 tokens; next to the floor of building one ``ChatMessageStreamDelta`` per
  token, which any streaming pipeline pays.
- argument lag: for a long hermes and a long qwen3_coder call fed token by token, how many tokens
  after a short first argument was written it was shown in the arguments deltas, and the same for
  the first line of a long last argument (0: in the same delta).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable

from modelplug.toolcalls import StreamParser, parse
from modelplug.types import ChatMessageStreamDelta

PROSE = (
    "The weather in Paris is mild today, with a light breeze from the west and a few clouds. "
    "Tomorrow looks warmer; expect sunshine in the afternoon and a cool evening by the river.\n\n"
)
MARKUP = (
    "See the <b>docs</b> for [details](https://example.com) and set {verbose} in the config; "
    "a < b and c > d hold, [1] and [2] agree, and `code` stays as it is.\n"
)
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}\n</tool_call>\n'
_TOKEN = re.compile(r"\s*\S+|\s+")
_LONG = "def main():\n    print('hello, world')\n" * 40 + "main()  # the end of the file"
_ARGS = {"path": "src/app.py", "mode": "overwrite", "content": _LONG}
LONG_CALLS = {
    "hermes": "<tool_call>\n" + json.dumps({"name": "write_file", "arguments": _ARGS}) + "\n</tool_call>\n",
    "qwen3_coder": "<tool_call>\n<function=write_file>\n"
    + "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in _ARGS.items())
    + "</function>\n</tool_call>\n",
}


def _median(run: Callable[[], float], runs: int) -> float:
    return statistics.median(run() for _ in range(runs))


def _parse_seconds(text: str, format: str | None) -> float:
    start = time.perf_counter()
    parse(text, format)
    return time.perf_counter() - start


def _stream_seconds(pieces: list[str], format: str | None) -> float:
    start = time.perf_counter()
    parser = StreamParser(format)
    for piece in pieces:
        parser.feed(piece)
    parser.finish()
    return time.perf_counter() - start


def _floor_seconds(pieces: list[str]) -> float:
    start = time.perf_counter()
    for piece in pieces:
        ChatMessageStreamDelta(content=piece)
    return time.perf_counter() - start


def _chunks(text: str, size: int) -> list[str]:
    return [text[k : k + size] for k in range(0, len(text), size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-kb", type=int, default=1024, help="size of the prose texts (default 1024 KiB)")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement; the median is shown")
    parser.add_argument("--format", default="hermes", help="the explicit format to compare with detection")
    args = parser.parse_args()
    size = args.size_kb * 1024
    texts = {
        "prose": (PROSE * (size // len(PROSE) + 1))[:size],
        "prose with markup": (MARKUP * (size // len(MARKUP) + 1))[:size],
    }

    print(f"throughput on {args.size_kb} KiB without a call (MB/s, median of {args.runs})")
    print(f"{'text':<20} {'parser':<26} {'MB/s':>8}")
    for name, text in texts.items():
        megabytes = len(text.encode()) / 1e6
        tokens = _chunks(text, 4)
        for label, format in (("detect", None), (args.format, args.format)):
            seconds = _median(lambda t=text, f=format: _parse_seconds(t, f), args.runs)
            print(f"{name:<20} {'parse, ' + label:<26} {megabytes / seconds:8.1f}")
            seconds = _median(lambda p=tokens, f=format: _stream_seconds(p, f), args.runs)
            print(f"{name:<20} {'StreamParser 4-char, ' + label:<26} {megabytes / seconds:8.1f}")

    words = _TOKEN.findall(texts["prose"][:200_000])
    with_calls: list[str] = []
    for k, word in enumerate(words):
        with_calls.append(word)
        if k % 60 == 59:
            with_calls += _TOKEN.findall(CALL)
    print()
    print(f"per-delta cost, 1-token deltas (µs/delta, median of {args.runs})")
    print(f"{'stream':<32} {'deltas':>8} {'detect':>8} {args.format:>8}")
    floor = _median(lambda: _floor_seconds(words), args.runs) / len(words) * 1e6
    print(f"{'floor: one delta object / token':<32} {len(words):>8} {floor:8.2f} {floor:8.2f}")
    for label, pieces in (("prose, no call", words), ("prose, a call every 60 tokens", with_calls)):
        cells = []
        for format in (None, args.format):
            seconds = _median(lambda p=pieces, f=format: _stream_seconds(p, f), args.runs)
            cells.append(seconds / len(pieces) * 1e6)
        print(f"{label:<32} {len(pieces):>8} {cells[0]:8.2f} {cells[1]:8.2f}")
    for format, call in LONG_CALLS.items():
        pieces = []
        for k, word in enumerate(words[:20_000]):
            pieces.append(word)
            if k % 60 == 59:
                pieces += _TOKEN.findall(call)
        seconds = _median(lambda p=pieces, f=format: _stream_seconds(p, f), args.runs)
        print(f"{'prose, long ' + format + ' calls':<32} {len(pieces):>8} {'':>8} {seconds / len(pieces) * 1e6:8.2f}")

    print()
    print("argument lag: tokens between text written and the same text shown as arguments (0: same delta)")
    print(f"{'call':<14} {'tokens':>7} {'short first argument':>21} {'first line of a long one':>25}")
    for format, call in LONG_CALLS.items():
        tokens = _TOKEN.findall(call)
        first, last = _lag(tokens, format, "src/app.py"), _lag(tokens, format, "def main():")
        print(f"{format:<14} {len(tokens):>7} {first:>21} {last:>25}")


def _lag(tokens: list[str], format: str, value_end: str) -> str:
    """Tokens between the one that completes ``value_end`` in the text and the first argument delta
    that shows it (argument text shown so far contains it, JSON-escaped or not)."""
    parser = StreamParser(format)
    text, shown = "", ""
    written_at = None
    escaped = json.dumps(value_end)[1:-1]
    for k, token in enumerate([*tokens, None]):
        deltas = parser.feed(token) if token is not None else parser.finish()
        if token is not None:
            text += token
            if written_at is None and value_end in text:
                written_at = k
        shown += "".join(piece.arguments or "" for d in deltas for piece in d.tool_calls)
        if written_at is not None and escaped in shown:
            return str(k - written_at)
    return "never"


if __name__ == "__main__":
    main()
