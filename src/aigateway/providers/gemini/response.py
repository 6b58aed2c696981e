"""A whole Gemini `GenerateContentResponse` to an Anthropic Message (spec §10.4).

The parts go through the same `PartWriter` as a stream's, and the events fold into the Message,
so a JSON answer and the same answer streamed cannot disagree about blocks, ids or signatures.
A prompt blocked before any candidate (`promptFeedback.blockReason`) is a `refusal` with no
content; a failed function call (`MALFORMED_FUNCTION_CALL`, ...) is an upstream error, and so
is a body that is not JSON or not a `GenerateContentResponse` (wire.py): a 502 naming the
provider, never half an answer.
"""

from __future__ import annotations

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.accumulate import MessageAccumulator
from aigateway.ir.events import MessageStart
from aigateway.ir.messages import Message, new_message_id
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import wire_usage
from aigateway.providers.gemini.stop_reason import FAILED_CALL, map_stop_reason
from aigateway.providers.gemini.stream import PartWriter
from aigateway.providers.gemini.usage import thinking_tokens, usage_to_ir
from aigateway.providers.gemini.wire import RESPONSE, GenerateContentResponse


def to_ir(body: bytes, *, model: str, provider: str) -> tuple[Message, Usage]:
    answer = _decode(body, provider)
    candidates = answer.candidates
    feedback = answer.prompt_feedback
    blocked = feedback is not None and bool(feedback.block_reason)
    if not blocked and not candidates:
        what = f"Upstream provider '{provider}' answered without a candidate"
        raise UpstreamError(what, provider=provider, status=502)
    parts = PartWriter()
    if candidates:
        parts.candidate(candidates[0])
    if parts.finish_reason in FAILED_CALL:
        raise UpstreamError(
            f"Upstream provider '{provider}' could not produce a valid function call ({parts.finish_reason})",
            provider=provider,
            status=502,
        )
    parts.writer.close()
    raw_usage = answer.usage_metadata
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


def _decode(body: bytes, provider: str) -> GenerateContentResponse:
    try:
        return RESPONSE.decode(body)
    except msgspec.ValidationError as exc:
        what = f"Upstream provider '{provider}' answered with a body that is not a GenerateContentResponse ({exc})"
    except msgspec.DecodeError:
        what = f"Upstream provider '{provider}' answered with a body that is not JSON"
    raise UpstreamError(what, provider=provider, status=502)
