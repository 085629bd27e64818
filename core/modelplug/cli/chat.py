"""``modelplug chat``: an interactive conversation with one model, each answer streamed.

The model is loaded once. Each line typed is a prompt (``!multi`` starts a multi-line prompt,
ended by a line ``!end``); the answer streams (live Markdown on a terminal, plain text otherwise).
``Ctrl-C`` stops the answer being written and keeps the part received, and the session goes on;
``Ctrl-C`` at the prompt clears it. ``exit``, ``quit`` or ``Ctrl-D`` ends the session. Every turn is
logged in one conversation (:mod:`modelplug.cli.conversations`), which ``run -c`` or ``chat -c``
can continue later; a model error is shown and the session goes on.
"""

from __future__ import annotations

import contextlib
import errno
import sys
from typing import Any

import click

from modelplug.cli.inputs import isatty
from modelplug.cli.options import generation_flags, generation_options, load_cli_model, provider_generation_options
from modelplug.cli.run import _messages, answer, conversation_flags, log_turn, start_conversation

__all__ = ["EXIT_WORDS", "PromptNotTextError", "chat", "read_prompt_line"]

#: Prompts that end the session.
EXIT_WORDS = frozenset({"exit", "quit", "/exit", "/quit"})
_MULTI = "!multi"
_END = "!end"


class PromptNotTextError(ValueError):
    """A prompt line that is not UTF-8 text (binary data, another encoding); the message names the
    first bad byte. The session goes on with the next line."""


def _text_line(line: str) -> str:
    """``line`` as read from stdin (undecodable bytes kept as lone surrogates, ``surrogateescape``).

    Raises:
        PromptNotTextError: it holds bytes that are not UTF-8.
    """
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as error:
        data = line.encode("utf-8", "surrogateescape")
        offset = len(line[: error.start].encode("utf-8", "surrogateescape"))
        raise PromptNotTextError(
            f"this prompt is not UTF-8 text (byte 0x{data[offset]:02x} at offset {offset}); "
            "nothing was sent: re-encode it (e.g. with iconv)"
        ) from None
    return line


def read_prompt_line(prompt: str = "> ") -> str:
    """One prompt typed by the user: a line, or with ``!multi`` the lines up to ``!end``.

    Raises:
        EOFError: the input ended (Ctrl-D).
        KeyboardInterrupt: Ctrl-C while typing.
        PromptNotTextError: the prompt is not UTF-8 text (all its lines were read).
    """
    line = input(prompt)
    if line.strip() != _MULTI:
        return _text_line(line)
    lines: list[str] = []
    while True:
        more = input("")
        if more.strip() == _END:
            return _text_line("\n".join(lines))
        lines.append(more)


def _read_bytes_as_surrogates() -> None:
    """Read stdin with ``surrogateescape``, so a line that is not UTF-8 reaches :func:`_text_line`
    (which names its bad byte) instead of failing inside ``input()`` under a strict encoding."""
    reconfigure = getattr(sys.stdin, "reconfigure", None)
    if reconfigure is not None and getattr(sys.stdin, "encoding", "").lower().replace("-", "") == "utf8":
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="surrogateescape")


@click.command(
    short_help="Chat with a model interactively, answers streamed.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "-m",
    "--model",
    "spec",
    metavar="SPEC",
    help="Model spec '<provider>:<model>' or a config alias (default: as for run).",
)
@click.option("-s", "--system", metavar="TEXT", help="A system message sent before the conversation.")
@click.option(
    "-o",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A model (load-time) option passed to load_model(SPEC, KEY=VALUE, ...); repeatable.",
)
@generation_flags()
@conversation_flags
@click.option("--no-live", is_flag=True, help="Plain text even on a terminal.")
@click.option("--no-stream", is_flag=True, help="Ask for whole answers instead of streaming them.")
@click.option("--stats/--no-stats", default=False, help="Statistics after each answer, on stderr.")
@click.pass_context
def chat(
    ctx: click.Context,
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
    continue_: bool,
    cid: str | None,
    log: bool | None,
    no_live: bool,
    no_stream: bool,
    stats: bool,
) -> None:
    """Chat with a model: type a prompt, watch the answer stream, type the next one.

    Ctrl-C stops an answer (the session goes on); exit, quit or Ctrl-D ends the session.
    !multi starts a prompt of several lines, ended by a line !end. -c continues the last logged
    conversation, --cid a given one; every turn is logged (see `modelplug logs`).
    """
    from modelplug.cli.conversations import new_id

    generation = generation_options(
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        stop=stop,
        tool_choice=tool_choice,
        response_format=response_format,
    )
    conversation = start_conversation(continue_, cid, log)
    live = not no_live and isatty(sys.stdout)
    if isatty(sys.stdin):
        with contextlib.suppress(ImportError):  # Windows without pyreadline
            import readline  # noqa: F401  (line editing and history for input())
    with load_cli_model(ctx, spec or conversation.model, options, gen_options) as model:
        generation.update(provider_generation_options(ctx))
        click.echo(
            f"Chatting with {model.spec} (conversation {conversation.id}). "
            "Ctrl-C stops an answer; exit, quit or Ctrl-D ends the session.",
            err=True,
        )
        _read_bytes_as_surrogates()
        while True:
            try:
                text = read_prompt_line()
            except EOFError:
                click.echo("", err=True)
                break
            except KeyboardInterrupt:
                click.echo("", err=True)
                continue
            except (PromptNotTextError, UnicodeDecodeError) as error:
                click.echo(f"Error: {error}", err=True)
                continue
            if text.strip().lower() in EXIT_WORDS:
                break
            if not text.strip():
                continue
            _turn(ctx, model, conversation, system, text, generation, live, stats, not no_stream, new_id())


def _view(live: bool, show_stats: bool) -> Any:
    if live:
        from modelplug.cli.display import LiveView

        return LiveView()
    from modelplug.cli.plain import PlainView

    return PlainView(sys.stdout, sys.stderr, show_stats=show_stats)


def _turn(
    ctx: click.Context,
    model: Any,
    conversation: Any,
    system: str | None,
    text: str,
    generation: dict[str, Any],
    live: bool,
    stats: bool,
    stream: bool,
    response_id: str,
) -> None:
    """One prompt and its answer; a Ctrl-C anywhere in it ends the answer, not the session."""
    try:
        turn = answer(
            model, _messages(conversation, system, text), generation, _view(live, stats), stats=stats, stream=stream
        )
        if turn.interrupted:
            click.echo("(answer stopped)", err=True)
        if turn.error is not None:
            click.echo(f"Error: {turn.error}", err=True)
        log_turn(
            conversation, model, prompt=text, system=system, generation=generation, turn=turn, response_id=response_id
        )
        if turn.broken_pipe:  # nobody reads the answers any more: end the session
            raise BrokenPipeError(errno.EPIPE, "stdout was closed while the answer was written")
    except KeyboardInterrupt:
        click.echo("\n(answer stopped)", err=True)
        return
    if turn.message is not None and turn.message.text:
        conversation.history += [{"role": "user", "content": text}, {"role": "assistant", "content": turn.message.text}]
