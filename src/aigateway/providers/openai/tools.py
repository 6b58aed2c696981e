"""Tool definitions and tool_choice, Anthropic to Chat Completions (spec §10.2)."""

from __future__ import annotations

from typing import Any, assert_never

from aigateway.ir.messages import Tool, ToolChoice, ToolChoiceAny, ToolChoiceAuto, ToolChoiceNone, ToolChoiceTool


def tool_definitions(defs: list[Tool]) -> list[dict[str, Any]]:
    out = []
    for tool in defs:
        function: dict[str, Any] = {"name": tool.name, "parameters": tool.input_schema}
        if tool.description is not None:
            function["description"] = tool.description
        if tool.strict is not None:
            function["strict"] = tool.strict
        out.append({"type": "function", "function": function})
    return out


def tool_choice(choice: ToolChoice, any_value: str) -> tuple[str | dict[str, Any], bool | None]:
    """(tool_choice, parallel_tool_calls): `disable_parallel_tool_use` becomes the second."""
    match choice:
        case ToolChoiceAuto():
            return "auto", _parallel(choice.disable_parallel_tool_use)
        case ToolChoiceAny():
            return any_value, _parallel(choice.disable_parallel_tool_use)
        case ToolChoiceTool():
            return {"type": "function", "function": {"name": choice.name}}, _parallel(choice.disable_parallel_tool_use)
        case ToolChoiceNone():
            return "none", None
        case _:
            assert_never(choice)


def _parallel(disable: bool | None) -> bool | None:
    return None if disable is None else not disable
