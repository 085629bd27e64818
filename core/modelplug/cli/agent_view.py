"""Showing an agent run (the events of :mod:`modelplug.agents.events`) on the command line's views.

:class:`AgentView` drives one of the views ``modelplug run`` uses (a
:class:`~modelplug.cli.display.LiveView` on a terminal, else a :class:`~modelplug.cli.plain.PlainView`);
:class:`JsonEventsView` writes the events as JSON lines instead. The layout of a step and why the
cost per delta stays flat: ``docs/cli.md`` (``modelplug agent``, "Inside the command line").
"""

from __future__ import annotations

import contextlib
import time
from typing import IO, Any, Final

from modelplug._stream import message_to_deltas
from modelplug.agents.agent import format_observation
from modelplug.agents.events import (
    ActionStepEnd,
    AgentEvent,
    FinalAnswer,
    MaxStepsReached,
    ModelDelta,
    ModelOutput,
    PlanningStepEnd,
    StepStart,
    ToolCallComplete,
    ToolResult,
    event_to_dict,
)
from modelplug.agents.tools import FINAL_ANSWER
from modelplug.cli.plain import format_tool_call, json_line
from modelplug.cli.stats import StreamStats
from modelplug.types import ChatMessageStreamDelta, Usage

__all__ = ["AgentView", "JsonEventsView", "step_title"]

#: Observations longer than this (characters) are cut on screen (the model still sees them whole).
SHOWN_OBSERVATION_CHARS: Final = 2_000


def step_title(event: StepStart, max_steps: int | None = None) -> str:
    """The heading of a step: ``Step 2``, ``Plan (before step 1)``, ``Final answer (step limit 10 reached)``."""
    if event.kind == "planning":
        return f"Plan (before step {event.step_number})"
    if event.kind == "final":
        limit = max_steps if max_steps is not None else event.step_number - 1
        return f"Final answer (step limit {limit} reached)"
    return f"Step {event.step_number}"


def _shorten(text: str) -> str:
    if len(text) <= SHOWN_OBSERVATION_CHARS:
        return text
    return text[:SHOWN_OBSERVATION_CHARS] + f"… [{len(text) - SHOWN_OBSERVATION_CHARS} more characters]"


class AgentView:
    """Renders agent events on a message view.

    Args:
        view: a :class:`~modelplug.cli.display.LiveView` (``live=True``) or a
            :class:`~modelplug.cli.plain.PlainView`.
        live: whether ``view`` is a live view (spinner, step statistics on screen).
        err: where a plain view's step statistics go (stderr).
        show_stats: write step statistics (a live view always shows them).
        max_steps: the agent's step limit, for the title of the final step.
    """

    def __init__(
        self,
        view: Any,
        *,
        live: bool,
        err: IO[str] | None = None,
        show_stats: bool = True,
        max_steps: int | None = None,
    ) -> None:
        self.view = view
        self.live = live
        self.err = err
        self.show_stats = show_stats
        self.max_steps = max_steps
        self.deltas = 0  # of the run
        self._step_deltas = 0
        self._output_deltas = 0
        self._last_text = ""  # the text of the last model message
        self._start = time.perf_counter()

    def __enter__(self) -> AgentView:
        self.view.__enter__()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        end_line = getattr(self.view, "end_line", None)
        if exc[0] is not None and end_line is not None:  # cut short (Ctrl-C): no partial line left open
            with contextlib.suppress(Exception):  # e.g. a closed stdout: the interruption is what matters
                end_line()
        self.view.__exit__(*exc)

    def handle(self, event: AgentEvent) -> None:
        """Show one event."""
        if type(event) is ModelDelta:  # the hot path: one test, one append
            self.view.update(event.delta)
            self._step_deltas += 1
            return
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    # --- one method per event type ---------------------------------------------------------------

    def _step_start(self, event: StepStart) -> None:
        self._step_deltas = self._output_deltas = 0
        title = step_title(event, self.max_steps)
        if self.live:
            from rich.rule import Rule

            self.view.add_block(Rule(title, style="bold", align="left"))
        else:
            self.view.add_block(f"== {title} ==")

    def _model_output(self, event: ModelOutput) -> None:
        self._output_deltas, self._step_deltas = self._step_deltas, 0
        self.deltas += self._output_deltas
        self._last_text = event.message.text or ""
        if not self._output_deltas:  # not streamed: show the whole message now
            for delta in message_to_deltas(event.message):
                self.view.update(delta)
        if self.live:
            self.view.end_message(wait=False)
        elif event.message.text and not event.message.text.endswith("\n"):
            self.view.update(ChatMessageStreamDelta(content="\n"))  # statistics and blocks start on a new line

    def _tool_call(self, event: ToolCallComplete) -> None:
        if self.live:
            self.view.set_status(f"running {event.tool_call.name}…")
        elif event.tool_call.name != FINAL_ANSWER:  # its answer is shown once, as the final answer
            self.view.add_block(f"tool call: {format_tool_call(event.tool_call)}")

    def _tool_result(self, event: ToolResult) -> None:
        call = event.tool_call
        if call is not None and call.name == FINAL_ANSWER and not event.is_error:
            return  # shown once, as the final answer
        title = f"{call.name} → {'error' if event.is_error else 'observation'}" if call is not None else "note"
        self.view.add_block(_shorten(event.observation), title=title, kind="error" if event.is_error else "observation")

    def _stats(self, label: str, usage: Usage | None, ttft_s: float | None, duration_s: float) -> None:
        line = f"{label}: " + StreamStats(ttft_s, duration_s, usage, deltas=self._output_deltas).format()
        if self.live:
            from rich.text import Text

            self.view.add_block(Text(line, style="dim"))
        elif self.show_stats and self.err is not None:
            self.err.write(line + "\n")
            self.err.flush()

    def _planning_end(self, event: PlanningStepEnd) -> None:
        self._stats(f"plan {event.step_number}", event.usage, event.ttft_s, event.duration_s)

    def _action_end(self, event: ActionStepEnd) -> None:
        label = "final step" if event.kind == "final" else f"step {event.step_number}"
        self._stats(label, event.usage, event.ttft_s, event.duration_s)

    def _max_steps(self, event: MaxStepsReached) -> None:
        self.view.add_block(
            f"The step limit ({event.max_steps}) is reached without an answer: asking the model for its final "
            "answer, without tools.",
            title="step limit",
            kind="error",
        )

    def _final_answer(self, event: FinalAnswer) -> None:
        answer = format_observation(event.answer)
        if self.live or answer.strip() != self._last_text.strip():  # else: the message just shown is the answer
            self.view.add_block(answer, title="final answer", kind="plan")
        duration = time.perf_counter() - self._start
        self.view.finish(StreamStats(duration_s=duration, usage=event.usage, deltas=self.deltas, cost=event.cost))


_HANDLERS: Final[dict[type, Any]] = {
    StepStart: AgentView._step_start,
    ModelOutput: AgentView._model_output,
    ToolCallComplete: AgentView._tool_call,
    ToolResult: AgentView._tool_result,
    PlanningStepEnd: AgentView._planning_end,
    ActionStepEnd: AgentView._action_end,
    MaxStepsReached: AgentView._max_steps,
    FinalAnswer: AgentView._final_answer,
}


class JsonEventsView:
    """One JSON object per event and line (:func:`~modelplug.agents.events.event_to_dict`), flushed per line."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def __enter__(self) -> JsonEventsView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def handle(self, event: AgentEvent) -> None:
        """Write ``event`` as a JSON line."""
        self.out.write(json_line(event_to_dict(event)))
        self.out.flush()
