"""A Chat Completions body to the core request (ir), in Anthropic's structure (spec §10.2, read
backwards; field names from openai-python `types/chat/completion_create_params.py`).

Invariants of the result:
- every `system` and `developer` message is hoisted, in order, into `system`;
- `tool` messages become `tool_result` blocks; consecutive messages of one role are merged into
  one turn, tool results first, so roles alternate as Anthropic requires;
- user parts: text, `image_url` (data URL -> base64 source, else url source), `file` with a PDF
  data URL -> document; audio and file ids are a 400 naming the part;
- assistant `tool_calls` become `tool_use` blocks, arguments parsed (a 400 if not a JSON object);
- `response_format` json_schema -> `output_config.format` (Anthropic's structured outputs) where
  the model has them (`native_schema`); else, and for `json_object` (no schema to enforce), forced
  use of one tool, `JSON_TOOL`, taking the schema (any object for json_object); response.py and
  stream.py turn that call back into the message's content. An upstream with a JSON mode of its
  own (`json_mode`) gets `json_object` as the core's `response_format` instead;
- `reasoning_effort` -> `thinking` with a budget below `max_tokens` (`none` -> disabled);
- OpenAI-only knobs the core models (n, seed, logprobs, penalties) become its typed fields;
  anything else is named in `dropped`, never forwarded as if it were an Anthropic field.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from aigateway.errors import InvalidRequest
from aigateway.frontends.request_openai import force_json_tool, text_parts, thinking, url_source
from aigateway.ir.messages import (
    Block,
    DocumentBlock,
    ImageBlock,
    InputMessage,
    MessagesRequest,
    OutputConfig,
    RawBlock,
    TextBlock,
    Tool,
    ToolChoice,
    ToolChoiceAny,
    ToolChoiceAuto,
    ToolChoiceNone,
    ToolChoiceTool,
    ToolResultBlock,
    ToolUseBlock,
)

_TEXT = ("text",)  # the text part types of a message's content (and refusal)
DEFAULT_MAX_TOKENS = 4096  # Chat Completions makes it optional; Anthropic requires one
_MAX_TOKENS_BOUND = 2**31 - 1  # as on the Messages door: a reservation within 64-bit counters
# Read by the door itself, or mapped below; everything else is reported as dropped.
_HANDLED = {
    "model", "messages", "max_tokens", "max_completion_tokens", "stream", "stream_options", "temperature",
    "top_p", "stop", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort",
    "user", "n", "seed", "logprobs", "top_logprobs", "frequency_penalty", "presence_penalty", "prompt_cache_key",
}  # fmt: skip
_KNOBS = {"n": int, "seed": int, "logprobs": bool, "top_logprobs": int, "frequency_penalty": float,
          "presence_penalty": float, "temperature": float, "top_p": float}  # fmt: skip


def to_ir(
    raw: dict[str, Any], model: str, *, native_schema: bool = True, json_mode: bool = False
) -> tuple[MessagesRequest, list[str]]:
    """The typed request and the names of the fields the core cannot carry.

    `native_schema`: the upstream model takes `output_config.format`; `json_mode`: it has a
    schemaless JSON mode of its own, so `json_object` stays `response_format` in the core."""
    request, dropped = _to_ir(raw, model)
    if json_mode and _format_type(raw) == "json_object":
        request.response_format = {"type": "json_object"}
        return request, dropped
    schema = json_tool_schema(raw, native_schema=native_schema)
    if schema is not None:
        force_json_tool(request, schema, field="response_format", conflicts="tools or reasoning_effort")
    return request, dropped


def json_tool_schema(raw: dict[str, Any], *, native_schema: bool, json_mode: bool = False) -> dict[str, Any] | None:
    """The input schema of the forced JSON tool, when `response_format` needs one."""
    kind = _format_type(raw)
    if kind == "json_object" and not json_mode:
        return {"type": "object"}
    if kind == "json_schema" and not native_schema:
        schema = _member(raw["response_format"], "json_schema", "response_format").get("schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise InvalidRequest("response_format.json_schema.schema: must be an object schema on this model")
        return schema
    return None


def _format_type(raw: dict[str, Any]) -> Any:
    fmt = raw.get("response_format")
    return fmt.get("type") if isinstance(fmt, dict) else None


def _member(container: dict[str, Any], name: str, path: str) -> dict[str, Any]:
    """`container[name]` when it is an object (an empty one when absent); else a 400 naming it.
    Every nested member is read through here or an isinstance check: a wrong type is the
    client's error, never an AttributeError."""
    value = container.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path}.{name}: must be an object")
    return value


def _to_ir(raw: dict[str, Any], model: str) -> tuple[MessagesRequest, list[str]]:
    messages = raw.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: Field required (a non-empty list of messages)")
    system, turns = _conversation(messages)
    max_tokens = max_output_tokens(raw)
    tools = _tools(raw.get("tools"))
    knobs = {name: _typed(raw[name], kind, name) for name, kind in _KNOBS.items() if raw.get(name) is not None}
    request = MessagesRequest(
        model=model,
        max_tokens=max_tokens,
        messages=turns,
        system=system or None,
        stream=bool(raw.get("stream")),
        stop_sequences=_stop(raw.get("stop")),
        tools=tools,
        # Without tools a choice means nothing (and Anthropic refuses one).
        tool_choice=_tool_choice(raw.get("tool_choice"), raw.get("parallel_tool_calls")) if tools else None,
        thinking=thinking(
            raw.get("reasoning_effort"), max_tokens, field="reasoning_effort", limit_field="max_completion_tokens"
        ),
        output_config=_output_config(raw.get("response_format")),
        user_id=_typed(raw["user"], str, "user") if raw.get("user") is not None else None,
        prompt_cache_key=_cache_key(raw.get("prompt_cache_key")),
        **knobs,
    )
    return request, [name for name in raw if name not in _HANDLED]


def _typed(value: Any, kind: Any, path: str) -> Any:
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"{path}: {str(exc).partition(' - at ')[0]}") from None


def max_output_tokens(raw: dict[str, Any]) -> int:
    """The output limit the request gives (the default when it gives none), checked for every
    upstream: the budget reservation is made from it before any attempt."""
    for name in ("max_completion_tokens", "max_tokens"):
        if raw.get(name) is not None:
            value: int = _typed(raw[name], int, name)
            if not 1 <= value <= _MAX_TOKENS_BOUND:
                raise InvalidRequest(f"{name}: must be at least 1 and at most {_MAX_TOKENS_BOUND}")
            return value
    return DEFAULT_MAX_TOKENS


def _stop(value: Any) -> list[str] | None:
    if value is None:
        return None
    stops: list[str] = _typed([value] if isinstance(value, str) else value, list[str], "stop")
    return stops or None


# --- messages ------------------------------------------------------------------------------------


def _conversation(messages: list[Any]) -> tuple[list[TextBlock], list[InputMessage]]:
    system: list[TextBlock] = []
    turns: list[InputMessage] = []
    for i, msg in enumerate(messages):
        path = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise InvalidRequest(f"{path}: must be an object with a role")
        role = msg.get("role")
        if role in ("system", "developer"):
            system += [TextBlock(text=t) for t in text_parts(msg.get("content"), f"{path}.content", _TEXT)]
            continue
        turn_role: Literal["user", "assistant"] = "assistant" if role == "assistant" else "user"
        if role == "user":
            blocks = _user(msg.get("content"), path)
        elif role == "assistant":
            blocks = _assistant(msg, path)
        elif role == "tool":
            blocks = [_tool_result(msg, path)]
        else:
            raise InvalidRequest(f"{path}.role: must be one of system, developer, user, assistant, tool")
        if turns and turns[-1].role == turn_role:
            turns[-1].content += blocks  # merged: Anthropic's roles alternate
        elif blocks or turn_role == "user":
            turns.append(InputMessage(role=turn_role, content=blocks))
    for turn in turns:  # a tool_result must open the user turn that answers the tool calls
        turn.content.sort(key=lambda b: not isinstance(b, ToolResultBlock))
    if not turns:
        raise InvalidRequest("messages: at least one user or assistant message is required")
    return system, turns


def _user(content: Any, path: str) -> list[Block | RawBlock]:
    if isinstance(content, str):
        return [TextBlock(text=content)]
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}.content: must be a string or a list of content parts")
    return [_part(part, f"{path}.content[{j}]") for j, part in enumerate(content)]


def _part(part: Any, path: str) -> Block:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text" and isinstance(part.get("text"), str):
        return TextBlock(text=part["text"])
    if kind == "image_url":
        url = _member(part, "image_url", path).get("url")
        if not isinstance(url, str):
            raise InvalidRequest(f"{path}.image_url.url: Field required")
        return ImageBlock(source=url_source(url, path))
    if kind == "file":
        file = _member(part, "file", path)
        data = file.get("file_data")
        if not isinstance(data, str) or not data.startswith("data:"):
            raise InvalidRequest(f"{path}.file: only inline file_data (a data URL) can be sent on; file ids cannot")
        name = file.get("filename")
        return DocumentBlock(source=url_source(data, path), title=name if isinstance(name, str) else None)
    raise InvalidRequest(f"{path}: content part type {kind!r} is not supported (text, image_url and file are)")


def _assistant(msg: dict[str, Any], path: str) -> list[Block | RawBlock]:
    content = msg.get("content")
    blocks: list[Block | RawBlock] = (
        [] if content is None else [TextBlock(text=t) for t in text_parts(content, path, _TEXT)]
    )
    calls = msg.get("tool_calls") or []
    if not isinstance(calls, list):
        raise InvalidRequest(f"{path}.tool_calls: must be a list")
    for k, call in enumerate(calls):
        where = f"{path}.tool_calls[{k}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(call.get("id"), str):
            raise InvalidRequest(f"{where}: a function call needs id and function")
        arguments = function.get("arguments") or "{}"
        try:
            parsed = msgspec.json.decode(arguments) if isinstance(arguments, str) else None
        except msgspec.DecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise InvalidRequest(f"{where}.function.arguments: must be a JSON object encoded as a string")
        blocks.append(ToolUseBlock(id=call["id"], name=str(function.get("name", "")), input=parsed))
    return blocks


def _tool_result(msg: dict[str, Any], path: str) -> ToolResultBlock:
    call_id = msg.get("tool_call_id")
    if not isinstance(call_id, str):
        raise InvalidRequest(f"{path}.tool_call_id: Field required")
    texts = text_parts(msg.get("content") or "", f"{path}.content", _TEXT)
    return ToolResultBlock(tool_use_id=call_id, content="".join(texts))


# --- tools and options ---------------------------------------------------------------------------


def _tools(value: Any) -> list[Tool] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidRequest("tools: must be a list")
    tools = []
    for i, tool in enumerate(value):
        function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise InvalidRequest(f"tools[{i}]: only function tools with a name are supported")
        where = f"tools[{i}].function"
        schema = _member(function, "parameters", where) or {"type": "object", "properties": {}}
        description = function.get("description")
        strict = function.get("strict")
        tools.append(
            Tool(
                name=function["name"],
                input_schema=schema,
                description=_typed(description, str, f"{where}.description") if description is not None else None,
                strict=_typed(strict, bool, f"{where}.strict") if strict is not None else None,
            )
        )
    return tools


def _tool_choice(value: Any, parallel: Any) -> ToolChoice | None:
    choice: ToolChoice | None
    if value is None or value == "auto":
        choice = ToolChoiceAuto() if value is not None or parallel is False else None
    elif value == "none":
        return ToolChoiceNone()
    elif value == "required":
        choice = ToolChoiceAny()
    elif (
        isinstance(value, dict)
        and isinstance(value.get("function"), dict)
        and isinstance(value["function"].get("name"), str)
    ):
        choice = ToolChoiceTool(name=value["function"]["name"])
    else:
        raise InvalidRequest("tool_choice: must be none, auto, required or {type: function, function: {name}}")
    if parallel is False and choice is not None:
        choice.disable_parallel_tool_use = True  # parallel_tool_calls: false
    return choice


def _output_config(value: Any) -> OutputConfig | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None
    if kind == "json_schema":
        schema = _member(value, "json_schema", "response_format").get("schema")
        if not isinstance(schema, dict):
            raise InvalidRequest("response_format.json_schema.schema: Field required")
        return OutputConfig(format={"type": "json_schema", "schema": schema})
    if kind == "json_object":
        return None  # forced tool use, see `to_ir`
    raise InvalidRequest("response_format.type: must be text, json_schema or json_object")


def _cache_key(value: Any) -> str | None:
    """OpenAI's prompt-cache routing key: passed on to OpenAI, the cue to cache on Claude."""
    return None if value is None else str(_typed(value, str, "prompt_cache_key"))
