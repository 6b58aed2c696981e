"""A whole Gemini `GenerateContentResponse` to an Anthropic Message (spec §10.4).

The parts go through the same `PartWriter` as a stream's, and the events fold into the Message,
so a JSON answer and the same answer streamed cannot disagree about blocks, ids or signatures.
A prompt blocked before any candidate (`promptFeedback.blockReason`) is a `refusal` with no
content; a failed function call (`MALFORMED_FUNCTION_CALL`, ...) is an upstream error.
"""

from __future__ import annotations

from typing import Any

from aigateway.errors import UpstreamError
from aigateway.ir.accumulate import MessageAccumulator
from aigateway.ir.events import MessageStart
from aigateway.ir.messages import Message, new_message_id
from aigateway.ir.usage import Usage
from aigateway.providers.gemini.stop_reason import FAILED_CALL, map_stop_reason
from aigateway.providers.gemini.stream import PartWriter
from aigateway.providers.gemini.usage import thinking_tokens, usage_to_ir, wire_usage


def to_ir(body: dict[str, Any], *, model: str, provider: str) -> tuple[Message, Usage]:
    candidates = body.get("candidates") or []
    feedback = body.get("promptFeedback")
    blocked = isinstance(feedback, dict) and bool(feedback.get("blockReason"))
    if not blocked and not (candidates and isinstance(candidates[0], dict)):
        what = f"Upstream provider '{provider}' answered without a candidate"
        raise UpstreamError(what, provider=provider, status=502)
    parts = PartWriter()
    if candidates and isinstance(candidates[0], dict):
        parts.candidate(candidates[0])
    if parts.finish_reason in FAILED_CALL:
        raise UpstreamError(
            f"Upstream provider '{provider}' could not produce a valid function call ({parts.finish_reason})",
            provider=provider,
            status=502,
        )
    parts.writer.close()
    raw_usage = body.get("usageMetadata") or {}
    usage = usage_to_ir(raw_usage) or Usage()
    start = Message(
        id=new_message_id(),
        model=model,
        content=[],
        stop_reason=map_stop_reason(parts.finish_reason, has_tool_calls=parts.has_tool_calls, blocked=blocked),
        usage=wire_usage(usage, thinking_tokens(raw_usage)),
    )
    fold = MessageAccumulator()
    fold.add(MessageStart(message=start))
    for event in parts.writer.take():
        fold.add(event)
    return fold.result(), usage
