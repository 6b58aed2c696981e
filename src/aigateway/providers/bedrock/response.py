"""A Converse response to an Anthropic Message (spec §10.5; Bedrock "ConverseOutput").

Blocks keep Bedrock's order. `reasoningContent.reasoningText` becomes a thinking block with its
signature (empty when the model gives none); `redactedContent` is Anthropic's redacted data as
bytes, so its base64 decoding is the `data` of a redacted_thinking block (request.py encodes it
back). `toolUse.input` is an object already. Blocks Anthropic has no output form for (images,
guard content) are left out; a citations block contributes its text.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

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
from aigateway.providers.bedrock.stop_reason import map_stop_reason
from aigateway.providers.bedrock.usage import usage_to_ir


def to_ir(
    body: dict[str, Any], *, model: str, provider: str, stop_sequences: list[str] | None
) -> tuple[Message, Usage]:
    message = (body.get("output") or {}).get("message")
    if not isinstance(message, dict):
        raise UpstreamError(f"Upstream provider '{provider}' answered without a message", provider=provider, status=502)
    blocks = [b for item in message.get("content") or [] if (b := _block(item, provider)) is not None]
    text = "".join(b.text for b in blocks if isinstance(b, TextBlock))
    stop_reason, stop_sequence = map_stop_reason(
        body.get("stopReason"),
        has_tool_calls=any(isinstance(b, ToolUseBlock) for b in blocks),
        text=text,
        stop_sequences=stop_sequences,
        additional=body.get("additionalModelResponseFields"),
    )
    usage = usage_to_ir(body.get("usage")) or Usage()
    result = Message(
        id=new_message_id(),
        model=model,
        content=blocks,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        usage=wire_usage(usage),
    )
    return result, usage


def _block(item: Any, provider: str) -> OutputBlock | None:
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("text"), str):
        return TextBlock(text=item["text"])
    if isinstance(item.get("reasoningContent"), dict):
        return reasoning_block(item["reasoningContent"])
    if isinstance(item.get("toolUse"), dict):
        call = item["toolUse"]
        arguments = call.get("input")
        if not isinstance(arguments, dict):
            raise UpstreamError(
                f"Upstream provider '{provider}' returned tool input that is not a JSON object",
                provider=provider,
                status=502,
            )
        return ToolUseBlock(id=str(call.get("toolUseId") or ""), name=str(call.get("name") or ""), input=arguments)
    citations = item.get("citationsContent")
    if isinstance(citations, dict):
        text = "".join(c.get("text", "") for c in citations.get("content") or [] if isinstance(c, dict))
        return TextBlock(text=text) if text else None
    return None


def reasoning_block(reasoning: dict[str, Any]) -> ThinkingBlock | RedactedThinkingBlock:
    if "redactedContent" in reasoning:
        return RedactedThinkingBlock(data=redacted_data(str(reasoning["redactedContent"])))
    text = reasoning.get("reasoningText") or {}
    return ThinkingBlock(thinking=str(text.get("text") or ""), signature=str(text.get("signature") or ""))


def redacted_data(encoded: str) -> str:
    """Bedrock's base64 of the redacted bytes, as the string Anthropic's API would give."""
    try:
        return base64.b64decode(encoded, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return encoded
