"""Tools and tool_choice, Anthropic to Converse `toolConfig` (spec §10.5).

Rules:
- each tool becomes `{"toolSpec": {name, description, inputSchema: {json}}}` (`strict` kept);
  `cache_control` on a tool becomes one `cachePoint` after the tool list;
- tool_choice auto / any / tool map to `{auto: {}}` / `{any: {}}` / `{tool: {name}}`; Converse
  has no `none`, so the tools are left out instead;
- Bedrock refuses a history holding toolUse / toolResult blocks unless `toolConfig` is defined
  ("The toolConfig field must be defined when using toolUse and toolResult content blocks").
  When the request has such blocks but no tools (or `tool_choice: none`), the tools are
  declared anyway: the request's own tools if it has them (with `none` then named as dropped,
  since the model could call them), else one permissive stub (`{"type": "object"}` input)
  per tool name the history's tool_use blocks use.
"""

from __future__ import annotations

from typing import Any, assert_never

from aigateway.ir.messages import (
    MessagesRequest,
    Tool,
    ToolChoice,
    ToolChoiceAny,
    ToolChoiceAuto,
    ToolChoiceNone,
    ToolChoiceTool,
    ToolResultBlock,
    ToolUseBlock,
)

CACHE_POINT = {"cachePoint": {"type": "default"}}


def tool_config(req: MessagesRequest, drop: Any) -> dict[str, Any] | None:
    """`drop(name)` records what could not be carried."""
    history = _history_tool_names(req)
    choice = req.tool_choice
    wanted = bool(req.tools) and not isinstance(choice, ToolChoiceNone)
    if not wanted and history is None:
        return None
    if req.tools:
        tools = [_spec(t) for t in req.tools]
        if any(t.cache_control for t in req.tools):
            tools.append(CACHE_POINT)
        if not wanted:
            drop("tool_choice.none")
    else:
        tools = [{"toolSpec": {"name": n, "inputSchema": {"json": {"type": "object"}}}} for n in history or []]
        if not tools:
            return None
    config: dict[str, Any] = {"tools": tools}
    if wanted and choice is not None:
        config["toolChoice"] = _choice(choice)
        if getattr(choice, "disable_parallel_tool_use", None):
            drop("tool_choice.disable_parallel_tool_use")
    return config


def _spec(tool: Tool) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": tool.name, "inputSchema": {"json": tool.input_schema}}
    if tool.description:  # Bedrock: a description must not be empty
        spec["description"] = tool.description
    if tool.strict is not None:
        spec["strict"] = tool.strict
    return {"toolSpec": spec}


def _choice(choice: ToolChoice) -> dict[str, Any]:
    match choice:
        case ToolChoiceAuto():
            return {"auto": {}}
        case ToolChoiceAny():
            return {"any": {}}
        case ToolChoiceTool():
            return {"tool": {"name": choice.name}}
        case ToolChoiceNone():
            raise AssertionError("tool_choice none is carried by leaving the tools out")
        case _:
            assert_never(choice)


def _history_tool_names(req: MessagesRequest) -> list[str] | None:
    """Names the history's tool_use blocks use, in order; None when it holds no tool blocks."""
    names: list[str] = []
    found = False
    for msg in req.messages:
        for block in msg.content:
            if isinstance(block, ToolUseBlock):
                found = True
                if block.name not in names:
                    names.append(block.name)
            elif isinstance(block, ToolResultBlock):
                found = True
    return names if found else None
