"""A Chat Completions response to an Anthropic Message (spec §10.2).

The answer is read as a `wire.ChatCompletion` (`read`): a body that is not a JSON object is a
502 naming the provider, and a member of the wrong type reads as absent (lenient.py).

Block order is the order a model produces them in: reasoning (encrypted reasoning as
`redacted_thinking`, see opaque.py), then text, then a `refusal` (as a RefusalBlock, with
stop reason `refusal`), then tool calls.
Reasoning comes from `reasoning_content` (DeepSeek, xAI, vLLM), `reasoning` (Ollama, OpenRouter,
Groq), typed `thinking` chunks inside `content` (Mistral), or a leading `<think>` in the text.
Tool arguments are parsed into `input`; an empty string is `{}`, and arguments that are not a
JSON object are an upstream error, not a silently emptied call.
"""

from __future__ import annotations

import secrets

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.messages import (
    Message,
    OutputBlock,
    RedactedThinkingBlock,
    RefusalBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import translated_message
from aigateway.providers.openai import opaque, wire
from aigateway.providers.openai.profiles import Profile
from aigateway.providers.openai.stop_reason import map_stop_reason, matched_stop
from aigateway.providers.openai.usage import thinking_tokens, usage_to_ir
from aigateway.providers.think_tags import ThinkTags

_NO_MESSAGE = wire.ChatMessage()
_NO_FUNCTION = wire.Function()


def read(body: bytes, provider: str) -> wire.ChatCompletion:
    """The upstream's answer, or a 502 naming the provider: never half an answer."""
    try:
        completion = wire.decode_completion(body)
    except (msgspec.DecodeError, UnicodeDecodeError):  # the latter: invalid UTF-8 inside a string
        completion = None
    if completion is None:
        raise UpstreamError(
            f"Upstream provider '{provider}' answered with a body that is not JSON", provider=provider, status=502
        )
    return completion


def to_ir(
    completion: wire.ChatCompletion, *, model: str, provider: str, profile: Profile, stop_sequences: list[str] | None
) -> tuple[Message, Usage]:
    """`completion` as `read` gives it."""
    if not completion.choices:
        raise UpstreamError(f"Upstream provider '{provider}' answered without a choice", provider=provider, status=502)
    choice = completion.choices[0]
    message = choice.message or _NO_MESSAGE
    blocks: list[OutputBlock] = [
        RedactedThinkingBlock(data=opaque.encode([item]))
        for item in message.reasoning_details or ()
        if opaque.is_encrypted(item)
    ]
    thinking, text = _reasoning_and_text(message, profile)
    if thinking:
        blocks.append(ThinkingBlock(thinking=thinking, signature=""))
    if text:
        blocks.append(TextBlock(text=text))
    if message.refusal:
        blocks.append(RefusalBlock(text=message.refusal))
    for call in message.tool_calls or ():
        blocks.append(_tool_use(call, provider))
    stop = map_stop_reason(
        "content_filter" if message.refusal else choice.finish_reason,
        has_tool_calls=any(isinstance(b, ToolUseBlock) for b in blocks),
        matched=matched_stop(choice),
        stop_sequences=stop_sequences,
    )
    usage = usage_to_ir(completion.usage) or Usage()
    return translated_message(model, blocks, stop, usage, thinking_tokens(completion.usage)), usage


def _reasoning_and_text(message: wire.ChatMessage, profile: Profile) -> tuple[str, str]:
    reasoning = message.reasoning_content or message.reasoning or ""
    content = message.content
    texts: list[str] = []
    if isinstance(content, str):
        texts.append(content)
    elif content:  # Mistral's typed chunks
        for part in content:
            kind, piece = content_part(part)
            if kind == "thinking":
                reasoning += piece
            else:
                texts.append(piece)
    text = "".join(texts)
    if profile.think_tags and not reasoning:
        tags = ThinkTags()
        parts = tags.feed(text) + tags.finish()
        reasoning = "".join(p for kind, p in parts if kind == "thinking")
        text = "".join(p for kind, p in parts if kind == "text")
    return reasoning, text


def content_part(part: wire.ContentPart) -> tuple[str, str]:
    """One element of a list-valued `content`: ("thinking" | "text", text)."""
    if part.type == "thinking":
        inner = part.thinking
        if isinstance(inner, list):
            return "thinking", "".join(p.text or "" for p in inner)
        return "thinking", inner or ""
    return "text", part.text or ""


def _tool_use(call: wire.ToolCall, provider: str) -> ToolUseBlock:
    function = call.function or _NO_FUNCTION
    arguments = function.arguments or "{}"
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
    return ToolUseBlock(id=call.id or "call_" + secrets.token_hex(12), name=function.name or "", input=parsed)
