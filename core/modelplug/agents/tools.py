"""Agent tools: the ``@tool`` decorator, argument checking, and the built-in tools.

An agent tool is a :class:`FunctionTool`: a :class:`~modelplug.types.Tool` plus the Python callable
that runs it; :func:`as_function_tool` converts what an agent is given. The built-in tools
(:func:`final_answer`, :func:`calculator`, :func:`current_time`) execute no arbitrary code.
See ``docs/agents.md`` ("Tools").
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, overload

import attrs

from modelplug.errors import InvalidOptionError
from modelplug.tools import as_tool, tool_from_function
from modelplug.types import Tool

__all__ = [
    "BUILTIN_TOOLS",
    "FINAL_ANSWER",
    "MAX_FORCED_ANSWER_CHARS",
    "FunctionTool",
    "as_function_tool",
    "calculator",
    "current_time",
    "final_answer",
    "final_answer_text",
    "tool",
    "validate_arguments",
]

#: The name of the tool that ends a run.
FINAL_ANSWER: Final = "final_answer"


@attrs.frozen
class FunctionTool:
    """A tool the agent can run: its description for the model (``tool``) and its implementation
    (``function``, called with the decoded arguments as keywords). Calling the object calls the
    function, so a decorated function still works as a function."""

    tool: Tool
    function: Callable[..., Any]
    #: Seconds the agent waits for one call before it reports a timeout to the model (``None``:
    #: the agent's ``tool_timeout_s``).
    timeout_s: float | None = None

    @property
    def name(self) -> str:
        """The tool's name, as the model calls it."""
        return self.tool.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)


@overload
def tool(
    function: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
) -> FunctionTool: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, timeout_s: float | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a typed function an agent tool; use as ``@tool`` or ``@tool(name=..., description=...)``.

    The JSON schema of the parameters comes from the signature (annotations, defaults) and the
    docstring (summary as description, ``Args:`` entries as parameter descriptions). ``timeout_s``
    bounds one call (seconds; default: the agent's ``tool_timeout_s``).

    Raises:
        InvalidOptionError: the function takes ``*args`` or ``**kwargs``.
    """

    def decorate(fn: Callable[..., Any]) -> FunctionTool:
        described = tool_from_function(fn, name=name)
        if description is not None:
            described = attrs.evolve(described, description=description)
        return FunctionTool(described, fn, timeout_s)

    return decorate if function is None else decorate(function)


def as_function_tool(value: Any) -> FunctionTool:
    """Return ``value`` as a :class:`FunctionTool`.

    Accepts a FunctionTool, a ``(Tool | OpenAI tool dict, callable)`` pair, a callable with a
    ``tool`` attribute holding a :class:`Tool`, or a typed function (plain or ``async def``: the
    agent's ``arun`` awaits it on its loop; ``run`` runs it on an event loop of its own).

    Raises:
        InvalidOptionError: a Tool or tool dict without an implementation, or anything else.
    """
    if isinstance(value, FunctionTool):
        return value
    if isinstance(value, tuple) and len(value) == 2 and callable(value[1]):
        return FunctionTool(as_tool(value[0]), value[1])
    if isinstance(value, (Tool, Mapping)):
        name = value.name if isinstance(value, Tool) else as_tool(value).name
        raise InvalidOptionError(
            f"tool {name!r} has no implementation: pass (tool, function) or a typed function to the agent"
        )
    if callable(value):
        attached = getattr(value, "tool", None)
        if isinstance(attached, Tool):
            return FunctionTool(attached, value)
        return FunctionTool(tool_from_function(value), value)
    raise InvalidOptionError(
        f"cannot use {value!r} as an agent tool: give a typed function, @tool, or (Tool, function)"
    )


# --- argument checking -------------------------------------------------------------------------

_JSON_TYPES: Final[dict[str, Callable[[Any], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _check(value: Any, schema: Mapping[str, Any], where: str, problems: list[str]) -> None:
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where} must be one of {schema['enum']!r}, got {value!r}")
        return
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        known = [n for n in names if n in _JSON_TYPES]
        if known and not any(_JSON_TYPES[n](value) for n in known):
            problems.append(f"{where} must be of type {' or '.join(known)}, got {type(value).__name__} {value!r}")
            return
    if "anyOf" in schema:
        options = schema["anyOf"]
        if not any(not _problems(value, option, where) for option in options if isinstance(option, Mapping)):
            problems.append(f"{where} matches none of the allowed schemas, got {value!r}")
            return
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{index}]", problems)


def _problems(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    found: list[str] = []
    _check(value, schema, where, found)
    return found


def validate_arguments(parameters: Mapping[str, Any], arguments: Any) -> list[str]:
    """Check decoded tool-call ``arguments`` against a tool's ``parameters`` JSON schema.

    Checks what small models get wrong: the arguments are an object, required keys are present,
    no unknown keys (unless ``additionalProperties`` allows them), and each value has the declared
    basic type (``string``, ``integer``, ``number``, ``boolean``, ``array``, ``object``, ``null``,
    lists of these, ``enum``, ``anyOf``, array ``items``). It is not a full JSON-schema validator.

    Returns:
        The problems found, as readable sentences (empty when the arguments are fine).
    """
    if not isinstance(arguments, dict):
        return [f"arguments must be a JSON object, got {type(arguments).__name__}"]
    properties = parameters.get("properties") or {}
    problems = [
        f"missing required argument {key!r}" for key in parameters.get("required") or () if key not in arguments
    ]
    extra = parameters.get("additionalProperties", False)
    for key, value in arguments.items():
        schema = properties.get(key)
        if schema is None:
            if extra is False:
                problems.append(f"unknown argument {key!r} (expected: {', '.join(properties) or 'none'})")
            elif isinstance(extra, Mapping):
                _check(value, extra, f"argument {key!r}", problems)
            continue
        if isinstance(schema, Mapping):
            _check(value, schema, f"argument {key!r}", problems)
    return problems


# --- built-in tools ----------------------------------------------------------------------------


def _final_answer(answer: Any) -> Any:
    """Give the final answer to the task and end the run.

    Args:
        answer: the final answer (text, a number or any JSON value).
    """
    return answer


#: The built-in tool that ends a run; every agent has it.
final_answer: Final = tool(_final_answer, name=FINAL_ANSWER)

#: The most characters of the ``answer`` of a forced call of the built-in ``final_answer``.
MAX_FORCED_ANSWER_CHARS: Final = 400

#: The built-in ``final_answer`` as offered when calls are forced (constrained decoding, local
#: models): ``answer`` is text of at most :data:`MAX_FORCED_ANSWER_CHARS` characters. An untyped
#: answer lets the grammar accept any JSON value, and a small model then nests objects
#: (``{"answer": {"answer": ...``) until ``max_tokens``; a bounded string always closes.
final_answer_text: Final = FunctionTool(
    attrs.evolve(
        final_answer.tool,
        parameters={
            "type": "object",
            "properties": {
                "answer": {
                    "type": "string",
                    "description": "the final answer, as text",
                    "maxLength": MAX_FORCED_ANSWER_CHARS,
                }
            },
            "required": ["answer"],
        },
    ),
    _final_answer,
)

#: Limits of :func:`calculator`: expression length (characters) and size of integers (bits).
MAX_EXPRESSION_CHARS: Final = 500
MAX_INT_BITS: Final = 4096

_BINARY: Final[dict[type[ast.operator], Callable[[Any, Any], Any]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: Final[dict[type[ast.unaryop], Callable[[Any], Any]]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _bits(value: int | float) -> float:
    """An upper bound of the bits an int result needs (0 for floats, which cannot grow unbounded)."""
    return float(abs(value).bit_length()) if isinstance(value, int) else 0.0


def _apply(op: type[ast.operator], left: int | float, right: int | float) -> int | float:
    if isinstance(left, int) and isinstance(right, int):
        if op is ast.Mult and _bits(left) + _bits(right) > MAX_INT_BITS:
            raise ValueError(f"result too large (more than {MAX_INT_BITS} bits)")
        if op is ast.Pow and right > 0 and abs(left) > 1 and right * math.log2(abs(left)) > MAX_INT_BITS:
            raise ValueError(f"result too large (more than {MAX_INT_BITS} bits)")
    if op is ast.Pow and isinstance(right, (int, float)) and abs(right) > 10_000 and abs(left) != 1:
        raise ValueError("exponent too large (at most 10000)")
    result: int | float = _BINARY[op](left, right)
    if isinstance(result, complex):
        raise ValueError("the result is not a real number")
    return result


def _evaluate(node: ast.AST) -> int | float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _apply(type(node.op), _evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))  # type: ignore[no-any-return]
    raise ValueError(f"not allowed in an arithmetic expression: {ast.dump(node)[:60]}")


@tool
def calculator(expression: str) -> int | float:
    """Evaluate an arithmetic expression: numbers, + - * / // % **, unary minus and parentheses.

    Args:
        expression: the expression, e.g. "(2 + 3) * 4 ** 2 / 7".

    Raises:
        ValueError: anything else (names, calls, attributes...), an expression longer than 500
            characters, or a result beyond the size limits (4096-bit integers, exponent 10000).
        ZeroDivisionError: division by zero.
    """
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"expression too long (at most {MAX_EXPRESSION_CHARS} characters)")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise ValueError(f"not an arithmetic expression: {error.msg}") from None
    try:
        return _evaluate(tree)
    except OverflowError:
        raise ValueError("result too large for a floating-point number") from None


@tool
def current_time() -> str:
    """The current date and time in UTC, ISO 8601 (e.g. "2025-01-31T12:00:00+00:00")."""
    return datetime.now(UTC).isoformat(timespec="seconds")


#: Built-in tools by name (what ``modelplug agent --tool NAME`` accepts besides ``module:function``).
BUILTIN_TOOLS: Final[dict[str, FunctionTool]] = {"calculator": calculator, "current_time": current_time}
