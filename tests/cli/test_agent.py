"""``modelplug agent``: plain transcript, JSON lines, tools from modules and files, and the live view
on a real pseudo-terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from modelplug.cli import main
from tests.cli.terminal import collect, render_screen, spawn, strip_ansi

SCRIPT = [
    {
        "content": "Let me **compute** this.",
        "reasoning_content": "Use the calculator.",
        "tool_calls": [{"id": "c1", "function": {"name": "calculator", "arguments": {"expression": "17*23+4"}}}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 12},
    },
    {
        "tool_calls": [{"id": "c2", "function": {"name": "final_answer", "arguments": {"answer": "395"}}}],
        "usage": {"prompt_tokens": 80, "completion_tokens": 6},
    },
]


def responses(items: list[Any]) -> str:
    return "responses=" + json.dumps(items)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, ["agent", *args], catch_exceptions=False)


def test_plain_transcript() -> None:
    result = invoke("What is 17*23+4?", "-m", "replay:x", "-o", responses(SCRIPT), "--stats")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "== Step 1 ==",
        "Let me **compute** this.",
        'tool call: calculator {"expression": "17*23+4"}',
        "[calculator → observation]",
        "395",
        "== Step 2 ==",
        "[final answer]",
        "395",
    ]
    assert "Use the calculator." in result.stderr  # reasoning is not the answer
    assert "step 1: TTFT" in result.stderr and "50 prompt + 12 completion = 62 tokens" in result.stderr
    assert "130 prompt + 18 completion = 148 tokens" in result.stderr  # the run total


def test_json_lines_are_the_events() -> None:
    result = invoke("What is 17*23+4?", "-m", "replay:x", "-o", responses(SCRIPT), "--json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = [e["type"] for e in events if e["type"] != "model_delta"]
    assert types == [
        "step_start", "model_output", "tool_call", "tool_result", "action_step",
        "step_start", "model_output", "tool_call", "tool_result", "action_step",
        "final_answer",
    ]  # fmt: skip
    deltas = [e["delta"] for e in events if e["type"] == "model_delta"]
    assert "".join(d.get("content", "") for d in deltas) == "Let me **compute** this."
    assert events[-1] == {
        "type": "final_answer",
        "answer": "395",
        "step_number": 2,
        "usage": {"prompt_tokens": 130, "completion_tokens": 18, "total_tokens": 148},
        "cost": None,  # a scripted provider has no price
    }


def test_planning_and_the_step_limit() -> None:
    looping = {"tool_calls": [{"id": "c", "function": {"name": "current_time", "arguments": {}}}]}
    script = ["1. look at the clock", looping, "It is late."]
    result = invoke("Time?", "-m", "replay:x", "-o", responses(script), "--max-steps", "1", "--plan", "1", "--json")
    assert result.exit_code == 0, result.output
    types = [json.loads(line)["type"] for line in result.stdout.splitlines()]
    assert [t for t in types if t not in ("model_delta", "model_output")] == [
        "step_start", "planning_step",
        "step_start", "tool_call", "tool_result", "action_step",
        "max_steps_reached", "step_start", "action_step",
        "final_answer",
    ]  # fmt: skip
    plain = invoke("Time?", "-m", "replay:x", "-o", responses(script), "--max-steps", "1", "--plan", "1")
    assert "== Plan (before step 1) ==" in plain.stdout
    assert "== Final answer (step limit 1 reached) ==" in plain.stdout
    assert "[step limit]" in plain.stdout and "It is late." in plain.stdout
    assert plain.stdout.count("It is late.") == 1  # the final answer, printed once


def test_tools_from_a_file_and_builtins(tmp_path: Path) -> None:
    module = tmp_path / "mytools.py"
    module.write_text(
        "def shout(text: str) -> str:\n    '''Upper-case text.'''\n    return text.upper()\n", encoding="utf-8"
    )
    script = [
        {"tool_calls": [{"id": "c1", "function": {"name": "shout", "arguments": {"text": "hi"}}}]},
        {"tool_calls": [{"id": "c2", "function": {"name": "calculator", "arguments": {"expression": "1+1"}}}]},
        "Done.",
    ]
    args = ["Go", "-m", "replay:x", "-o", responses(script), "--tool", f"{module}:shout", "--tool", "calculator"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "[shout → observation]\nHI" in result.stdout
    assert "[calculator → observation]\n2" in result.stdout


def test_a_tool_from_an_importable_module() -> None:
    script = [{"tool_calls": [{"id": "c1", "function": {"name": "calculator", "arguments": {"expression": "6*7"}}}]}]
    result = invoke("Go", "-m", "replay:x", "-o", responses([*script, "42"]), "--tool", "modelplug.agents:calculator")
    assert result.exit_code == 0, result.output
    assert "[calculator → observation]\n42" in result.stdout


def test_a_model_that_does_not_stream_is_shown_whole() -> None:
    result = invoke(
        "Hi", "-m", "replay:x", "-o", responses(["Hello there."]), "-o", 'capabilities={"streaming": false}'
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["== Step 1 ==", "Hello there."]  # the answer, once


def test_model_errors_exit_1() -> None:
    result = CliRunner().invoke(main, ["agent", "Go", "-m", "replay:x", "-o", responses([SCRIPT[0]])])
    assert result.exit_code == 1
    assert "exhausted" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_live_view_on_a_terminal() -> None:
    args = ["agent", "What is 17*23+4?", "-m", "replay:x", "-o", responses(SCRIPT), "-o", "delay=0.02"]
    status, output = collect(*spawn(args, rows=30, columns=90))
    assert status == 0, output
    screen = render_screen(output)
    text = "\n".join(screen)
    assert screen[0].startswith("Step 1 ─")
    assert "Use the calculator." in text and "Let me compute this." in text  # Markdown rendered
    assert '» calculator {"expression": "17*23+4"}' in text
    assert "calculator → observation" in text and "│ 395" in text
    assert any(line.startswith("step 1: TTFT") and "50 prompt + 12 completion = 62 tokens" in line for line in screen)
    assert any(line.startswith("Step 2 ─") for line in screen)
    assert "final_answer → observation" not in text  # shown once, as the final answer
    assert "final answer" in text
    assert screen[-1].startswith("130 prompt + 18 completion = 148 tokens")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_ctrl_c_stops_the_run_and_exits_130() -> None:
    slow = [{"content": "word " * 200, "tool_calls": []}]
    args = ["agent", "Go", "-m", "replay:x", "-o", responses(slow), "-o", "delay=0.02"]
    status, output = collect(*spawn(args, rows=30, columns=90), interrupt_after=b"word word word")
    assert status == 130
    assert "Interrupted." in strip_ansi(output)


def test_json_lines_stay_strict_json_when_a_tool_returns_a_non_finite_number(tmp_path: Path) -> None:
    module = tmp_path / "nantools.py"
    module.write_text(
        "def ratio(a: float, b: float) -> float:\n    '''a / b, nan for 0 / 0.'''\n"
        "    return float('nan') if a == b == 0 else a / b\n",
        encoding="utf-8",
    )
    script = [
        {"tool_calls": [{"id": "c1", "function": {"name": "ratio", "arguments": {"a": 0, "b": 0}}}]},
        # a script (or a callable model) can hand over a non-finite answer as a Python float
        {"tool_calls": [{"id": "c2", "function": {"name": "final_answer", "arguments": {"answer": float("nan")}}}]},
    ]
    result = invoke("0/0?", "-m", "replay:x", "-o", responses(script), "--tool", f"{module}:ratio", "--json")
    assert result.exit_code == 0, result.output

    def strict(token: str) -> Any:
        raise ValueError(f"non-standard JSON token {token}")

    events = [json.loads(line, parse_constant=strict) for line in result.stdout.splitlines()]
    assert events[-1]["type"] == "final_answer" and events[-1]["answer"] == "NaN"  # kept, as a string
