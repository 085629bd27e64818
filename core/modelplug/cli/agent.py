"""``modelplug agent``: run a tool-calling agent on a task and watch it work.

On a terminal the run is shown live (:class:`~modelplug.cli.agent_view.AgentView` on the
command line's :class:`~modelplug.cli.display.LiveView`): each step's reasoning and text as they
stream, each tool call with its arguments as they grow, the observations, and per-step TTFT and
usage. Piped, or with ``--no-live``, the same as plain text (statistics on stderr); with ``--json``,
the agent's events as JSON lines (:func:`modelplug.agents.event_to_dict`).

Tools: ``--tool module:function`` (a typed function, an ``@tool``, or a list of them; the module may
be a ``path/to/file.py``), or the name of a built-in tool (``calculator``: safe arithmetic;
``current_time``: UTC clock). Without ``--tool``, the built-in tools are given. ``final_answer`` is
always there. The model streams when its provider declares streaming (else whole answers are shown
as they come), unless ``--no-stream``.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from modelplug.cli.inputs import isatty, load_tools, read_prompt
from modelplug.cli.options import generation_flags, generation_options, load_cli_model, provider_generation_options

__all__ = ["agent"]


@click.command(
    short_help="Run a tool-calling agent on a task and show it work.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.argument("task", required=False)
@click.option(
    "-m",
    "--model",
    "spec",
    metavar="SPEC",
    help="Model spec '<provider>:<model>' or a config alias (default: as for run).",
)
@click.option(
    "-o",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A model (load-time) option passed to load_model(SPEC, KEY=VALUE, ...); repeatable.",
)
@click.option(
    "-t",
    "--tool",
    "tool_refs",
    multiple=True,
    metavar="MODULE:FUNCTION",
    help="A tool: 'module:function', 'path/file.py:function', or a built-in (calculator, current_time); "
    "repeatable. Default: the built-in tools.",
)
@click.option("--max-steps", type=click.IntRange(min=1), default=10, show_default=True, metavar="N", help="Most steps.")
@click.option("--plan", "planning_interval", type=click.IntRange(min=1), metavar="N", help="Plan every N steps.")
@click.option("--instructions", metavar="TEXT", help="Text added to the agent's system prompt.")
@generation_flags(tools=False)
@click.option("--json", "as_json", is_flag=True, help="The agent's events as JSON lines.")
@click.option("--no-live", is_flag=True, help="Plain text even on a terminal.")
@click.option("--no-stream", is_flag=True, help="Ask for whole answers instead of streaming them.")
@click.option(
    "--stats/--no-stats", default=None, help="Per-step statistics on stderr in plain mode (default: on a tty)."
)
@click.pass_context
def agent(
    ctx: click.Context,
    task: str | None,
    spec: str | None,
    options: tuple[str, ...],
    tool_refs: tuple[str, ...],
    max_steps: int,
    planning_interval: int | None,
    instructions: str | None,
    max_tokens: int | None,
    temperature: float | None,
    top_p: float | None,
    seed: int | None,
    stop: tuple[str, ...],
    gen_options: tuple[str, ...],
    as_json: bool,
    no_live: bool,
    no_stream: bool,
    stats: bool | None,
) -> None:
    """Run a tool-calling agent on TASK (read from stdin when missing or '-') and show it work.

    \b
    Examples:
      modelplug agent "What is 17 * 23 + 4?"
      modelplug agent "What time is it?" -m openai:gpt-4o-mini
      modelplug agent "Weather in Paris?" -t mytools.py:weather --json

    On a terminal: the model's reasoning and text as they stream, each tool call's arguments as
    they grow, the observations, and each step's TTFT and token usage. Exit status as for run.
    """
    from modelplug.agents import ToolCallingAgent

    text = read_prompt(task)
    tools = load_tools(tool_refs)
    generation = generation_options(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed, stop=stop)
    with load_cli_model(ctx, spec, options, gen_options) as model:
        generation.update(provider_generation_options(ctx))
        runner = ToolCallingAgent(
            model,
            tools,
            stream_outputs=model.capabilities.streaming and not no_stream,
            max_steps=max_steps,
            planning_interval=planning_interval,
            instructions=instructions,
            generation_options=generation,
        )
        live = not (as_json or no_live) and isatty(sys.stdout)
        show_stats = stats if stats is not None else isatty(sys.stderr)
        events = runner.run(text, stream=True)
        try:
            with _make_view(as_json, live, show_stats, max_steps) as view:
                for event in events:
                    view.handle(event)
        finally:
            events.close()


def _make_view(as_json: bool, live: bool, show_stats: bool, max_steps: int) -> Any:
    from modelplug.cli.agent_view import AgentView, JsonEventsView

    if as_json:
        return JsonEventsView(sys.stdout)
    if live:
        from modelplug.cli.display import LiveView

        return AgentView(LiveView(), live=True, max_steps=max_steps)
    from modelplug.cli.plain import PlainView

    return AgentView(
        PlainView(sys.stdout, sys.stderr, show_stats=show_stats),
        live=False,
        err=sys.stderr,
        show_stats=show_stats,
        max_steps=max_steps,
    )
