"""The ``modelplug`` command line: ``run``, ``chat``, ``logs``, ``agent``, ``plugins``, ``serve``,
``models``, ``keys``, ``--version``.

Subcommands are registered by import path in :data:`COMMANDS` and imported only when used, so
``modelplug --help`` never imports rich or a backend. This module holds what every subcommand
shares: the error handling and exit statuses (``docs/cli.md``, "Exit status") and Ctrl-C
(:func:`interrupted`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from importlib import import_module
from typing import Any, NoReturn

import click

from modelplug import __version__
from modelplug.errors import InvalidOptionError, ModelplugError

__all__ = [
    "COMMANDS",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "MAX_HELP_WIDTH",
    "debug_enabled",
    "exit_with_error",
    "interrupted",
    "main",
    "report_interrupt",
    "silence_stdout",
]

#: Exit statuses (see the module docstring).
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CANNOT_SERVE = 3
EXIT_INTERRUPTED = 130
#: The widest help text: click wraps help to the terminal, up to this many columns.
MAX_HELP_WIDTH = 160
_INTERRUPTED_KEY = "modelplug.interrupted"

#: Subcommand name -> ``"module:attribute"`` of its click command (imported on first use).
COMMANDS: dict[str, str] = {
    "run": "modelplug.cli.run:run",
    "chat": "modelplug.cli.chat:chat",
    "logs": "modelplug.cli.logs:logs",
    "plugins": "modelplug.cli.plugins:plugins",
    "agent": "modelplug.cli.agent:agent",
    "serve": "modelplug.cli.serve:serve",
    "models": "modelplug.cli.models:models",
    "keys": "modelplug.cli.keys:keys",
}


def debug_enabled(ctx: click.Context | None = None) -> bool:
    """Whether ``--debug`` was given or ``MODELPLUG_DEBUG`` is set to a true value."""
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get("modelplug.debug"):
        return True
    return os.environ.get("MODELPLUG_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


def exit_with_error(ctx: click.Context, error: ModelplugError, note: str | None = None) -> NoReturn:
    """Write ``Error: <message>``, the error's notes (``add_note``: a fallback chain's attempts) and
    ``note`` to stderr, the traceback too in debug mode, and exit with 2 for an
    :class:`~modelplug.errors.InvalidOptionError`, else 1."""
    from modelplug.secrets import redact

    if debug_enabled(ctx):
        traceback.print_exception(error, file=sys.stderr)
    click.echo(f"Error: {error}", err=True)
    for added in getattr(error, "__notes__", ()):
        click.echo(redact(str(added)), err=True)
    if note:
        click.echo(note, err=True)
    ctx.exit(EXIT_USAGE if isinstance(error, InvalidOptionError) else EXIT_ERROR)


def report_interrupt(ctx: click.Context, message: str = "Interrupted.") -> None:
    """Write ``message`` to stderr, once per command: after it, a second Ctrl-C while the command
    winds down (closing the stream, logging the partial answer) writes nothing more."""
    if not ctx.meta.get(_INTERRUPTED_KEY):
        ctx.meta[_INTERRUPTED_KEY] = True
        with contextlib.suppress(KeyboardInterrupt):
            click.echo(message, err=True)


def interrupted(ctx: click.Context, message: str = "Interrupted.") -> NoReturn:
    """:func:`report_interrupt`, then exit with 130."""
    report_interrupt(ctx, message)
    ctx.exit(EXIT_INTERRUPTED)


def silence_stdout() -> None:
    """After a broken pipe, point stdout's file descriptor at the null device, so that the
    interpreter's final flush of what is still buffered does not fail (a no-op when stdout is not
    a real file, as under a test runner)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    except OSError:
        pass
    finally:
        os.close(devnull)


class _Group(click.Group):
    """A click group whose commands load lazily and whose errors map to the documented exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command: click.Command = getattr(import_module(module), attribute)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ModelplugError as error:
            exit_with_error(ctx, error)
        except KeyboardInterrupt:
            interrupted(ctx)
        except BrokenPipeError:  # the reader of stdout went away: nothing more to say to it
            silence_stdout()
            ctx.exit(EXIT_ERROR)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:  # a bug here or in a plugin: one line, not a traceback
            from modelplug.secrets import redact

            if debug_enabled(ctx):
                traceback.print_exception(error, file=sys.stderr)
            hint = "" if debug_enabled(ctx) else " (run with --debug for the traceback)"
            click.echo(redact(f"Error: unexpected {type(error).__name__}: {error}{hint}"), err=True)
            ctx.exit(EXIT_ERROR)


def _tolerate_unencodable_output() -> None:
    """Let stdout and stderr write ``?`` for what their encoding cannot represent (an ASCII
    terminal, a lone surrogate in a model's answer) instead of failing mid-answer."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "replace") in ("strict", "surrogateescape"):
            with contextlib.suppress(ValueError, OSError):  # detached or closed: nothing to do
                reconfigure(errors="replace")


def _restore_sigint() -> None:
    """Make SIGINT stop the command even when it was started with SIGINT ignored (``cmd &`` from a
    script or another non-interactive shell): ``kill -INT`` then ends it like Ctrl-C (exit 130)."""
    with contextlib.suppress(ValueError):  # not the main thread (an embedding caller): leave it alone
        if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": MAX_HELP_WIDTH})
@click.version_option(__version__, "-V", "--version", prog_name="modelplug", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks of modelplug errors (also MODELPLUG_DEBUG=1).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Stream language-model output (text, reasoning, tool calls) live through provider plugins.

    \b
    Examples:
      modelplug run "What is the capital of France?"
      echo "Tell me a joke" | modelplug run --max-tokens 60
      modelplug run -c "And in German?"
      modelplug chat -m openai:gpt-4o-mini -o api_key=$OPENAI_API_KEY
      modelplug logs -n 5
      modelplug plugins
      modelplug serve -m transformers:default --port 8000
      modelplug models

    Configuration: model aliases (-m ALIAS), keys, fallback chains and prices live in the config
    file ($MODELPLUG_CONFIG, else <user config dir>/modelplug/config.toml); see
    docs/configuration.md, and `modelplug models` for the aliases it defines.
    """
    from modelplug.cli.log_lines import install_log_handler

    ctx.meta["modelplug.debug"] = debug
    _tolerate_unencodable_output()
    _restore_sigint()
    install_log_handler(debug=debug_enabled(ctx))
