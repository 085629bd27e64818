"""``modelplug logs`` (:mod:`modelplug.cli.logs`): listing, searching and filtering the logged
answers, the text form of an entry, and turning logging off and on."""

from __future__ import annotations

from click.testing import CliRunner

from modelplug.cli import main
from modelplug.cli.conversations import logs_path
from tests.cli.conftest import logged, responses, run_ok


def test_logs_count_query_and_text_output(runner: CliRunner) -> None:
    for word in ("apple", "banana", "cherry", "banana split"):
        run_ok(runner, "-m", "replay:x", "-o", responses(f"about {word}"), f"tell me about {word}")
    assert [e["prompt"] for e in logged(runner)] == [
        "tell me about banana",
        "tell me about cherry",
        "tell me about banana split",
    ]
    assert len(logged(runner, "-n", "0")) == 4
    assert [e["response"] for e in logged(runner, "-q", "BANANA", "-n", "0")] == ["about banana", "about banana split"]
    assert logged(runner, "-q", "%") == []  # LIKE wildcards are searched for literally
    text = runner.invoke(main, ["logs", "-n", "1"]).stdout
    assert "## Prompt\n\ntell me about banana split" in text and "## Response\n\nabout banana split" in text
    assert "replay:x" in text


def test_logs_off_on_and_no_log(runner: CliRunner) -> None:
    assert runner.invoke(main, ["logs", "off"]).stdout == "Logging is off.\n"
    run_ok(runner, "-m", "replay:x", "-o", responses("x"), "not logged")
    run_ok(runner, "-m", "replay:x", "-o", responses("x"), "--log", "logged anyway")
    assert "Logging is off." in runner.invoke(main, ["logs", "status"]).stdout
    assert runner.invoke(main, ["logs", "on"]).stdout == "Logging is on.\n"
    run_ok(runner, "-m", "replay:x", "-o", responses("x"), "--no-log", "skipped")
    run_ok(runner, "-m", "replay:x", "-o", responses("x"), "logged")
    assert [e["prompt"] for e in logged(runner, "-n", "0")] == ["logged anyway", "logged"]
    assert "(2 responses)" in runner.invoke(main, ["logs", "status"]).stdout


def test_one_conversation_is_kept_with_cid_or_the_last_one_with_c(runner: CliRunner) -> None:
    run_ok(runner, "-m", "replay:x", "-o", responses("one"), "first")
    [first] = logged(runner)
    run_ok(runner, "-m", "replay:x", "-o", responses("two"), "second")
    run_ok(runner, "-m", "replay:x", "-o", responses("three"), "-c", "second, again")
    assert [e["prompt"] for e in logged(runner, "--cid", str(first["conversation_id"]))] == ["first"]
    assert [e["prompt"] for e in logged(runner, "-c", "-n", "0")] == ["second", "second, again"]
    unknown = runner.invoke(main, ["logs", "--cid", "no-such-conversation"])
    assert unknown.exit_code == 0 and unknown.stderr == "No logged responses match.\n"


def test_with_nothing_logged_the_commands_say_so(runner: CliRunner) -> None:
    empty = runner.invoke(main, ["logs"])
    assert empty.exit_code == 0 and empty.stdout == "" and empty.stderr == "No logged responses yet.\n"
    assert runner.invoke(main, ["logs", "-c"]).exit_code == 2
    assert runner.invoke(main, ["logs", "path"]).stdout == f"{logs_path()}\n"
    assert f"Database: {logs_path()} (not created yet)" in runner.invoke(main, ["logs", "status"]).stdout


def test_an_entry_as_text_shows_the_system_prompt_tool_calls_usage_and_outcome(runner: CliRunner) -> None:
    answer = {
        "content": "Let me look.",
        "tool_calls": [{"id": "c1", "function": {"name": "lookup", "arguments": {"q": "x"}}}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 5},
    }
    run_ok(runner, "-m", "replay:x", "-o", responses(answer), "-s", "Be brief.", "find x")
    text = runner.invoke(main, ["logs"]).stdout
    assert "## System\n\nBe brief.\n\n## Prompt\n\nfind x" in text
    assert '## Response\n\nLet me look.\n\ntool call: lookup {"q": "x"}\n(7 prompt + 5 completion tokens, ' in text
    assert text.rstrip().endswith(" s, finish tool_calls)"), text
