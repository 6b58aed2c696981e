"""A Converse response to an Anthropic Message (spec §10.5; Bedrock "ConverseOutput").

The body is decoded into `wire.ConverseResponse`; one that is not JSON, not of that shape or
without a message is a 502 naming the provider, never half an answer.

Blocks keep Bedrock's order. `reasoningContent.reasoningText` becomes a thinking block with its
signature (empty when the model gives none); `redactedContent` is Anthropic's redacted data as
bytes, so its base64 decoding is the `data` of a redacted_thinking block (request.py encodes it
back). `toolUse.input` is an object already. Blocks Anthropic has no output form for (images,
guard content) are left out; a citations block contributes its text.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.messages import (
    Message,
    OutputBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import translated_message
from aigateway.providers.bedrock import wire
from aigateway.providers.bedrock.stop_reason import map_stop_reason
from aigateway.providers.bedrock.usage import usage_to_ir


def to_ir(body: bytes, *, model: str, provider: str, stop_sequences: list[str] | None) -> tuple[Message, Usage]:
    answer = _decode(body, provider)
    message = answer.output.message if answer.output is not None else None
    if message is None:
        raise UpstreamError(f"Upstream provider '{provider}' answered without a message", provider=provider, status=502)
    blocks = [b for item in message.content or () if (b := _block(item, provider)) is not None]
    text = "".join(b.text for b in blocks if isinstance(b, TextBlock))
    stop = map_stop_reason(
        answer.stopReason,
        has_tool_calls=any(isinstance(b, ToolUseBlock) for b in blocks),
        text=text,
        stop_sequences=stop_sequences,
        additional=answer.additionalModelResponseFields,
    )
    usage = usage_to_ir(answer.usage) or Usage()
    return translated_message(model, blocks, stop, usage), usage


def _decode(body: bytes, provider: str) -> wire.ConverseResponse:
    try:
        return wire.decode_converse(body)
    except msgspec.ValidationError as exc:  # before DecodeError, its base class
        what = f"answered with a body that is not a Converse response ({exc})"
    except msgspec.DecodeError:
        what = "answered with a body that is not JSON"
    raise UpstreamError(f"Upstream provider '{provider}' {what}", provider=provider, status=502)


def _block(item: wire.ContentBlock, provider: str) -> OutputBlock | None:
    if item.text is not None:
        return TextBlock(text=item.text)
    if item.reasoningContent is not None:
        return reasoning_block(item.reasoningContent)
    if item.toolUse is not None:
        call = item.toolUse
        if not isinstance(call.input, dict):
            raise UpstreamError(
                f"Upstream provider '{provider}' returned tool input that is not a JSON object",
                provider=provider,
                status=502,
            )
        return ToolUseBlock(id=call.toolUseId or "", name=call.name or "", input=call.input)
    if item.citationsContent is not None:
        text = "".join(c.text or "" for c in item.citationsContent.content or ())
        return TextBlock(text=text) if text else None
    return None


def reasoning_block(reasoning: wire.ReasoningContent) -> ThinkingBlock | RedactedThinkingBlock:
    if reasoning.redactedContent is not None:
        return RedactedThinkingBlock(data=redacted_data(reasoning.redactedContent))
    text = reasoning.reasoningText or _NO_TEXT
    return ThinkingBlock(thinking=text.text or "", signature=text.signature or "")


_NO_TEXT = wire.ReasoningText()


def redacted_data(encoded: str) -> str:
    """Bedrock's base64 of the redacted bytes, as the string Anthropic's API would give."""
    try:
        return base64.b64decode(encoded, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return encoded
