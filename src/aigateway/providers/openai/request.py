"""Anthropic request (ir) to a Chat Completions body.

Mapping (spec §10.2), with what each server takes decided by its `Profile`:
- `system` (string or text blocks, joined by blank lines) becomes the first `system` message; a
  `system` turn inside `messages` stays a `system` message where it is;
- user text and images become content parts (`image_url` with a data URL or the URL); a PDF
  becomes a `file` part where the server takes them, else a 400 naming model and feature; a
  text document is inlined as text;
- an assistant turn becomes one message: its text as `content`, its `tool_use` blocks as
  `tool_calls` (ids kept, input serialized as the `arguments` string), its thinking as
  `reasoning_content` for servers that want it back, else left out (its text is not the
  server's to verify); encrypted reasoning we handed out as `redacted_thinking` goes back to
  OpenRouter as `reasoning_details`;
- each `tool_result` becomes a `tool` message with the same id, before the rest of the user turn;
  `is_error` is carried as an `Error: ` prefix (Chat Completions has no error flag); images in a
  result follow as a user message, since tool messages take text only;
- `thinking` and `output_config.effort` become the reasoning control (see `_reasoning`);
- `metadata.user_id` becomes `user`, as a stable digest when longer than OpenAI's 64 characters;
- everything the server cannot take is dropped and named in `warnings`, never silently.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from aigateway.errors import InvalidRequest
from aigateway.ir.messages import (
    Base64Source,
    ContentSource,
    DocumentBlock,
    FileSource,
    ImageBlock,
    InputMessage,
    MessagesRequest,
    RawBlock,
    RedactedThinkingBlock,
    TextBlock,
    TextSource,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    URLSource,
)
from aigateway.providers.openai import opaque
from aigateway.providers.openai.profiles import Profile
from aigateway.providers.openai.tools import tool_choice, tool_definitions

# Budget tokens -> reasoning effort, for `thinking: {type: enabled, budget_tokens}` (Anthropic's
# minimum budget is 1024; Claude Code's default is 31999).
_BUDGET_EFFORT = ((4096, "low"), (16384, "medium"))
_OPENAI_KNOBS = ("n", "seed", "logprobs", "top_logprobs", "frequency_penalty", "presence_penalty", "response_format")
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "max": "high", "xhigh": "high"}


class Translation:
    """A translated body plus the names of what had to be left out."""

    def __init__(self, model: str, provider_kind: str):
        self.model = model
        self.kind = provider_kind
        self.warnings: list[str] = []

    def drop(self, what: str) -> None:
        if what not in self.warnings:
            self.warnings.append(what)


USER_MAX = 64  # OpenAI refuses a longer `user`; Claude Code's metadata.user_id is ~150 characters


def end_user(user_id: str) -> str:
    """`metadata.user_id` as a `user` every server takes: as it is when short enough, else a
    stable digest of it (the same end user is always the same id, and nothing of it leaks)."""
    if len(user_id) <= USER_MAX:
        return user_id
    return "sha256:" + hashlib.sha256(user_id.encode()).hexdigest()[: USER_MAX - len("sha256:")]


def from_ir(req: MessagesRequest, upstream_model: str, profile: Profile, kind: str) -> tuple[dict[str, Any], list[str]]:
    t = Translation(upstream_model, kind)
    body: dict[str, Any] = {"model": upstream_model, "messages": _messages(req, profile, t)}
    body[profile.max_tokens_field] = req.max_tokens
    if req.stream:
        body["stream"] = True
        if profile.stream_usage:
            body["stream_options"] = {"include_usage": True}
    reasoning = _reasoning(req, profile, upstream_model, t)
    body.update(reasoning)
    _sampling(req, body, profile, bool(reasoning) or _is_reasoning_model(profile, upstream_model), t)
    _tools(req, body, profile, t)
    if req.user_id is not None:
        if profile.user_field:
            body["user"] = end_user(req.user_id)
        else:
            t.drop("metadata.user_id")
    if req.prompt_cache_key is not None:
        if profile.prompt_cache_key:
            body["prompt_cache_key"] = req.prompt_cache_key
        else:
            t.drop("prompt_cache_key")
    for name in _OPENAI_KNOBS:  # the Chat Completions door's own fields go back as they came
        value = getattr(req, name)
        if value is not None:
            body[name] = value
    for name in req.tool_extras:
        t.drop(name)
    for name in req.extra:
        t.drop(name)
    return body, t.warnings


def _tools(req: MessagesRequest, body: dict[str, Any], profile: Profile, t: Translation) -> None:
    if req.tools:
        body["tools"] = tool_definitions(req.tools)
    if req.server_tools:
        names = ", ".join(str(s.get("name") or s.get("type")) for s in req.server_tools)
        raise InvalidRequest(f"tools: {t.kind} model '{t.model}' cannot run Anthropic server tools ({names})")
    if req.tool_choice is not None:
        choice, parallel = tool_choice(req.tool_choice, profile.tool_choice_any)
        if req.tools or choice == "none":
            body["tool_choice"] = choice
        if parallel is False and req.tools:
            if profile.parallel_tool_calls:
                body["parallel_tool_calls"] = False
            else:
                t.drop("tool_choice.disable_parallel_tool_use")


def _is_reasoning_model(profile: Profile, model: str) -> bool:
    return profile.reasoning != "none" and bool(profile.reasoning_models.search(model))


def _reasoning(req: MessagesRequest, profile: Profile, model: str, t: Translation) -> dict[str, Any]:
    """`output_config.effort` wins; else a thinking budget maps by `_BUDGET_EFFORT`; `disabled`
    asks for the lowest effort the server has; adaptive without effort leaves the default."""
    thinking, config = req.thinking, req.output_config
    effort = _EFFORTS.get(config.effort) if config and config.effort else None
    if config and config.effort and effort is None:
        t.drop("output_config.effort")
    if effort is None and thinking is not None:
        if thinking.type == "enabled" and thinking.budget_tokens:
            effort = next((e for limit, e in _BUDGET_EFFORT if thinking.budget_tokens <= limit), "high")
        elif thinking.type == "disabled":
            effort = profile.lowest_effort
    if effort is None:
        return {}
    if profile.reasoning == "openrouter":
        return {"reasoning": {"effort": effort}}
    if not _is_reasoning_model(profile, model):
        t.drop("thinking" if thinking is not None else "output_config.effort")
        return {}
    return {"reasoning_effort": effort}


def _sampling(req: MessagesRequest, body: dict[str, Any], profile: Profile, reasoning: bool, t: Translation) -> None:
    for name in ("temperature", "top_p"):
        value = getattr(req, name)
        if value is None:
            continue
        if reasoning and profile.no_sampling_when_reasoning:
            t.drop(name)
        else:
            body[name] = value
    if req.top_k is not None:
        if profile.top_k:
            body["top_k"] = req.top_k
        else:
            t.drop("top_k")
    if req.stop_sequences:
        body["stop"] = req.stop_sequences
    if req.output_config and req.output_config.format:
        body["response_format"] = _response_format(req.output_config.format)


def _response_format(fmt: dict[str, Any]) -> dict[str, Any]:
    if fmt.get("type") == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": fmt.get("schema", {}), "strict": True},
        }
    return {"type": "json_object"}


def _messages(req: MessagesRequest, profile: Profile, t: Translation) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if req.system:
        out.append({"role": "system", "content": "\n\n".join(b.text for b in req.system)})
    for i, msg in enumerate(req.messages):
        if msg.role == "assistant":
            out.append(_assistant(msg, profile, t))
        elif msg.role == "system":
            out.append({"role": "system", "content": "\n\n".join(_texts(msg.content, f"messages.{i}", t))})
        else:
            out.extend(_user(msg, i, profile, t))
    return out


def _texts(blocks: list[Any], path: str, t: Translation) -> list[str]:
    texts = []
    for block in blocks:
        if isinstance(block, TextBlock):
            texts.append(block.text)
        else:
            raise InvalidRequest(f"{path}: a system turn may hold text only")
    return texts


def _assistant(msg: InputMessage, profile: Profile, t: Translation) -> dict[str, Any]:
    texts: list[str] = []
    reasoning: list[str] = []
    details: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for block in msg.content:
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ToolUseBlock):
            arguments = msgspec.json.encode(block.input).decode()
            calls.append({"id": block.id, "type": "function", "function": {"name": block.name, "arguments": arguments}})
        elif isinstance(block, ThinkingBlock):
            reasoning.append(block.thinking)
        elif isinstance(block, RedactedThinkingBlock):
            details += opaque.decode(block.data) or []  # Anthropic's own are for Anthropic only
        else:
            t.drop(f"assistant {block.type if isinstance(block, RawBlock) else type(block).__name__} block")
    out: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if reasoning and profile.reasoning_history:
        out["reasoning_content"] = "".join(reasoning)
    if details and profile.reasoning == "openrouter":
        out["reasoning_details"] = details
    if calls:
        out["tool_calls"] = calls
    return out


def _user(msg: InputMessage, i: int, profile: Profile, t: Translation) -> list[dict[str, Any]]:
    """Tool results first (each its own `tool` message), then the rest of the turn."""
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    follow_up: list[dict[str, Any]] = []
    for j, block in enumerate(msg.content):
        path = f"messages.{i}.content.{j}"
        if isinstance(block, ToolResultBlock):
            content, images = _tool_result(block, path, profile, t)
            out.append({"role": "tool", "tool_call_id": block.tool_use_id, "content": content})
            follow_up.extend(images)
        elif isinstance(block, RawBlock):
            raise InvalidRequest(f"{path}: block type '{block.type}' cannot be sent to {t.kind} model '{t.model}'")
        else:
            parts.append(_part(block, path, profile, t))
    parts = follow_up + parts
    if parts:
        plain = all(p["type"] == "text" for p in parts) and len(parts) == 1
        out.append({"role": "user", "content": parts[0]["text"] if plain else parts})
    return out


def _tool_result(
    block: ToolResultBlock, path: str, profile: Profile, t: Translation
) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(block.content, str) or block.content is None:
        text, images = block.content or "", []
    else:
        texts, images = [], list[dict[str, Any]]()
        for k, item in enumerate(block.content):
            part = _part(item, f"{path}.content.{k}", profile, t)
            if part["type"] == "text":
                texts.append(part["text"])
            else:
                images.append(part)
        text = "\n".join(texts)
    return ("Error: " + text if block.is_error else text), images


def _part(block: Any, path: str, profile: Profile, t: Translation) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ImageBlock):
        return {"type": "image_url", "image_url": {"url": _url(block.source, path)}}
    if isinstance(block, DocumentBlock):
        return _document(block, path, profile, t)
    if isinstance(block, ThinkingBlock | RedactedThinkingBlock | ToolUseBlock):
        raise InvalidRequest(f"{path}: a {type(block).__name__} belongs in an assistant turn")
    raise InvalidRequest(f"{path}: this block cannot be sent to {t.kind} model '{t.model}'")


def _url(source: Any, path: str) -> str:
    if isinstance(source, Base64Source):
        return f"data:{source.media_type};base64,{source.data}"
    if isinstance(source, URLSource):
        return source.url
    raise InvalidRequest(f"{path}.source: Anthropic file ids cannot be sent to another provider")


def _document(block: DocumentBlock, path: str, profile: Profile, t: Translation) -> dict[str, Any]:
    source = block.source
    if isinstance(source, TextSource):
        return {"type": "text", "text": source.data}
    if isinstance(source, ContentSource):
        text = source.content if isinstance(source.content, str) else "".join(c.get("text", "") for c in source.content)
        return {"type": "text", "text": text}
    if isinstance(source, FileSource):
        raise InvalidRequest(f"{path}.source: Anthropic file ids cannot be sent to another provider")
    if not profile.pdf:
        raise InvalidRequest(f"{path}: {t.kind} model '{t.model}' does not take PDF documents")
    if isinstance(source, URLSource):
        raise InvalidRequest(f"{path}: {t.kind} model '{t.model}' takes PDFs inline only, not by URL")
    data_url = f"data:{source.media_type};base64,{source.data}"
    return {"type": "file", "file": {"filename": block.title or "document.pdf", "file_data": data_url}}
