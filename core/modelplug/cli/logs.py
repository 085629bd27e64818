"""``modelplug logs``: list and search the logged prompts and answers; turn logging off and on.

``modelplug logs`` shows the last ``-n`` responses (default 3, ``0`` for all), oldest first, as
Markdown-like text; ``-q TEXT`` keeps those whose prompt, system prompt or answer contains TEXT;
``-c`` / ``--cid ID`` keep one conversation; ``--json`` prints a JSON array of
:meth:`~modelplug.cli.conversations.LogEntry.to_dict` objects. ``logs off`` / ``logs on`` turn
logging off and on; ``logs status`` says which, where the database is and how many responses it
holds; ``logs path`` prints the database path.
"""

from __future__ import annotations

import json

import click

from modelplug.cli.conversations import LogEntry, LogStore, logging_enabled, logs_path, set_logging

__all__ = ["format_entry", "logs"]


def format_entry(entry: LogEntry) -> str:
    """One response as text: a heading line (time, model, ids), the prompt, the answer, the tool
    calls, then usage and timing."""
    lines = [f"# {entry.datetime_utc}  {entry.model}  conversation {entry.conversation_id}  id {entry.id}", ""]
    if entry.system:
        lines += ["## System", "", entry.system, ""]
    lines += ["## Prompt", "", entry.prompt, "", "## Response", "", entry.response or "(no text)", ""]
    for call in entry.tool_calls:
        function = call.get("function", {})
        lines.append(f"tool call: {function.get('name')} {function.get('arguments', '')}".rstrip())
    facts = []
    if entry.answered_by and entry.answered_by != entry.model:
        facts.append(f"answered by {entry.answered_by}")
    if entry.usage:
        facts.append(
            f"{entry.usage.get('prompt_tokens')} prompt + {entry.usage.get('completion_tokens')} completion tokens"
        )
    if entry.duration_s is not None:
        facts.append(f"{entry.duration_s:.2f} s")
    if entry.options:
        facts.append("options " + json.dumps(entry.options, ensure_ascii=False))
    facts.append(entry.outcome if entry.outcome != "ok" else f"finish {entry.finish_reason}")
    if entry.error:
        facts.append(f"error: {entry.error}")
    lines.append("(" + ", ".join(facts) + ")")
    return "\n".join(lines)


@click.group(
    invoke_without_command=True,
    short_help="List and search logged prompts and answers.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "-n", "--count", type=click.IntRange(min=0), default=3, show_default=True, help="How many (0: all), newest last."
)
@click.option("-q", "--query", metavar="TEXT", help="Only responses whose prompt or answer contains TEXT.")
@click.option("-c", "--current", is_flag=True, help="Only the last conversation.")
@click.option("--cid", "--conversation", "cid", metavar="ID", help="Only conversation ID.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, for scripts.")
@click.pass_context
def logs(ctx: click.Context, count: int, query: str | None, current: bool, cid: str | None, as_json: bool) -> None:
    """Show the logged prompts and answers, newest last.

    Every `modelplug run` and `modelplug chat` turn is logged to a SQLite database in the user
    data dir ($MODELPLUG_DATA_DIR overrides it; `modelplug logs path` prints it): model,
    options, prompt, answer, tool calls, usage, timing. Secrets are redacted before they are
    written. `modelplug logs off` stops logging, `--no-log` skips one command.
    """
    if ctx.invoked_subcommand is not None:
        return
    with LogStore() as store:
        if current and not cid:
            cid = store.last_conversation_id()
            if cid is None:
                raise click.UsageError("-c: no conversation is logged yet")
        entries = store.entries(limit=count or None, query=query, conversation_id=cid)
    if as_json:
        click.echo(json.dumps([entry.to_dict() for entry in entries], indent=2, ensure_ascii=False))
        return
    if not entries:
        click.echo("No logged responses" + (" match." if query or cid else " yet."), err=True)
        return
    click.echo("\n\n".join(format_entry(entry) for entry in entries))


@logs.command(short_help="Stop logging prompts and answers.")
def off() -> None:
    """Stop logging prompts and answers (`--log` still logs one command)."""
    set_logging(False)
    click.echo("Logging is off.")


@logs.command(short_help="Log prompts and answers again.")
def on() -> None:
    """Log prompts and answers again (the default)."""
    set_logging(True)
    click.echo("Logging is on.")


@logs.command(short_help="Whether logging is on, and where the database is.")
def status() -> None:
    """Whether logging is on, the database path and how many responses it holds."""
    path = logs_path()
    with LogStore(path) as store:
        count = store.count()
    click.echo(f"Logging is {'on' if logging_enabled() else 'off'}.")
    click.echo(f"Database: {path} ({count} responses)" if path.exists() else f"Database: {path} (not created yet)")


@logs.command(short_help="Print the path of the log database.")
def path() -> None:
    """Print the path of the log database."""
    click.echo(str(logs_path()))
