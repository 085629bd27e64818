"""``modelplug run``: stream one answer to a prompt.

Output depends on where it goes:

- a terminal: a live view (:class:`~modelplug.cli.display.LiveView`) of the growing answer as
  Markdown, reasoning dimmed, tool calls as they stream; then TTFT, tokens/s and usage on stderr;
- a pipe or file, or ``--no-live``: the answer's text exactly, written as it arrives and flushed per
  delta, no control codes (:class:`~modelplug.cli.plain.PlainView`); reasoning goes to stderr;
  statistics go to stderr when stderr is a terminal, or with ``--stats``;
- ``--json``: JSON lines, one ``chat.completion.chunk`` per delta and a final ``modelplug.result``
  line with the complete message and the statistics (:class:`~modelplug.cli.plain.JsonLinesView`).

Ctrl-C stops the stream (the backend is stopped too), keeps the partial answer and exits with 130.
The prompt and the answer are logged (:mod:`modelplug.cli.conversations`) unless logging is off or
``--no-log`` is given; ``-c`` / ``--cid`` continue a logged conversation.
"""

from __future__ import annotations

import errno
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import click

from modelplug.cli import interrupted
from modelplug.cli.inputs import isatty, load_tools, read_prompt
from modelplug.cli.options import generation_flags, generation_options, load_cli_model, provider_generation_options
from modelplug.errors import ModelplugError

if TYPE_CHECKING:
    from modelplug._model import Model
    from modelplug.cli.plain import View
    from modelplug.cli.stats import StreamStats
    from modelplug.types import ChatMessage

__all__ = ["Turn", "answer", "conversation_flags", "log_turn", "read_prompt", "run", "start_conversation"]


def _make_view(as_json: bool, live: bool, show_stats: bool, spec: str, response_id: str) -> View:
    out = sys.stdout
    if as_json:
        from modelplug.cli.plain import JsonLinesView

        return JsonLinesView(out, model=spec, id=f"chatcmpl-{response_id}")
    if live:
        from modelplug.cli.display import LiveView

        return LiveView()
    from modelplug.cli.plain import PlainView

    return PlainView(out, sys.stderr, show_stats=show_stats)


def conversation_flags(function: Any) -> Any:
    """The conversation and logging flags of ``run`` and ``chat``: ``-c``, ``--cid``, ``--log/--no-log``."""
    function = click.option(
        "--log/--no-log",
        "log",
        default=None,
        help="Log this prompt and answer (default: on, unless `modelplug logs off`).",
    )(function)
    function = click.option(
        "--cid", "--conversation", "cid", metavar="ID", help="Continue the logged conversation ID."
    )(function)
    function = click.option(
        "-c", "--continue", "continue_", is_flag=True, help="Continue the last logged conversation."
    )(function)
    return function


@attrs.define
class _Conversation:
    id: str
    history: list[dict[str, Any]]
    model: str | None  # the spec of its last answer
    log: bool


def start_conversation(continue_: bool, cid: str | None, log: bool | None) -> _Conversation:
    """The conversation a command writes to (see :func:`modelplug.cli.conversations.resolve_conversation`),
    its messages so far and whether to log.

    Raises:
        click.UsageError: ``-c`` with nothing logged, ``--cid`` naming an unknown conversation.
    """
    from modelplug.cli.conversations import ConversationError, history_messages, logging_enabled, resolve_conversation

    try:
        conversation_id, entries = resolve_conversation(continue_, cid)
    except ConversationError as error:
        raise click.UsageError(str(error)) from None
    return _Conversation(
        conversation_id,
        list(history_messages(entries)),
        entries[-1].model if entries else None,
        logging_enabled() if log is None else log,
    )


@attrs.define
class Turn:
    """How one answer went: the (possibly partial) message, ``outcome`` (``"ok"``, ``"cancelled"``,
    ``"error"``), the error, timings in seconds, the statistics and whether stdout broke."""

    message: ChatMessage | None = None
    outcome: str = "ok"
    error: ModelplugError | None = None
    ttft_s: float | None = None
    duration_s: float | None = None
    stats: StreamStats | None = None
    broken_pipe: bool = False

    @property
    def interrupted(self) -> bool:
        """Stopped by Ctrl-C (not by a closed stdout)."""
        return self.outcome == "cancelled" and not self.broken_pipe


def answer(
    model: Model, messages: list[Any], generation: Mapping[str, Any], view: View, *, stats: bool, stream: bool = True
) -> Turn:
    """Show the answer to ``messages`` on ``view`` (streamed, or whole with ``stream=False``) and
    report how it went. Ctrl-C stops it (the backend too) and keeps the partial answer; a model
    error is returned in :attr:`Turn.error`, not raised."""
    from modelplug._stream import message_to_deltas
    from modelplug.cli.stats import StreamStats

    turn = Turn()
    chat_stream = None
    deltas = 0
    start = time.perf_counter()
    with view:
        try:
            if stream:
                chat_stream = model.stream(messages, allow_fallback=True, **generation)
                for delta in chat_stream:
                    view.update(delta)
                    deltas += 1
            else:
                turn.message = model.generate(messages, **generation)
                turn.duration_s = time.perf_counter() - start
                for delta in message_to_deltas(turn.message):
                    view.update(delta)
                    deltas += 1
        except KeyboardInterrupt:
            turn.outcome = "cancelled"
        except BrokenPipeError:  # the answer is cut short: logged as cancelled, then the command ends
            turn.broken_pipe, turn.outcome = True, "cancelled"
        except ModelplugError as error:
            turn.error = error
            turn.outcome = "error"
        finally:
            if chat_stream is not None:
                chat_stream.close()
        if chat_stream is not None:
            turn.message = chat_stream.message
            turn.ttft_s = chat_stream.ttft_s
            turn.duration_s = chat_stream.duration_s
            turn.stats = StreamStats.from_stream(chat_stream, deltas)
        elif turn.message is not None:
            turn.stats = StreamStats(
                None,
                turn.duration_s,
                turn.message.usage,
                turn.message.finish_reason,
                turn.outcome,
                deltas,
                turn.message.cost,
            )
        if not turn.broken_pipe and (turn.stats is not None or turn.message is not None):
            try:
                view.finish(turn.stats if stats else None, turn.message)
            except BrokenPipeError:
                turn.broken_pipe = True
    return turn


def log_turn(
    conversation: _Conversation,
    model: Model,
    *,
    prompt: str,
    system: str | None,
    generation: Mapping[str, Any],
    turn: Turn,
    response_id: str,
) -> None:
    """Log ``turn`` when the conversation logs; a database that cannot be written is a warning on
    stderr, never a failed command."""
    import sqlite3

    if not conversation.log:
        return
    from modelplug.cli.conversations import LogStore

    options = {key: value for key, value in generation.items() if key != "tools"}
    if generation.get("tools"):
        options["tools"] = [getattr(tool, "name", str(tool)) for tool in generation["tools"]]
    store = LogStore()
    try:
        with store:
            store.log(
                conversation_id=conversation.id,
                model=model.spec,
                answered_by=(turn.message.model or model.spec) if turn.message is not None else None,
                system=system,
                prompt=prompt,
                message=turn.message,
                options=options,
                model_options=dict(model.options),
                outcome=turn.outcome,
                error=None if turn.error is None else str(turn.error),
                ttft_s=turn.ttft_s,
                duration_s=turn.duration_s,
                response_id=response_id,
            )
    except (sqlite3.Error, OSError) as error:
        click.echo(f"modelplug: warning: could not log this answer to {store.path}: {error}", err=True)


def _messages(conversation: _Conversation, system: str | None, text: str) -> list[dict[str, Any]]:
    history = conversation.history
    if system:
        history = [m for m in history if m["role"] != "system"]
    messages = [{"role": "system", "content": system}] if system else []
    return [*messages, *history, {"role": "user", "content": text}]


@click.command(short_help="Stream the answer to a prompt.", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("prompt", required=False)
@click.option(
    "-m",
    "--model",
    "spec",
    metavar="SPEC",
    help="Model spec '<provider>:<model>' or a config alias (default: see above).",
)
@click.option("-s", "--system", metavar="TEXT", help="A system message sent before the prompt.")
@click.option(
    "-o",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A model (load-time) option passed to load_model(SPEC, KEY=VALUE, ...); repeatable. "
    "Typed by the provider's option_types, else JSON when it parses, else a string.",
)
@generation_flags()
@click.option(
    "-t",
    "--tool",
    "tool_refs",
    multiple=True,
    metavar="MODULE:FUNCTION",
    help="Offer a tool to the model (as for `modelplug agent`); its calls are shown, not run. Repeatable.",
)
@conversation_flags
@click.option("--json", "as_json", is_flag=True, help="JSON lines: one chunk per delta, then a modelplug.result line.")
@click.option("--no-live", is_flag=True, help="Plain text even on a terminal.")
@click.option("--no-stream", is_flag=True, help="Ask for the whole answer at once instead of streaming it.")
@click.option(
    "--stats/--no-stats",
    default=None,
    help="Write TTFT, tokens/s and usage to stderr (default: on a terminal's live view, or when stderr is a terminal).",
)
@click.pass_context
def run(
    ctx: click.Context,
    prompt: str | None,
    spec: str | None,
    system: str | None,
    options: tuple[str, ...],
    max_tokens: int | None,
    temperature: float | None,
    top_p: float | None,
    seed: int | None,
    stop: tuple[str, ...],
    tool_choice: str | None,
    response_format: str | None,
    gen_options: tuple[str, ...],
    tool_refs: tuple[str, ...],
    continue_: bool,
    cid: str | None,
    log: bool | None,
    as_json: bool,
    no_live: bool,
    no_stream: bool,
    stats: bool | None,
) -> None:
    """Stream the answer to PROMPT (read from stdin when missing or '-').

    The model is, first match wins: --model; the model of the conversation continued with -c or
    --cid; $MODELPLUG_MODEL; `model = "..."` in the config file ($MODELPLUG_CONFIG, else <user
    config dir>/modelplug/config.toml, e.g. ~/.config/modelplug/config.toml); else
    transformers:default (the embedded SmolLM2 model). Each may be a spec or an alias of the
    config file (see docs/configuration.md and `modelplug models`).

    On a terminal the answer is shown live, as Markdown, with statistics on stderr at the end.
    Piped (or with --no-live) the answer's text is written exactly as it arrives; reasoning goes
    to stderr. Ctrl-C stops the stream and keeps the partial answer.

    The prompt and the answer are logged (see `modelplug logs`); -c continues the last
    conversation, --cid a given one.

    Exit status: 0 ok, 1 model or provider error, 2 usage error, 130 interrupted (Ctrl-C).
    """
    from modelplug.cli.conversations import new_id

    text = read_prompt(prompt)
    generation = generation_options(
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        stop=stop,
        tool_choice=tool_choice,
        response_format=response_format,
    )
    if tool_refs:
        generation["tools"] = load_tools(tool_refs)
    conversation = start_conversation(continue_, cid, log)
    messages = _messages(conversation, system, text)

    live = not (as_json or no_live) and isatty(sys.stdout)
    show_stats = stats if stats is not None else (live or isatty(sys.stderr))
    with load_cli_model(ctx, spec or conversation.model, options, gen_options) as model:
        generation.update(provider_generation_options(ctx))
        response_id = new_id()
        view = _make_view(as_json, live, show_stats, model.spec, response_id)
        turn = answer(model, messages, generation, view, stats=as_json or show_stats, stream=not no_stream)
        if turn.interrupted and not turn.broken_pipe:
            from modelplug.cli import report_interrupt

            report_interrupt(ctx)
        log_turn(
            conversation,
            model,
            prompt=text,
            system=system,
            generation=generation,
            turn=turn,
            response_id=response_id,
        )
    if turn.broken_pipe:
        raise BrokenPipeError(errno.EPIPE, "stdout was closed while the answer was written")
    if turn.interrupted:
        interrupted(ctx)
    if turn.error is not None:
        raise turn.error
