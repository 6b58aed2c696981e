"""A Responses API body (`POST /v1/responses`) to the core request (ir), for upstreams that do
not serve the Responses API themselves. Field names: openai-python
`types/responses/response_create_params.py`.

Invariants of the result:
- `instructions`, then `system`/`developer` messages, make the system prompt; input items make
  the turns (items.py); tools and `tool_choice` as tools.py says;
- `max_output_tokens` is the core's `max_tokens` (the Responses API makes it optional:
  `DEFAULT_MAX_OUTPUT` then); `reasoning.effort` is a thinking budget below it, from the same
  table as the Chat door's `reasoning_effort` (`none` disables thinking);
- `text.format` `json_schema` is the core's structured output where the model has it, and
  `json_object` the upstream's JSON mode where it has one; otherwise either is forced use of the
  JSON tool (frontends/request_openai.py, as on the Chat door), whose input comes back as text;
- a conversation continued with `previous_response_id` arrives here whole (history.py puts the
  stored items before the input); one still naming it is a 400 (the gateway keeps no responses:
  stored_responses is off), and `store` is then named in `dropped`, as is every field the core
  cannot carry; nothing is forwarded as if it were another protocol's field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from aigateway.errors import InvalidRequest
from aigateway.frontends.request_openai import force_json_tool, thinking
from aigateway.frontends.responses import web_search
from aigateway.frontends.responses.items import Conversation
from aigateway.frontends.responses.sealing import Sealer
from aigateway.frontends.responses.tools import Toolbox, tool_choice, toolbox
from aigateway.ir.messages import MessagesRequest, OutputConfig, TextBlock

DEFAULT_MAX_OUTPUT = 16384  # Codex and the Agents SDK send no limit; Anthropic requires one
# Read by the door itself or mapped below; every other field is named as dropped.
_HANDLED = {
    "model", "input", "instructions", "stream", "max_output_tokens", "temperature", "top_p", "tools",
    "tool_choice", "parallel_tool_calls", "reasoning", "text", "safety_identifier", "user", "store",
    "previous_response_id", "include", "stream_options", "background", "prompt_cache_key",
}  # fmt: skip
_KNOWN_INCLUDES = {"reasoning.encrypted_content", web_search.SOURCES}


@dataclass
class Translated:
    request: MessagesRequest
    dropped: list[str]
    box: Toolbox
    seal: bool  # include asks for reasoning.encrypted_content
    summary: bool  # reasoning.summary asks for the model's thinking as summary text
    json_tool: bool = False  # text.format answered by the forced JSON_TOOL (its input is the text)
    sources: bool = False  # include asks for the web search calls' sources


def to_ir(
    raw: dict[str, Any],
    model: str,
    upstream_model: str,
    sealer: Sealer,
    *,
    json_mode: bool,
    native_schema: bool,
    kept: bool = False,
    search: str | None = None,
) -> Translated:
    """The typed request for one upstream model; a 400 names the first wrong field.

    `native_schema`: the model takes `output_config.format`; `json_mode`: it has a JSON mode of its
    own. Without them, `json_schema` / `json_object` become a forced `JSON_TOOL` call (`json_tool`).
    `kept`: the gateway keeps the answer (so `store` is not dropped); `search`: the upstream's own
    web search tool type, if it has one (`Provider.web_search`)."""
    if raw.get("previous_response_id") is not None:
        raise InvalidRequest(
            f"previous_response_id: the gateway does not keep responses for model '{model}' "
            "(stored_responses is off); send the whole conversation in input (with store: false)"
        )
    box = toolbox(raw.get("tools"), search)
    conversation = Conversation(box, sealer, upstream_model)
    instructions = raw.get("instructions")
    if instructions is not None:
        conversation.system += [TextBlock(text=t) for t in _instructions(instructions)]
    conversation.add_all(raw.get("input"))
    if not conversation.turns:
        raise InvalidRequest("input: at least one user or assistant item is required")
    max_tokens = _max_output(raw.get("max_output_tokens"))
    reasoning = _object(raw.get("reasoning"), "reasoning")
    request = MessagesRequest(
        model=model,
        max_tokens=max_tokens,
        messages=conversation.turns,
        system=conversation.system or None,
        stream=bool(raw.get("stream")),
        temperature=_typed(raw.get("temperature"), float, "temperature"),
        top_p=_typed(raw.get("top_p"), float, "top_p"),
        tools=box.tools or None,
        server_tools=box.server or None,
        tool_choice=tool_choice(raw.get("tool_choice"), raw.get("parallel_tool_calls"), box),
        thinking=thinking(
            reasoning.get("effort"), max_tokens, field="reasoning.effort", limit_field="max_output_tokens"
        ),
        user_id=_typed(raw.get("safety_identifier") or raw.get("user"), str, "safety_identifier"),
        # Codex sends one per session: prompt caching asked for the OpenAI way (pipeline/caching.py)
        prompt_cache_key=_typed(raw.get("prompt_cache_key"), str, "prompt_cache_key"),
    )
    fmt = _object(raw.get("text"), "text").get("format")
    json_tool = _text_format(request, fmt, json_mode=json_mode, native_schema=native_schema)
    include = _typed(raw.get("include"), list[str], "include") or []
    return Translated(
        request=request,
        dropped=_dropped(raw, include, kept) + box.dropped + conversation.dropped,
        box=box,
        seal="reasoning.encrypted_content" in include,
        summary=reasoning.get("summary") not in (None, "none"),
        json_tool=json_tool,
        sources=web_search.SOURCES in include,
    )


def _dropped(raw: dict[str, Any], include: list[str], kept: bool) -> list[str]:
    dropped = [name for name in raw if name not in _HANDLED]
    if raw.get("store") is not False and not kept:
        dropped.append("store")  # the gateway keeps nothing (stored_responses is off)
    return dropped + [f"include[].{i}" for i in include if i not in _KNOWN_INCLUDES]


def _typed(value: Any, kind: Any, path: str) -> Any:
    if value is None:
        return None
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"{path}: {str(exc).partition(' - at ')[0]}") from None


def _object(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path}: must be an object")
    return value


def _instructions(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    raise InvalidRequest("instructions: must be a string")


def _max_output(value: Any) -> int:
    if value is None:
        return DEFAULT_MAX_OUTPUT
    limit: int = _typed(value, int, "max_output_tokens")
    if limit < 1:
        raise InvalidRequest("max_output_tokens: must be at least 1")
    return limit


def _text_format(request: MessagesRequest, fmt: Any, *, json_mode: bool, native_schema: bool) -> bool:
    """`text.format` (ResponseFormatTextConfigParam): text, json_schema or json_object; True when
    it is answered by the forced JSON tool."""
    kind = fmt.get("type") if isinstance(fmt, dict) else None if fmt is None else "?"
    if kind in (None, "text"):
        return False
    if kind == "json_schema":
        schema = fmt.get("schema")
        if not isinstance(schema, dict):
            raise InvalidRequest("text.format.schema: Field required")
        if native_schema:
            request.output_config = OutputConfig(format={"type": "json_schema", "schema": schema})
            return False
        if schema.get("type") != "object":
            raise InvalidRequest("text.format.schema: must be an object schema on this model")
    elif kind == "json_object" and json_mode:
        request.response_format = {"type": "json_object"}
        return False
    elif kind == "json_object":
        schema = None
    else:
        raise InvalidRequest("text.format.type: must be text, json_schema or json_object")
    force_json_tool(request, schema, field="text.format", conflicts="tools or reasoning.effort")
    return True
