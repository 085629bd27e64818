"""AgentMemory: rebuilding the conversation in both modes, and usage totals."""

from __future__ import annotations

from modelplug.agents import ActionStep, AgentMemory, Observation, PlanningStep, TaskStep
from modelplug.types import ChatMessage, ToolCall, Usage

CALL = ToolCall("c1", "add", {"a": 1, "b": 2})
BAD = ToolCall("c2", "add", None, raw_arguments='{"a": 1')


def memory() -> AgentMemory:
    mem = AgentMemory("SYSTEM")
    mem.steps += [
        TaskStep("Add 1 and 2."),
        PlanningStep(1, (), ChatMessage(content="1. add"), Usage(5, 5), 0.1, 0.2),
        ActionStep(
            1,
            "action",
            (),
            ChatMessage(content="Adding.", tool_calls=[CALL, BAD], reasoning_content="hmm", usage=Usage(10, 3)),
            (CALL, BAD),
            (Observation(CALL, "3"), Observation(BAD, "Error: bad", True)),
            Usage(10, 3),
            0.1,
            0.3,
        ),
        ActionStep(
            2,
            "action",
            (),
            ChatMessage(content="<tool_call>{bad"),
            (),
            (Observation(None, "Error: could not be read", True),),
            None,
            None,
            0.1,
        ),
        ActionStep(3, "final", (), ChatMessage(content="3"), (), (), Usage(20, 1), None, 0.1, True, "3"),
    ]
    return mem


def test_full_conversation() -> None:
    messages = memory().to_messages()
    assert messages == [
        ChatMessage(role="system", content="SYSTEM"),
        ChatMessage(role="user", content="Add 1 and 2."),
        ChatMessage(role="assistant", content="1. add"),
        ChatMessage(role="user", content="Now carry out this plan, step by step, with the tools."),
        ChatMessage(role="assistant", content="Adding.", tool_calls=[CALL, BAD]),  # no reasoning, no usage
        ChatMessage(role="tool", content="3", tool_call_id="c1", name="add"),
        ChatMessage(role="tool", content="Error: bad", tool_call_id="c2", name="add"),
        ChatMessage(role="assistant", content="<tool_call>{bad"),
        ChatMessage(role="user", content="Error: could not be read"),
        ChatMessage(role="assistant", content="3"),
    ]


def test_summary_mode_is_plain_text_without_plans_or_system_prompt() -> None:
    messages = memory().to_messages(summary_mode=True)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant", "user", "assistant"]
    assert all(not m.tool_calls and m.tool_call_id is None for m in messages)
    assert messages[1].text == 'Adding.\nCalling tool add({"a": 1, "b": 2})\nCalling tool add({"a": 1)'
    assert messages[2].text == "Observation from add: 3\nObservation from add: Error: bad"
    assert messages[4].text == "Note: Error: could not be read"
    assert "1. add" not in " ".join(m.text for m in messages)


def test_total_usage_sums_the_steps() -> None:
    mem = memory()
    assert mem.total_usage == Usage(35, 9)
    assert [s.step_number for s in mem.action_steps] == [1, 2, 3]
    assert mem.planning_steps[0].plan == "1. add"
    mem.reset()
    assert mem.steps == [] and mem.total_usage is None
