"""Responses API tools to the core's tools, and the model's calls back to Responses items.

Shapes: openai-python `types/responses/function_tool.py`, `custom_tool.py` (with
`shared/custom_tool_input_format.py`), `namespace_tool.py`, `tool_choice_*.py`.

- `function` tools are core tools as they are (`strict` kept);
- a `custom` (freeform) tool takes raw text, not JSON: the model is offered a tool with one
  string member, `input`, whose description carries the tool's grammar (Codex's `apply_patch`
  declares a Lark grammar); its calls come back as `custom_tool_call` with that text as `input`;
- a `namespace` tool's functions are flattened to `<namespace>__<name>` (a name every upstream
  accepts) and split back into `name` and `namespace` on the way out;
- `web_search` becomes the upstream's own search where it has one (web_search.py);
- other hosted tools (file search, ...), and `web_search` where the upstream has no search, have
  no counterpart through the core: they are left out and named in `x-aigateway-dropped`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aigateway.errors import InvalidRequest
from aigateway.frontends.responses import web_search
from aigateway.ir.messages import Tool, ToolChoice, ToolChoiceAny, ToolChoiceAuto, ToolChoiceNone, ToolChoiceTool

SEPARATOR = "__"
CUSTOM_INPUT = "input"  # the one member of a custom tool's stand-in schema
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass
class Toolbox:
    """The request's tools in the core, and how to name their calls back."""

    tools: list[Tool] = field(default_factory=list)
    custom: set[str] = field(default_factory=set)  # core names of freeform tools
    namespaced: dict[str, tuple[str, str]] = field(default_factory=dict)  # core name -> (namespace, name)
    server: list[dict[str, Any]] = field(default_factory=list)  # the upstream's web search, if offered
    dropped: list[str] = field(default_factory=list)

    def core_name(self, name: str, namespace: str | None) -> str:
        return f"{namespace}{SEPARATOR}{name}" if namespace else name

    def client_name(self, core_name: str) -> tuple[str, str | None]:
        """(name, namespace) as the client declared the tool."""
        if core_name in self.namespaced:
            namespace, name = self.namespaced[core_name]
            return name, namespace
        return core_name, None


def toolbox(value: Any, search: str | None = None) -> Toolbox:
    """`search`: the upstream's web search server tool type (`Provider.web_search`), if it has one."""
    box = Toolbox()
    if value is None:
        return box
    if not isinstance(value, list):
        raise InvalidRequest("tools: must be a list")
    for i, tool in enumerate(value):
        _add(box, tool, f"tools[{i}]", None, search)
    return box


def _add(box: Toolbox, tool: Any, path: str, namespace: str | None, search: str | None = None) -> None:
    if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
        raise InvalidRequest(f"{path}.type: Field required")
    kind = tool["type"]
    if kind in ("function", "custom") and not isinstance(tool.get("name"), str):
        raise InvalidRequest(f"{path}.name: Field required")
    if kind == "function":
        _function(box, tool, path, namespace)
    elif kind == "custom":
        name = box.core_name(tool["name"], namespace)
        box.tools.append(Tool(name=name, input_schema=_custom_schema(tool, path), description=tool.get("description")))
        box.custom.add(name)
        if namespace:
            box.namespaced[name] = (namespace, tool["name"])
    elif kind == "namespace" and namespace is None:
        inner, space = tool.get("tools"), tool.get("name")
        if not isinstance(inner, list) or not isinstance(space, str):
            raise InvalidRequest(f"{path}: a namespace tool needs a name and a list of tools")
        for j, member in enumerate(inner):
            _add(box, member, f"{path}.tools[{j}]", space)
    elif kind in web_search.TOOL_TYPES and search is not None and not box.server:
        server, dropped = web_search.server_tool(tool, path, search)
        box.server += [server] if server is not None else []
        box.dropped += dropped
    else:
        box.dropped.append(f"tools[].{kind}")  # hosted tools: nothing in the core runs them


def _function(box: Toolbox, tool: dict[str, Any], path: str, namespace: str | None) -> None:
    schema = tool.get("parameters")
    if schema is not None and not isinstance(schema, dict):
        raise InvalidRequest(f"{path}.parameters: must be a JSON schema object")
    name = box.core_name(tool["name"], namespace)
    strict = tool.get("strict")
    box.tools.append(
        Tool(
            name=name,
            input_schema=schema or dict(_EMPTY_SCHEMA),
            description=tool.get("description"),
            strict=strict if isinstance(strict, bool) and strict else None,
        )
    )
    if namespace:
        box.namespaced[name] = (namespace, tool["name"])


def _custom_schema(tool: dict[str, Any], path: str) -> dict[str, Any]:
    """One string member; the grammar (CustomToolInputFormat `grammar`) goes into its description."""
    fmt = tool.get("format") or {"type": "text"}
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "grammar"):
        raise InvalidRequest(f"{path}.format.type: must be text or grammar")
    what = "The tool's whole input, as raw text (not JSON)."
    if fmt.get("type") == "grammar":
        what += f" It must match this {fmt.get('syntax', '')} grammar:\n{fmt.get('definition', '')}"
    member = {"type": "string", "description": what}
    return {"type": "object", "properties": {CUSTOM_INPUT: member}, "required": [CUSTOM_INPUT]}


def tool_choice(value: Any, parallel: Any, box: Toolbox) -> ToolChoice | None:
    """`tool_choice` (none, auto, required, one function / custom tool, or the web search) and
    `parallel_tool_calls`; a web search choice without the search is named dropped (auto)."""
    hosted = isinstance(value, dict) and value.get("type") in web_search.TOOL_TYPES
    if hosted and not box.server:
        box.dropped.append("tool_choice")
        value = None
    if not box.tools and not box.server:
        return None  # without tools a choice means nothing (and Anthropic refuses one)
    choice: ToolChoice | None
    if hosted and box.server:
        choice = ToolChoiceTool(name=web_search.NAME)
    elif value is None or value == "auto":
        choice = ToolChoiceAuto() if parallel is False else None
    elif value == "none":
        return ToolChoiceNone()
    elif value == "required":
        choice = ToolChoiceAny()
    elif isinstance(value, dict) and value.get("type") in ("function", "custom") and isinstance(value.get("name"), str):
        choice = ToolChoiceTool(name=box.core_name(value["name"], value.get("namespace")))
    else:
        raise InvalidRequest(
            "tool_choice: must be none, auto, required, {type: function | custom, name} or {type: web_search_preview}"
        )
    if parallel is False and choice is not None:
        choice.disable_parallel_tool_use = True
    return choice
