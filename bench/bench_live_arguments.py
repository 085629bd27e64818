"""How soon the CLI and agent live views show a growing tool-call argument (issue 12).

Run: ``python bench/bench_live_arguments.py``. Prints token counts; asserts nothing.

A long ``write_file`` call (a short ``path``, a long ``content``) is written by a model one token
(a word with its leading space) per delta, in several tool-call text formats, and goes the real way
to the screen: :class:`modelplug._pipeline.DeltaPipeline` (what a ``tool_calling="text"`` provider's
stream goes through; it holds the :class:`~modelplug.toolcalls.StreamParser`) into
:class:`modelplug.cli.agent_view.AgentView` on the live :class:`~modelplug.cli.display.LiveView`
(the view ``modelplug chat`` and ``modelplug agent`` use on a terminal; its screen output is
discarded). The same call as native tool-call deltas (the arguments JSON in token-sized fragments)
is the reference.

Printed per format: the lag, in deltas, between the delta that writes a text and the first delta
after which the live view's tool-call arguments show it: the first byte of the first argument's
value, and the first line of the long argument. 0 means the view shows it in the same delta, as
for native calls.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.console import Console

from modelplug._pipeline import DeltaPipeline
from modelplug.agents.events import ModelDelta
from modelplug.cli.agent_view import AgentView
from modelplug.cli.display import LiveView
from modelplug.types import Capabilities, ChatMessageStreamDelta, GenerationOptions, Tool, ToolCallDelta

_TOKEN = re.compile(r"\s*\S+|\s+")
_LONG = "def main():\n    print('hello, world')\n" * 40 + "main()  # the end of the file"
ARGUMENTS = {"path": "src/app.py", "content": _LONG}
TOOL = Tool("write_file", "Write a file.", {"type": "object", "properties": {"path": {}, "content": {}}})


def _py(value: str) -> str:
    return repr(value)


def _gemma(value: str) -> str:
    return '<|"|>' + value + '<|"|>'


#: format -> the call as the model writes it.
CALLS = {
    "hermes": "<tool_call>\n" + json.dumps({"name": "write_file", "arguments": ARGUMENTS}) + "\n</tool_call>\n",
    "qwen3_coder": "<tool_call>\n<function=write_file>\n"
    + "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in ARGUMENTS.items())
    + "</function>\n</tool_call>\n",
    "pythonic": "[write_file(" + ", ".join(f"{k}={_py(v)}" for k, v in ARGUMENTS.items()) + ")]",
    "lfm2": "<|tool_call_start|>[write_file("
    + ", ".join(f"{k}={_py(v)}" for k, v in ARGUMENTS.items())
    + ")]<|tool_call_end|>",
    "gemma4": "<|tool_call>call:write_file{"
    + ",".join(f"{k}:{_gemma(v)}" for k, v in ARGUMENTS.items())
    + "}<tool_call|>",
    "harmony": "<|start|>assistant<|channel|>commentary to=functions.write_file <|constrain|>json<|message|>"
    + json.dumps(ARGUMENTS)
    + "<|call|>",
}


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _view() -> tuple[AgentView, LiveView]:
    console = Console(file=_Sink(), force_terminal=True, width=100, height=40)  # type: ignore[arg-type]
    live = LiveView(console, stats_console=console, refresh_per_second=30, redirect=False)
    return AgentView(live, live=True), live


def _shown(live: LiveView) -> str:
    """The arguments text of the view's first tool call (what the live region draws from)."""
    calls = live._calls.calls
    return calls[0].arguments.text() if 0 in calls else ""


def _lags(deltas: list[list[ChatMessageStreamDelta]], written: list[str]) -> tuple[int | None, int | None]:
    """Lags (in deltas) of the first value byte and of the long value's first line; ``deltas[k]``
    are what reach the view after model token ``k``, ``written[k]`` the model text so far."""
    first_byte = json.dumps(ARGUMENTS["path"])[:2]  # '"s'
    first_line = json.dumps(_LONG.split("\n", 1)[0] + "\n")[1:-1]
    targets = {"first": ('"path": ' + first_byte, "src"), "line": (first_line, "def main():\n")}
    result: dict[str, int | None]
    agent, live = _view()
    with agent:
        result = dict.fromkeys(targets)
        written_at: dict[str, int] = {}
        for k, batch in enumerate(deltas):
            for delta in batch:
                agent.handle(ModelDelta(1, "action", delta))
            shown = _shown(live).replace('":"', '": "')
            for key, (needle, source) in targets.items():
                if key not in written_at and (source in written[k] or json.dumps(source)[1:-1] in written[k]):
                    written_at[key] = k
                if result[key] is None and key in written_at and needle in shown:
                    result[key] = k - written_at[key]
    return result["first"], result["line"]


def text_call(format: str) -> tuple[list[list[ChatMessageStreamDelta]], list[str]]:
    """The call written as text, one token per model delta, through the delta pipeline."""
    capabilities = Capabilities(tool_calling="text", tool_call_format=format)
    pipeline = DeltaPipeline.for_generation(capabilities, GenerationOptions(tools=[TOOL]), tool_call_format=format)
    out, written, text = [], [], ""
    for token in _TOKEN.findall(CALLS[format]):
        text += token
        written.append(text)
        out.append(pipeline.feed(ChatMessageStreamDelta(content=token)))
    out[-1] += pipeline.finish()
    return out, written


def native_call() -> tuple[list[list[ChatMessageStreamDelta]], list[str]]:
    """The same call as a native tool-calling backend streams it: its arguments JSON in token-sized
    fragments (``written`` is the arguments JSON generated so far)."""
    out: list[list[ChatMessageStreamDelta]] = [
        [ChatMessageStreamDelta(tool_calls=[ToolCallDelta(index=0, id="call_1", name="write_file")])]
    ]
    written, text = [""], ""
    for token in _TOKEN.findall(json.dumps(ARGUMENTS)):
        text += token
        written.append(text)
        out.append([ChatMessageStreamDelta(tool_calls=[ToolCallDelta(index=0, arguments=token)])])
    return out, written


def main() -> None:
    print("lag in deltas between a text written and the live view showing it in the call's arguments")
    print(f"{'format':<14} {'tokens':>7} {'first argument byte':>20} {'first line of a long one':>25}")
    rows: list[tuple[str, Any]] = [("native", native_call())]
    rows += [(format, text_call(format)) for format in CALLS]
    for name, (deltas, written) in rows:
        first, line = _lags(deltas, written)
        print(f"{name:<14} {len(deltas):>7} {first!s:>20} {line!s:>25}")


if __name__ == "__main__":
    main()
