"""``ToolCallingAgent``: a model calls tools, step by step, until it gives a final answer.

Each action step sends the conversation (:meth:`AgentMemory.to_messages`) and the tools to the
model, runs the tool calls of its answer in order, and records their observations for the next
step; failures become observations, never exceptions. How a run ends, what each provider kind
gets, and how usage adds up: ``docs/agents.md``.
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping
from types import TracebackType
from typing import Any, Final, Literal, overload

import attrs

from modelplug._load import load_model
from modelplug._model import Model
from modelplug.agents.callable_model import model_from_callable
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
)
from modelplug.agents.memory import ActionStep, AgentMemory, Observation, PlanningStep, TaskStep
from modelplug.agents.prompts import (
    final_call_prompt,
    final_prompt,
    planning_prompt,
    planning_system_prompt,
    system_prompt,
)
from modelplug.agents.tools import (
    FINAL_ANSWER,
    FunctionTool,
    as_function_tool,
    final_answer,
    final_answer_text,
    validate_arguments,
)
from modelplug.errors import CapabilityError, InvalidOptionError, ToolCallParseError
from modelplug.log import get_logger
from modelplug.types import ChatMessage, ToolCall, Usage

__all__ = [
    "DEFAULT_TOOL_TIMEOUT_S",
    "MAX_OBSERVATION_CHARS",
    "AgentRun",
    "AsyncAgentRun",
    "ToolCallingAgent",
    "format_observation",
]

#: Observations longer than this (characters) are cut, with a note saying so.
MAX_OBSERVATION_CHARS: Final = 20_000
#: Tokens a step that asks for the final answer may write when ``max_tokens`` is not given: the
#: forced ``final_answer`` call (its answer is at most 400 characters) or the text after the step limit.
FINAL_MAX_TOKENS: Final = 512
#: Seconds the agent waits for one tool call by default before telling the model it timed out.
DEFAULT_TOOL_TIMEOUT_S: Final = 60.0

ModelLike = Model | str | Callable[[list[dict[str, Any]]], Any]


def format_observation(value: Any) -> str:
    """The text the model sees for a tool's return value: a string as is, ``None`` as
    ``"(no output)"``, lists and dicts as JSON, anything else with ``str``; cut at
    :data:`MAX_OBSERVATION_CHARS`. Never raises: a value that cannot be turned into text (its
    ``str`` fails, a circular list) is described as such, for the model to see."""
    try:
        if isinstance(value, str):
            text = value
        elif value is None:
            text = "(no output)"
        elif isinstance(value, (dict, list, tuple)):
            text = json.dumps(value, ensure_ascii=False, default=str)
        elif isinstance(value, (bytes, bytearray)):
            text = bytes(value[: MAX_OBSERVATION_CHARS * 4]).decode("utf-8", "replace")
            if len(value) > MAX_OBSERVATION_CHARS * 4:
                text += "\u2026"  # cut below with a note
        else:
            text = str(value)
    except Exception as error:
        text = f"Error: the tool's result ({_type_name(value)}) cannot be turned into text: {_describe(error)}"
    if len(text) > MAX_OBSERVATION_CHARS:
        text = text[:MAX_OBSERVATION_CHARS] + f"\n[... cut: {len(text) - MAX_OBSERVATION_CHARS} more characters]"
    return text


def _type_name(value: Any) -> str:
    return type(value).__name__


def _describe(error: BaseException) -> str:
    """``"TypeName: message"``, even when the exception's ``str`` itself fails."""
    try:
        return f"{type(error).__name__}: {error}"
    except Exception:
        return type(error).__name__


@attrs.frozen
class _Reply:
    message: ChatMessage
    ttft_s: float | None
    duration_s: float
    error: ToolCallParseError | None = None


# The run loop (``ToolCallingAgent._run`` and the steps it calls) does no I/O itself: it yields the
# events to deliver and these two requests, and is sent each request's result. ``run()`` fulfils
# them with sync calls (:func:`_drive`), ``arun()`` with async ones (:func:`_adrive`): one loop, two
# drivers.


@attrs.frozen
class _ModelRequest:
    """Ask the model (streamed when the agent streams; each delta is delivered as a ``ModelDelta``).
    Result: a :class:`_Reply` without post-processing."""

    number: int
    kind: str
    messages: list[ChatMessage]
    options: dict[str, Any]


@attrs.frozen
class _ToolRequest:
    """Run one tool function. Result: a :class:`_ToolOutcome`."""

    function: Callable[..., Any]
    arguments: Mapping[str, Any]
    timeout_s: float | None


_Step = Generator["AgentEvent | _ModelRequest | _ToolRequest", Any, Any]


def _positive(name: str, value: Any, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidOptionError(f"{name} must be a positive int, got {value!r}")


class ToolCallingAgent:
    """An agent that answers a task by calling tools through any modelplug model.

    Args:
        model: a :class:`~modelplug.Model`; a model spec string (loaded with
            :func:`~modelplug.load_model`); or a function ``messages -> ChatMessage | str`` (wrapped
            as a non-streaming provider, see :mod:`modelplug.agents.callable_model`). Models the
            agent builds are closed by :meth:`close`.
        tools: typed functions, :func:`~modelplug.agents.tool` objects, or ``(Tool, function)``
            pairs. ``final_answer`` is added unless a tool of that name is given; either way, a
            successful call of ``final_answer`` ends the run with the value it returns.
        stream_outputs: stream each model answer and yield its deltas as they arrive.
        max_steps: the most action steps before the agent asks for the answer without tools.
        planning_interval: run a planning step before action step 1 and every this many steps
            after it (``None``: never).
        instructions: text appended to the system prompt.
        generation_options: options for every model call (``max_tokens``, ``temperature``, ...).
        tool_timeout_s: seconds to wait for one tool call (default :data:`DEFAULT_TOOL_TIMEOUT_S`;
            ``None``: no limit) unless the tool sets its own ``timeout_s``; past it the model is told
            the tool timed out (the call's thread is left to finish in the background).

    Raises:
        CapabilityError: ``stream_outputs=True`` and the provider declares no streaming (the
            message names the provider).
        InvalidOptionError: bad ``max_steps`` / ``planning_interval``, a tool that cannot be used,
            two tools with the same name, or a model that is none of the accepted forms.
    """

    def __init__(
        self,
        model: ModelLike,
        tools: Iterable[Any] = (),
        *,
        stream_outputs: bool = False,
        max_steps: int = 10,
        planning_interval: int | None = None,
        instructions: str | None = None,
        generation_options: Mapping[str, Any] | None = None,
        tool_timeout_s: float | None = DEFAULT_TOOL_TIMEOUT_S,
    ) -> None:
        _positive("max_steps", max_steps)
        if tool_timeout_s is not None and (
            not isinstance(tool_timeout_s, (int, float)) or isinstance(tool_timeout_s, bool) or tool_timeout_s <= 0
        ):
            raise InvalidOptionError(f"tool_timeout_s must be a positive number of seconds, got {tool_timeout_s!r}")
        self.tool_timeout_s = tool_timeout_s
        _positive("planning_interval", planning_interval, optional=True)
        self.tools = self._collect_tools(tools)
        options = dict(generation_options or {})
        if "tools" in options:
            raise InvalidOptionError("give tools to the agent itself, not in generation_options")
        self.model, self._owns_model = self._resolve_model(model)
        capabilities = self.model.capabilities
        if stream_outputs and not capabilities.streaming:
            self.close()
            raise CapabilityError(
                f"stream_outputs=True needs a streaming model, but provider {self.model.provider!r} declares no "
                f"streaming for {self.model.model_id!r} (capabilities.streaming=False); use stream_outputs=False",
                provider=self.model.provider,
                capability="streaming",
            )
        self.stream_outputs = stream_outputs
        self.max_steps = max_steps
        self.planning_interval = planning_interval
        self.instructions = instructions
        self.generation_options = options
        #: The agent reads tool calls from the text itself (provider declares tool_calling="none").
        self.parses_tool_calls = capabilities.tool_calling == "none"
        #: Action steps ask for tool_choice="required" (the provider enforces it): every action is
        #: a call, and the run ends with final_answer, as a small model would not call on its own.
        self.forces_tool_calls = capabilities.forced_tool_choice and not self.parses_tool_calls
        if self.forces_tool_calls and self.tools[FINAL_ANSWER] is final_answer:
            # a forced call follows the schema: the built-in's answer is bounded text, not any JSON
            self.tools[FINAL_ANSWER] = final_answer_text
        described = [t.tool for t in self.tools.values()]
        self.memory = AgentMemory(system_prompt(described, describe=self.parses_tool_calls, instructions=instructions))

    @staticmethod
    def _collect_tools(tools: Iterable[Any]) -> dict[str, FunctionTool]:
        if isinstance(tools, (str, bytes, Mapping)) or callable(tools):
            raise InvalidOptionError("tools must be a list of tools")
        collected: dict[str, FunctionTool] = {}
        for value in tools:
            function_tool = as_function_tool(value)
            if function_tool.name in collected:
                raise InvalidOptionError(f"two tools are named {function_tool.name!r}")
            collected[function_tool.name] = function_tool
        collected.setdefault(FINAL_ANSWER, final_answer)
        return collected

    @staticmethod
    def _resolve_model(model: ModelLike) -> tuple[Model, bool]:
        if isinstance(model, Model):
            return model, False
        if isinstance(model, str):
            return load_model(model), True
        if callable(model):
            return model_from_callable(model), True
        raise InvalidOptionError(
            f"model must be a modelplug Model, a model spec string or a function messages -> str, got {model!r}"
        )

    # --- running ---------------------------------------------------------------------------------

    @overload
    def run(self, task: str, *, stream: Literal[False] = False, reset: bool = True) -> Any: ...

    @overload
    def run(self, task: str, *, stream: Literal[True], reset: bool = True) -> AgentRun: ...

    def run(self, task: str, *, stream: bool = False, reset: bool = True) -> Any:
        """Solve ``task``.

        Args:
            task: what to do, as the user's message.
            stream: return an iterator of events (see :mod:`modelplug.agents.events`) instead of
                the answer. The run happens as it is iterated; closing it (or breaking out of the
                loop) stops the model's stream.
            reset: forget earlier runs first; ``False`` continues the conversation.

        Returns:
            The final answer (the ``answer`` given to ``final_answer``, or the model's text), or,
            with ``stream=True``, the event iterator.

        Raises:
            ProviderError: the model failed (tool failures never raise; they become observations).
        """
        events = AgentRun(self, self._drive(self._run(task, reset)))
        if stream:
            return events
        answer = None
        for event in events:
            if isinstance(event, FinalAnswer):
                answer = event.answer
        return answer

    def arun(self, task: str, *, stream: bool = False, reset: bool = True) -> Any:
        """:meth:`run` for async code: the same steps, events, answer and errors, without blocking the loop.

        The model is called with :meth:`~modelplug.Model.astream` / :meth:`~modelplug.Model.agenerate`;
        ``async def`` tools are awaited, other tools run in a worker thread (both within their timeout;
        a sync tool past it is left to finish in its thread, as with :meth:`run`).

        Returns:
            With ``stream=False``, a coroutine: ``await agent.arun(task)`` gives the final answer.
            With ``stream=True``, an :class:`AsyncAgentRun` of the events of :meth:`run`:
            ``async with agent.arun(task, stream=True) as run: async for event in run``. Leaving
            the block, ``aclose()``, or cancelling the task while it waits for an event stops the
            model's stream.

        Raises:
            ProviderError: the model failed (tool failures never raise; they become observations).
        """
        events = self._adrive(self._run(task, reset))
        if stream:
            return AsyncAgentRun(events)
        return self._answer_of(events)

    async def _answer_of(self, events: AsyncGenerator[AgentEvent, None]) -> Any:
        answer = None
        try:
            async for event in events:
                if isinstance(event, FinalAnswer):
                    answer = event.answer
        finally:
            await events.aclose()
        return answer

    def _drive(self, steps: _Step) -> Generator[AgentEvent, None, None]:
        """The run loop's events, its requests fulfilled by sync calls."""
        result: Any = None
        try:
            while True:
                try:
                    item = steps.send(result)
                except StopIteration:
                    return
                result = None
                if isinstance(item, _ModelRequest):
                    result = yield from self._ask_model(item)
                elif isinstance(item, _ToolRequest):
                    result = _call_tool(item.function, item.arguments, item.timeout_s)
                else:
                    yield item
        finally:
            steps.close()

    def _ask_model(self, request: _ModelRequest) -> Generator[AgentEvent, None, _Reply]:
        error: ToolCallParseError | None = None
        if self.stream_outputs:
            stream = self.model.stream(request.messages, **request.options)
            self._live = stream
            try:
                for delta in stream:
                    yield ModelDelta(request.number, request.kind, delta)
            except ToolCallParseError as caught:
                error = caught
            finally:
                self._live = None
                stream.close()
            return _Reply(stream.message, stream.ttft_s, stream.duration_s or 0.0, error)
        start = time.perf_counter()
        try:
            message = self.model.generate(request.messages, **request.options)
        except ToolCallParseError as caught:
            error, message = caught, caught.message or ChatMessage(role="assistant")
        return _Reply(message, None, time.perf_counter() - start, error)

    async def _adrive(self, steps: _Step) -> AsyncGenerator[AgentEvent, None]:
        """The run loop's events, its requests fulfilled by async calls."""
        result: Any = None
        try:
            while True:
                try:
                    item = steps.send(result)
                except StopIteration:
                    return
                result = None
                if isinstance(item, _ModelRequest):
                    error: ToolCallParseError | None = None
                    if self.stream_outputs:
                        async with self.model.astream(item.messages, **item.options) as stream:
                            try:
                                async for delta in stream:
                                    yield ModelDelta(item.number, item.kind, delta)
                            except ToolCallParseError as caught:
                                error = caught
                        result = _Reply(stream.message, stream.ttft_s, stream.duration_s or 0.0, error)
                    else:
                        start = time.perf_counter()
                        try:
                            message = await self.model.agenerate(item.messages, **item.options)
                        except ToolCallParseError as caught:
                            error, message = caught, caught.message or ChatMessage(role="assistant")
                        result = _Reply(message, None, time.perf_counter() - start, error)
                elif isinstance(item, _ToolRequest):
                    result = await _acall_tool(item.function, item.arguments, item.timeout_s)
                else:
                    yield item
        finally:
            steps.close()

    def _run(self, task: str, reset: bool) -> _Step:
        if reset:
            self.memory.reset()
        self.memory.steps.append(TaskStep(task))
        for number in range(1, self.max_steps + 1):
            if self.planning_interval is not None and (number - 1) % self.planning_interval == 0:
                yield from self._planning_step(number, task)
            step = yield from self._action_step(number)
            if step.is_final:
                yield FinalAnswer(step.final_answer, number, self.memory.total_usage, self.memory.total_cost)
                return
        get_logger().warning("agent_max_steps", max_steps=self.max_steps, provider=self.model.provider)
        yield MaxStepsReached(self.max_steps)
        step = yield from self._final_step(self.max_steps + 1, task)
        yield FinalAnswer(step.final_answer, step.step_number, self.memory.total_usage, self.memory.total_cost)

    #: The model stream being read now (closed by :meth:`AgentRun.close` from another thread).
    _live: Any = None

    def _call_model(
        self, number: int, kind: str, messages: list[ChatMessage], *, with_tools: bool, final: bool = False
    ) -> _Step:
        """Ask the model (the driver yields its deltas when streaming), then yield its answer; return
        a :class:`_Reply`. ``final``: the step asks for the final answer (a forced ``final_answer``
        call, or the text after the step limit); it writes at most :data:`FINAL_MAX_TOKENS` tokens
        unless ``max_tokens`` was given."""
        options = dict(self.generation_options)
        if final:
            options.setdefault("max_tokens", FINAL_MAX_TOKENS)
        if with_tools and not self.parses_tool_calls:
            options["tools"] = [t.tool for t in self.tools.values()]
            if self.forces_tool_calls and "tool_choice" not in options:
                options["tool_choice"] = (
                    {"type": "function", "function": {"name": FINAL_ANSWER}} if final else "required"
                )
        raw: _Reply = yield _ModelRequest(number, kind, messages, options)
        message, ttft_s, duration_s, error = raw.message, raw.ttft_s, raw.duration_s, raw.error
        if with_tools and self.parses_tool_calls and error is None and not message.tool_calls and message.text:
            try:
                message = self._parse_text_calls(message)
            except ToolCallParseError as caught:
                error = caught
        if error is not None:
            # Remember what the model wrote, without calls: none of them runs.
            message = ChatMessage(
                role="assistant",
                content=error.text or message.text or None,
                usage=message.usage,
                model=message.model,
                cost=message.cost,
            )
        yield ModelOutput(number, kind, message)
        return _Reply(message, ttft_s, duration_s, error)

    def _forces_final_answer(self) -> bool:
        """Whether this action step's call is forced to be ``final_answer`` (see below)."""
        return (
            self.forces_tool_calls
            and "tool_choice" not in self.generation_options
            and self._last_call_was_answered_before()
        )

    def _last_results(self) -> list[str]:
        """The observations of the last action step that are not errors, as ``name: content`` lines."""
        actions = [step for step in self.memory.steps if isinstance(step, ActionStep) and step.kind == "action"]
        if not actions:
            return []
        seen = actions[-1].observations
        return [f"{o.tool_call.name}: {o.content}" for o in seen if o.tool_call is not None and not o.is_error]

    def _last_call_was_answered_before(self) -> bool:
        """Whether the last action step only repeated calls (same name and arguments) that an
        earlier step had already run without error: a model forced to call keeps repeating a call
        it has the answer to, so the next forced call is ``final_answer``."""
        actions = [step for step in self.memory.steps if isinstance(step, ActionStep) and step.kind == "action"]
        if len(actions) < 2 or not actions[-1].tool_calls:
            return False
        answered = {
            (observation.tool_call.name, json.dumps(observation.tool_call.arguments, sort_keys=True))
            for step in actions[:-1]
            for observation in step.observations
            if observation.tool_call is not None and not observation.is_error
        }
        return all((c.name, json.dumps(c.arguments, sort_keys=True)) in answered for c in actions[-1].tool_calls)

    def _parse_text_calls(self, message: ChatMessage) -> ChatMessage:
        from modelplug import toolcalls

        result = toolcalls.parse(message.text, tools=[t.tool for t in self.tools.values()])
        if not result.tool_calls:
            if toolcalls.looks_like_call(message.text):  # an unreadable call is not an answer:
                call = toolcalls.tool_call_from_text(message.text)  # raises, naming what is wrong
                if call.name in self.tools:  # readable by the helper only (a Python dict, a trailing
                    if call.arguments is None:  # comma): a call all the same, never the final answer
                        raise ToolCallParseError(
                            f"the arguments of the call to {call.name!r} are not a JSON object",
                            format="json_blob",
                            text=message.text,
                            offset=0,
                        )
                    return attrs.evolve(message, content=None, tool_calls=(call,))
            return message
        return attrs.evolve(message, content=result.content or None, tool_calls=tuple(result.tool_calls))

    def _planning_step(self, number: int, task: str) -> _Step:
        yield StepStart(number, "planning")
        described = [t.tool for t in self.tools.values()]
        messages = [
            ChatMessage(role="system", content=planning_system_prompt(described, self.instructions)),
            *_with_user_message(self.memory.to_messages(summary_mode=True), planning_prompt(task, number)),
        ]
        reply = yield from self._call_model(number, "planning", messages, with_tools=False)
        step = PlanningStep(number, tuple(messages), reply.message, reply.message.usage, reply.ttft_s, reply.duration_s)
        self.memory.steps.append(step)
        _log_step(step.step_number, "planning", step.usage, step.duration_s, 0)
        yield PlanningStepEnd(number, step.plan, step.usage, step.ttft_s, step.duration_s)
        return step

    def _action_step(self, number: int) -> _Step:
        yield StepStart(number, "action")
        messages = self.memory.to_messages()
        final = self._forces_final_answer()
        if final:  # the answer is in the last results: put them and the task right before the forced call
            task = next((s.task for s in reversed(self.memory.steps) if isinstance(s, TaskStep)), "")
            messages.append(ChatMessage(role="user", content=final_call_prompt(task, self._last_results())))
        reply = yield from self._call_model(number, "action", messages, with_tools=True, final=final)
        message = reply.message
        calls = message.tool_calls
        observations: list[Observation] = []
        is_final, answer = False, None
        for call in calls:
            yield ToolCallComplete(number, call)
            observation, ended, value = yield from self._run_tool(call)
            observations.append(observation)
            yield ToolResult(number, call, observation.content, observation.is_error, observation.duration_s)
            if ended and not is_final:
                is_final, answer = True, value
        note: Observation | None = None
        if reply.error is not None:
            note = Observation(
                None,
                f"Error: your tool call could not be read ({reply.error.reason}); no tool was run. Call the tools "
                "again with each call's arguments as a valid JSON object.",
                is_error=True,
            )
        elif not calls:
            if message.text.strip():
                is_final, answer = True, message.text.strip()
            else:
                note = Observation(
                    None,
                    f"Error: you neither called a tool nor answered. Call a tool, or {FINAL_ANSWER}.",
                    is_error=True,
                )
        if note is not None:
            observations.append(note)
            yield ToolResult(number, None, note.content, True)
        step = ActionStep(
            number,
            "action",
            tuple(messages),
            message,
            calls,
            tuple(observations),
            message.usage,
            reply.ttft_s,
            reply.duration_s,
            is_final,
            answer,
        )
        self.memory.steps.append(step)
        _log_step(number, "action", step.usage, step.duration_s, len(calls))
        yield ActionStepEnd(number, "action", step.usage, step.ttft_s, step.duration_s, len(calls), is_final)
        return step

    def _final_step(self, number: int, task: str) -> _Step:
        yield StepStart(number, "final")
        messages = _with_user_message(self.memory.to_messages(summary_mode=True), final_prompt(task, self.max_steps))
        if self.instructions:
            messages.insert(0, ChatMessage(role="system", content=self.instructions))
        reply = yield from self._call_model(number, "final", messages, with_tools=False, final=True)
        message = reply.message
        answer: Any = message.text.strip()
        if not answer:  # a model that still "calls" final_answer
            for call in message.tool_calls:
                if call.name == FINAL_ANSWER and call.arguments and "answer" in call.arguments:
                    answer = call.arguments["answer"]
                    break
        step = ActionStep(
            number,
            "final",
            tuple(messages),
            message,
            (),
            (),
            message.usage,
            reply.ttft_s,
            reply.duration_s,
            True,
            answer,
        )
        self.memory.steps.append(step)
        _log_step(number, "final", step.usage, step.duration_s, 0)
        yield ActionStepEnd(number, "final", step.usage, step.ttft_s, step.duration_s, 0, True)
        return step

    def _run_tool(self, call: ToolCall) -> _Step:
        """Run one call (through the driver); return its observation, whether it ends the run, and
        the answer if so."""
        start = time.perf_counter()

        def failed(text: str) -> tuple[Observation, bool, Any]:
            return Observation(call, f"Error: {text}", True, time.perf_counter() - start), False, None

        function_tool = self.tools.get(call.name)
        if function_tool is None:
            return failed(f"unknown tool {call.name!r}; the tools are: {', '.join(self.tools)}")
        if call.arguments is None:
            return failed(
                f"the arguments of {call.name!r} are not a JSON object: {call.raw_arguments!r}. "
                f"Expected: {json.dumps(function_tool.tool.parameters, ensure_ascii=False)}"
            )
        problems = validate_arguments(function_tool.tool.parameters, call.arguments)
        if problems:
            return failed(
                f"bad arguments for {call.name!r}: {'; '.join(problems)}. "
                f"Expected: {json.dumps(function_tool.tool.parameters, ensure_ascii=False)}"
            )
        timeout = function_tool.timeout_s if function_tool.timeout_s is not None else self.tool_timeout_s
        outcome: _ToolOutcome = yield _ToolRequest(function_tool.function, call.arguments, timeout)
        if outcome.timed_out:
            return failed(f"tool {call.name!r} did not finish within {timeout:g} s; it was abandoned")
        if outcome.error is not None:
            return failed(f"tool {call.name!r} raised {_describe(outcome.error)}")
        value = outcome.value
        observation = Observation(call, format_observation(value), False, time.perf_counter() - start)
        return observation, call.name == FINAL_ANSWER, value

    # --- lifetime --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the model if the agent built it (from a spec string or a function)."""
        if self._owns_model:
            self.model.close()

    def __enter__(self) -> ToolCallingAgent:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ToolCallingAgent({self.model!r}, tools={list(self.tools)}, stream_outputs={self.stream_outputs})"


@attrs.frozen
class _ToolOutcome:
    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False


def _call_sync(function: Callable[..., Any], arguments: Mapping[str, Any], timeout_s: float | None = None) -> Any:
    """``function(**arguments)``; an ``async def`` tool called from sync code runs on its own event
    loop, cancelled after ``timeout_s`` seconds (so a timed-out call does not keep its thread, loop
    and connections alive; it raises ``TimeoutError`` then)."""
    value = function(**arguments)
    if inspect.iscoroutine(value):
        import asyncio

        return asyncio.run(_within(value, timeout_s))
    return value


class _TimedOut(Exception):
    """The time limit of :func:`_within` ran out (a ``TimeoutError`` the tool raised itself is not this)."""


async def _within(coroutine: Any, timeout_s: float | None) -> Any:
    import asyncio

    limit = asyncio.timeout(timeout_s)
    try:
        async with limit:
            return await coroutine
    except TimeoutError:
        if limit.expired():
            raise _TimedOut from None
        raise


def _call_tool(function: Callable[..., Any], arguments: Mapping[str, Any], timeout_s: float | None) -> _ToolOutcome:
    """Run ``function(**arguments)``; with ``timeout_s``, in a daemon thread waited for that long.
    Any exception the tool raises (``SystemExit`` included) is returned, never raised."""
    if timeout_s is None:
        try:
            return _ToolOutcome(_call_sync(function, arguments))
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as error:
            return _ToolOutcome(error=error)
    box: list[_ToolOutcome] = []

    def work() -> None:
        try:
            box.append(_ToolOutcome(_call_sync(function, arguments, timeout_s)))
        except _TimedOut:  # its own limit may end it before join() below wakes up on a busy machine
            box.append(_ToolOutcome(timed_out=True))
        except BaseException as error:  # a thread's exception has nowhere else to go
            box.append(_ToolOutcome(error=error))

    worker = threading.Thread(target=work, name="modelplug-tool", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive() or not box:
        return _ToolOutcome(timed_out=True)
    return box[0]


async def _acall_tool(
    function: Callable[..., Any], arguments: Mapping[str, Any], timeout_s: float | None
) -> _ToolOutcome:
    """:func:`_call_tool` for async code: an ``async def`` tool is awaited on the loop, another runs in a
    worker thread (left to finish there past ``timeout_s``). Tool exceptions are returned, also a
    ``CancelledError`` the tool raises itself and a ``KeyboardInterrupt`` raised in the worker thread
    (neither can be the user's); cancellation of the run propagates."""
    import anyio
    import anyio.to_thread

    in_thread = not inspect.iscoroutinefunction(function)
    with anyio.move_on_after(timeout_s):
        try:
            if not in_thread:
                value = await function(**arguments)
            else:
                value = await anyio.to_thread.run_sync(
                    functools.partial(_call_sync, function, arguments), abandon_on_cancel=True
                )
                if inspect.iscoroutine(value):  # a sync function that returned a coroutine
                    value = await value
        except (Exception, SystemExit) as error:
            return _ToolOutcome(error=error)
        except anyio.get_cancelled_exc_class() as error:
            if _cancel_requested():
                raise
            return _ToolOutcome(error=error)
        except KeyboardInterrupt as error:
            if not in_thread:  # on the loop's thread it may be the user's Ctrl-C
                raise
            return _ToolOutcome(error=error)
        return _ToolOutcome(value)
    return _ToolOutcome(timed_out=True)  # only reached when move_on_after cut the call


def _cancel_requested() -> bool:
    """Whether the running task is being cancelled (by the caller or a tool's time limit); ``False``
    when a ``CancelledError`` came from a tool that raised it on its own. Assumed so off asyncio."""
    import asyncio

    try:
        task = asyncio.current_task()
    except RuntimeError:  # another event loop (trio): its cancellation cannot be raised by a tool
        return True
    return task is None or task.cancelling() > 0


class AgentRun:
    """The event iterator :meth:`ToolCallingAgent.run` returns with ``stream=True``.

    Iterate it for :data:`~modelplug.agents.events.AgentEvent` values. :meth:`close` may be called
    from any thread: it closes the model stream being read (so a waiting iteration ends promptly)
    and the run ends cleanly at the next event, without an exception.
    """

    __slots__ = ("_agent", "_closed", "_events", "_lock")

    def __init__(self, agent: ToolCallingAgent, events: Generator[AgentEvent, None, None]) -> None:
        self._agent = agent
        self._events = events
        self._closed = False
        self._lock = threading.Lock()

    def __iter__(self) -> AgentRun:
        return self

    def __next__(self) -> AgentEvent:
        self._stop_if_closed()
        with self._lock:
            event = next(self._events)
        self._stop_if_closed()  # closed from another thread while this event was produced
        return event

    def _stop_if_closed(self) -> None:
        if self._closed:
            with self._lock:
                self._events.close()
            raise StopIteration

    def close(self) -> None:
        """Stop the run (idempotent, thread-safe)."""
        self._closed = True
        live = self._agent._live
        if live is not None:
            live.close()
        if self._lock.acquire(blocking=False):  # not running in another thread: close it here
            try:
                self._events.close()
            finally:
                self._lock.release()

    def __enter__(self) -> AgentRun:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncAgentRun:
    """The async event iterator :meth:`ToolCallingAgent.arun` returns with ``stream=True``.

    ``async for`` it for :data:`~modelplug.agents.events.AgentEvent` values; use it in ``async with``
    (or call :meth:`aclose`) so that a consumer that stops early, or is cancelled between two events,
    stops the model's stream at once rather than when the iterator is garbage-collected.
    """

    __slots__ = ("_events",)

    def __init__(self, events: AsyncGenerator[AgentEvent, None]) -> None:
        self._events = events

    def __aiter__(self) -> AsyncAgentRun:
        return self

    async def __anext__(self) -> AgentEvent:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Stop the run and the model's stream (idempotent)."""
        await self._events.aclose()

    async def __aenter__(self) -> AsyncAgentRun:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _with_user_message(messages: list[ChatMessage], text: str) -> list[ChatMessage]:
    """``messages`` plus a user message ``text`` (merged into a trailing user message)."""
    if messages and messages[-1].role == "user":
        return [*messages[:-1], ChatMessage(role="user", content=f"{messages[-1].text}\n\n{text}")]
    return [*messages, ChatMessage(role="user", content=text)]


def _log_step(number: int, kind: str, usage: Usage | None, duration_s: float, tool_calls: int) -> None:
    get_logger().info(
        "agent_step",
        step=number,
        kind=kind,
        tool_calls=tool_calls,
        duration_s=duration_s,
        usage=None if usage is None else [usage.prompt_tokens, usage.completion_tokens, usage.total_tokens],
    )
