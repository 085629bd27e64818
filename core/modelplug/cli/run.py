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
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from modelplug.cli import EXIT_ERROR, EXIT_INTERRUPTED
from modelplug.cli.options import generation_options, load_cli_model
from modelplug.errors import ModelplugError

if TYPE_CHECKING:
    from modelplug.cli.plain import View
    from modelplug.model import Model

__all__ = ["read_prompt", "run"]


def read_prompt(prompt: str | None) -> str:
    """``prompt``, or standard input when it is ``None`` or ``"-"`` (one trailing newline dropped).
    Standard input is read as UTF-8 (a leading byte-order mark is dropped).

    Raises:
        click.UsageError: the prompt is empty, standard input is closed, or the prompt is not
            UTF-8 text (binary data, another encoding: the message names the first bad byte).
    """
    if prompt is None or prompt == "-":
        stdin = sys.stdin
        if stdin is None:
            raise click.UsageError("no PROMPT given and stdin is closed: give PROMPT, or pipe it on stdin")
        if _isatty(stdin):
            click.echo("Reading the prompt from stdin (end it with Ctrl-D)…", err=True)
        prompt = _read_utf8(stdin)
        if prompt.endswith("\n"):
            prompt = prompt[:-1]
    else:
        try:
            prompt.encode("utf-8")
        except UnicodeEncodeError as error:  # argv bytes that were not UTF-8 arrive as lone surrogates
            raise click.UsageError("PROMPT is not UTF-8 text: re-encode it (e.g. with iconv)") from error
    if not prompt.strip():
        raise click.UsageError("the prompt is empty: give PROMPT, or pipe it on stdin")
    return prompt


def _read_utf8(stdin: Any) -> str:
    buffer = getattr(stdin, "buffer", None)
    if buffer is None:  # a text-only stream (e.g. a test runner's)
        text: str = stdin.read()
        data = text.encode("utf-8", "surrogateescape")
    else:
        data = buffer.read()
    try:
        return str(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise click.UsageError(
            f"the prompt on stdin is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
            "re-encode it (e.g. with iconv) or give PROMPT"
        ) from error


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _make_view(as_json: bool, live: bool, show_stats: bool, spec: str) -> View:
    out = sys.stdout
    if as_json:
        from modelplug.cli.plain import JsonLinesView

        return JsonLinesView(out, model=spec)
    if live:
        from modelplug.cli.display import LiveView

        return LiveView()
    from modelplug.cli.plain import PlainView

    return PlainView(out, sys.stderr, show_stats=show_stats)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush is quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (e.g. under a test runner)
        pass
    finally:
        os.close(devnull)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("prompt", required=False)
@click.option("-m", "--model", "spec", metavar="SPEC", help="Model spec '<provider>:<model>' (default: see above).")
@click.option("-s", "--system", metavar="TEXT", help="A system message sent before the prompt.")
@click.option(
    "-o",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A model option passed to load_model(SPEC, KEY=VALUE, ...); repeatable. "
    "Typed by the provider's option_types, else JSON when it parses, else a string.",
)
@click.option("--max-tokens", type=click.IntRange(min=1), metavar="N", help="Most completion tokens to generate.")
@click.option("--temperature", type=click.FloatRange(min=0.0), metavar="T", help="Sampling temperature (0: greedy).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines: one chunk per delta, then a modelplug.result line.")
@click.option("--no-live", is_flag=True, help="Plain text even on a terminal.")
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
    as_json: bool,
    no_live: bool,
    stats: bool | None,
) -> None:
    """Stream the answer to PROMPT (read from stdin when missing or '-').

    \b
    The model is, first match wins: --model; $MODELPLUG_MODEL; `model = "..."` in the config
    file ($MODELPLUG_CONFIG, else <user config dir>/modelplug/config.toml, e.g.
    ~/.config/modelplug/config.toml); else transformers:default (the embedded SmolLM2 model).

    \b
    On a terminal the answer is shown live, as Markdown, with statistics on stderr at the end.
    Piped (or with --no-live) the answer's text is written exactly as it arrives; reasoning goes
    to stderr. Ctrl-C stops the stream and keeps the partial answer.

    \b
    Exit status: 0 ok, 1 model or provider error, 2 usage error, 130 interrupted (Ctrl-C).
    """
    text = read_prompt(prompt)
    generation = generation_options(max_tokens, temperature)
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": text})

    live = not (as_json or no_live) and _isatty(sys.stdout)
    show_stats = stats if stats is not None else (live or _isatty(sys.stderr))
    with load_cli_model(ctx, spec, options) as model:
        _stream(
            ctx, model, messages, generation, _make_view(as_json, live, show_stats, model.spec), as_json or show_stats
        )


def _stream(
    ctx: click.Context, model: Model, messages: list[Any], generation: dict[str, Any], view: View, stats: bool
) -> None:
    from modelplug.cli.stats import StreamStats

    stream = None
    deltas = 0
    failure: ModelplugError | None = None
    interrupted = broken_pipe = False
    with view:
        try:
            stream = model.stream(messages, allow_fallback=True, **generation)
            for delta in stream:
                view.update(delta)
                deltas += 1
        except KeyboardInterrupt:
            interrupted = True
        except BrokenPipeError:
            broken_pipe = True
        except ModelplugError as error:
            failure = error
        finally:
            if stream is not None:
                stream.close()
        if broken_pipe:
            _silence_stdout()
            ctx.exit(EXIT_ERROR)
        if stream is not None:
            view.finish(StreamStats.from_stream(stream, deltas) if stats else None, stream.message)
    if interrupted:
        click.echo("Interrupted.", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    if failure is not None:
        raise failure
