"""The Anthropic-shaped core: a Messages request and a Message, as typed structs.

Invariants:
- the shapes follow the Anthropic SDK types (`anthropic/types/*_param.py` for input,
  `message.py`, `content_block.py`, `usage.py` for output); wire names are field names;
- a content block type we do not know is kept as a `RawBlock` (never dropped silently), and a
  top-level field we do not model is kept in `MessagesRequest.extra`, so each translator decides,
  visibly, what to do with it;
- output structs encode with `omit_defaults`, so optional fields absent upstream stay absent on
  the wire, exactly as Anthropic's own responses;
- the one gateway-internal mark, `RefusalBlock`, is a type, not a field: it has nothing of its
  own to put on Anthropic's wire;
- an answer may hold a web search the upstream ran (`server_tool_use`, `web_search_tool_result`,
  text `citations` of type `web_search_result_location`); in a request, server tool blocks stay
  `RawBlock`s, so they reach Anthropic as they came and every other upstream sees what they are.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

import msgspec

from aigateway.errors import InvalidRequest


class _Tagged(msgspec.Struct, tag_field="type", omit_defaults=True, kw_only=True):
    pass


# --- sources of images and documents -------------------------------------------------------------


class Base64Source(_Tagged, tag="base64"):
    media_type: str
    data: str


class URLSource(_Tagged, tag="url"):
    url: str


class TextSource(_Tagged, tag="text"):
    data: str
    media_type: str = "text/plain"


class ContentSource(_Tagged, tag="content"):
    content: str | list[dict[str, Any]]


class FileSource(_Tagged, tag="file"):
    file_id: str


ImageSource = Base64Source | URLSource | FileSource
DocumentSource = Base64Source | URLSource | TextSource | ContentSource | FileSource


# --- content blocks ------------------------------------------------------------------------------


class TextBlock(_Tagged, tag="text"):
    text: str
    citations: list[dict[str, Any]] | None = None
    cache_control: dict[str, Any] | None = None


class RefusalBlock(TextBlock):
    """Text in which the model declines to answer (a Chat Completions `refusal`), known as such
    when its block starts. A subclass with no field of its own: it encodes exactly as a text
    block, so the Anthropic door shows plain text (and `stop_reason: refusal`), while the OpenAI
    doors show a `refusal` part or field. Made by decoders only, never decoded from a body."""


class ImageBlock(_Tagged, tag="image"):
    source: ImageSource
    cache_control: dict[str, Any] | None = None


class DocumentBlock(_Tagged, tag="document"):
    source: DocumentSource
    title: str | None = None
    context: str | None = None
    citations: dict[str, Any] | None = None
    cache_control: dict[str, Any] | None = None


class ThinkingBlock(_Tagged, tag="thinking"):
    thinking: str
    signature: str


class RedactedThinkingBlock(_Tagged, tag="redacted_thinking"):
    data: str


class ToolUseBlock(_Tagged, tag="tool_use"):
    id: str
    name: str
    input: dict[str, Any]
    cache_control: dict[str, Any] | None = None


class ToolResultBlock(_Tagged, tag="tool_result"):
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock | DocumentBlock] | None = None
    is_error: bool | None = None
    cache_control: dict[str, Any] | None = None


class ServerToolUseBlock(_Tagged, tag="server_tool_use"):
    """A tool the upstream ran itself (Anthropic's web search): the model's call. The core models
    web search only, the server tool whose result it also models."""

    id: str
    name: str
    input: dict[str, Any] = msgspec.field(default_factory=dict)  # streams open it before the input
    caller: dict[str, Any] | None = None
    cache_control: dict[str, Any] | None = None


class WebSearchResult(_Tagged, tag="web_search_result"):
    url: str
    title: str = ""
    encrypted_content: str = ""  # what citations point into; goes back as it came
    page_age: str | None = None


class WebSearchError(_Tagged, tag="web_search_tool_result_error"):
    error_code: str  # invalid_tool_input, unavailable, max_uses_exceeded, too_many_requests, ...


class WebSearchToolResultBlock(_Tagged, tag="web_search_tool_result"):
    """The results of a `server_tool_use` web search (SDK `web_search_tool_result_block.py`)."""

    tool_use_id: str
    content: list[WebSearchResult] | WebSearchError
    caller: dict[str, Any] | None = None
    cache_control: dict[str, Any] | None = None


class RawBlock(msgspec.Struct):
    """A block type this build does not model (server tools, search results, ...), kept whole."""

    type: str
    data: dict[str, Any]


Block = TextBlock | ImageBlock | DocumentBlock | ThinkingBlock | RedactedThinkingBlock | ToolUseBlock | ToolResultBlock
_BLOCK_TYPES = {"text", "image", "document", "thinking", "redacted_thinking", "tool_use", "tool_result"}


class InputMessage(msgspec.Struct):
    role: Literal["user", "assistant", "system"]
    content: list[Block | RawBlock]


# --- tools and options ---------------------------------------------------------------------------


class Tool(msgspec.Struct, omit_defaults=True, kw_only=True):
    """A client tool the model may call (`type` absent or `custom`)."""

    name: str
    input_schema: dict[str, Any]
    description: str | None = None
    strict: bool | None = None
    cache_control: dict[str, Any] | None = None


class ToolChoiceAuto(_Tagged, tag="auto"):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(_Tagged, tag="any"):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(_Tagged, tag="tool"):
    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(_Tagged, tag="none"):
    pass


ToolChoice = ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone


class Thinking(msgspec.Struct, omit_defaults=True, kw_only=True):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = None
    display: str | None = None


class OutputConfig(msgspec.Struct, omit_defaults=True, kw_only=True):
    effort: str | None = None
    format: dict[str, Any] | None = None


class MessagesRequest(msgspec.Struct, kw_only=True):
    model: str
    max_tokens: int
    messages: list[InputMessage]
    system: list[TextBlock] | None = None
    stream: bool = False
    stop_sequences: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    tools: list[Tool] | None = None
    server_tools: list[dict[str, Any]] | None = None  # tools with a `type` other than `custom`
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    user_id: str | None = None  # metadata.user_id
    # OpenAI's prompt-cache routing key (Chat Completions, Responses): passed on where the upstream
    # takes it; on Claude, a request with one gets the gateway's cache breakpoints (pipeline/caching.py)
    prompt_cache_key: str | None = None
    # OpenAI-only knobs, set by the Chat Completions door (DESIGN.md); Anthropic has no such fields.
    n: int | None = None
    seed: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    response_format: dict[str, Any] | None = None  # json_object only; json_schema is output_config.format
    tool_extras: list[str] = msgspec.field(default_factory=list)  # tool fields we do not model
    extra: dict[str, Any] = msgspec.field(default_factory=dict)  # top-level fields we do not model


# --- the response --------------------------------------------------------------------------------


class CacheCreation(msgspec.Struct):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class OutputTokensDetails(msgspec.Struct):
    thinking_tokens: int


class WireUsage(msgspec.Struct, kw_only=True):
    input_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation: CacheCreation = msgspec.field(default_factory=CacheCreation)
    output_tokens: int
    output_tokens_details: OutputTokensDetails | None = None


OutputBlock = (
    TextBlock | ThinkingBlock | RedactedThinkingBlock | ToolUseBlock | ServerToolUseBlock | WebSearchToolResultBlock
)


class Message(msgspec.Struct, kw_only=True):
    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str
    content: list[OutputBlock]
    stop_reason: str | None
    stop_sequence: str | None = None
    usage: WireUsage


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


# --- parsing at the boundary ---------------------------------------------------------------------

_MODELLED = {
    "model", "max_tokens", "messages", "system", "stream", "stop_sequences", "temperature", "top_p",
    "top_k", "tools", "tool_choice", "thinking", "output_config", "metadata",
}  # fmt: skip


_OPTIONS: dict[str, Any] = {
    "model": str, "max_tokens": int, "stop_sequences": list[str], "temperature": float, "top_p": float,
    "top_k": int, "tool_choice": ToolChoice, "thinking": Thinking, "output_config": OutputConfig,
}  # fmt: skip


def parse_request(raw: dict[str, Any]) -> MessagesRequest:
    """Builds the typed request from the decoded body; a 400 names the first wrong field."""
    messages = raw.get("messages")
    if not isinstance(messages, list):
        raise InvalidRequest("messages: Field required (a list of messages)")
    options = {name: _convert(raw[name], kind, name) for name, kind in _OPTIONS.items() if raw.get(name) is not None}
    for required in ("model", "max_tokens"):
        if required not in options:
            raise InvalidRequest(f"{required}: Field required")
    tools, server_tools, tool_extras = _split_tools(raw.get("tools"))
    metadata = raw.get("metadata")
    return MessagesRequest(
        **options,
        messages=[_message(m, f"messages.{i}") for i, m in enumerate(messages)],
        system=_system(raw.get("system")),
        stream=bool(raw.get("stream")),
        tools=tools,
        server_tools=server_tools,
        tool_extras=tool_extras,
        user_id=metadata.get("user_id") if isinstance(metadata, dict) else None,
        extra={k: v for k, v in raw.items() if k not in _MODELLED},
    )


def _convert(value: Any, kind: Any, path: str) -> Any:
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        where, _, what = str(exc).partition(" - at `$")
        detail = f"{path}{what.rstrip('`')}" if what else path
        raise InvalidRequest(f"{detail}: {where}") from None


def _system(value: Any) -> list[TextBlock] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [TextBlock(text=value)] if value else []
    return list(_convert(value, list[TextBlock], "system"))


def _message(value: Any, path: str) -> InputMessage:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path}: must be an object with role and content")
    content = value.get("content")
    if isinstance(content, str):
        blocks: list[Block | RawBlock] = [TextBlock(text=content)]
    elif isinstance(content, list):
        blocks = [_block(b, f"{path}.content.{i}") for i, b in enumerate(content)]
    else:
        raise InvalidRequest(f"{path}.content: must be a string or a list of content blocks")
    role = value.get("role")
    if role not in ("user", "assistant", "system"):
        raise InvalidRequest(f"{path}.role: must be 'user' or 'assistant'")
    return InputMessage(role=role, content=blocks)


def _block(value: Any, path: str) -> Block | RawBlock:
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise InvalidRequest(f"{path}: a content block must be an object with a type")
    if value["type"] not in _BLOCK_TYPES:
        return RawBlock(type=value["type"], data=value)
    block: Block = _convert(value, Block, path)
    return block


_TOOL_FIELDS = ("name", "input_schema", "description", "strict", "cache_control")


def _split_tools(value: Any) -> tuple[list[Tool] | None, list[dict[str, Any]] | None, list[str]]:
    if value is None:
        return None, None, []
    if not isinstance(value, list):
        raise InvalidRequest("tools: must be a list")
    custom, server, extras = [], [], set[str]()
    for i, tool in enumerate(value):
        if not isinstance(tool, dict):
            raise InvalidRequest(f"tools.{i}: must be an object")
        if tool.get("type", "custom") == "custom":
            custom.append(_convert({k: tool[k] for k in _TOOL_FIELDS if k in tool}, Tool, f"tools.{i}"))
            extras.update(f"tools[].{k}" for k in tool if k not in _TOOL_FIELDS and k != "type")
        else:
            server.append(tool)
    return custom, server or None, sorted(extras)
