"""A Chat Completions response to an Anthropic Message (spec §10.2).

Block order is the order a model produces them in: reasoning (encrypted reasoning as
`redacted_thinking`, see opaque.py), then text, then tool calls.
Reasoning comes from `reasoning_content` (DeepSeek, xAI, vLLM), `reasoning` (Ollama, OpenRouter,
Groq), typed `thinking` chunks inside `content` (Mistral), or a leading `<think>` in the text.
Tool arguments are parsed into `input`; an empty string is `{}`, and arguments that are not a
JSON object are an upstream error, not a silently emptied call.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.messages import (
    Message,
    OutputBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    new_message_id,
)
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import wire_usage
from aigateway.providers.openai import opaque
from aigateway.providers.openai.profiles import Profile
from aigateway.providers.openai.stop_reason import map_stop_reason
from aigateway.providers.openai.usage import thinking_tokens, usage_to_ir
from aigateway.providers.think_tags import ThinkTags


def to_ir(
    body: dict[str, Any], *, model: str, provider: str, profile: Profile, stop_sequences: list[str] | None
) -> tuple[Message, Usage]:
    choices = body.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        raise UpstreamError(f"Upstream provider '{provider}' answered without a choice", provider=provider, status=502)
    choice = choices[0]
    message = choice.get("message") or {}
    blocks: list[OutputBlock] = [
        RedactedThinkingBlock(data=opaque.encode([item]))
        for item in message.get("reasoning_details") or []
        if opaque.is_encrypted(item)
    ]
    thinking, text = _reasoning_and_text(message, profile)
    if thinking:
        blocks.append(ThinkingBlock(thinking=thinking, signature=""))
    if text:
        blocks.append(TextBlock(text=text))
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        blocks.append(TextBlock(text=refusal))
    for call in message.get("tool_calls") or []:
        blocks.append(_tool_use(call, provider))
    stop_reason, stop_sequence = map_stop_reason(
        "content_filter" if refusal else choice.get("finish_reason"),
        has_tool_calls=any(isinstance(b, ToolUseBlock) for b in blocks),
        matched=choice.get("stop_reason", choice.get("matched_stop")),
        stop_sequences=stop_sequences,
    )
    usage = usage_to_ir(body.get("usage")) or Usage()
    result = Message(
        id=new_message_id(),
        model=model,
        content=blocks,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        usage=wire_usage(usage, thinking_tokens(body.get("usage") or {})),
    )
    return result, usage


def _reasoning_and_text(message: dict[str, Any], profile: Profile) -> tuple[str, str]:
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    content = message.get("content")
    texts: list[str] = []
    if isinstance(content, list):  # Mistral's typed chunks
        for chunk in content:
            kind, piece = content_chunk(chunk)
            if kind == "thinking":
                reasoning += piece
            else:
                texts.append(piece)
    elif isinstance(content, str):
        texts.append(content)
    text = "".join(texts)
    if profile.think_tags and not reasoning:
        tags = ThinkTags()
        parts = tags.feed(text) + tags.finish()
        reasoning = "".join(p for kind, p in parts if kind == "thinking")
        text = "".join(p for kind, p in parts if kind == "text")
    return reasoning if isinstance(reasoning, str) else "", text


def content_chunk(chunk: Any) -> tuple[str, str]:
    """One element of a list-valued `content`: ("thinking" | "text", text)."""
    if not isinstance(chunk, dict):
        return "text", ""
    if chunk.get("type") == "thinking":
        inner = chunk.get("thinking")
        if isinstance(inner, list):
            return "thinking", "".join(p.get("text", "") for p in inner if isinstance(p, dict))
        return "thinking", inner if isinstance(inner, str) else ""
    text = chunk.get("text")
    return "text", text if isinstance(text, str) else ""


def _tool_use(call: dict[str, Any], provider: str) -> ToolUseBlock:
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    try:
        parsed = msgspec.json.decode(arguments) if isinstance(arguments, str) else arguments
    except msgspec.DecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise UpstreamError(
            f"Upstream provider '{provider}' returned tool call arguments that are not a JSON object",
            provider=provider,
            status=502,
        )
    return ToolUseBlock(
        id=call.get("id") or "call_" + secrets.token_hex(12), name=function.get("name", ""), input=parsed
    )
