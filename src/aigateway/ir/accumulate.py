"""Folds a stream of events into the Message it describes, the way the SDKs' accumulators do.

Used to answer a non-streaming client from a streaming upstream, and by the tests that check
that a translated stream and a translated JSON response agree. Tool input is the concatenation
of every `input_json_delta` parsed once at the end (`{}` when there were none), as in the SDK.
"""

from __future__ import annotations

import msgspec

from aigateway.ir.events import (
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    DeltaUsage,
    Event,
    InputJsonDelta,
    MessageDelta,
    MessageStart,
    SignatureDelta,
    StreamError,
    TextDelta,
    ThinkingDelta,
)
from aigateway.ir.messages import Message, TextBlock, ThinkingBlock, ToolUseBlock, WireUsage


class MessageAccumulator:
    def __init__(self) -> None:
        self.message: Message | None = None
        self._json: dict[int, list[str]] = {}
        self.error: StreamError | None = None

    def add(self, event: Event | StreamError) -> None:
        if isinstance(event, MessageStart):
            self.message = msgspec.structs.replace(event.message, content=[])
            return
        if isinstance(event, StreamError):
            self.error = event
            return
        msg = self.message
        assert msg is not None, "message_start must come first"
        if isinstance(event, ContentBlockStart):
            msg.content.append(msgspec.structs.replace(event.content_block))
        elif isinstance(event, ContentBlockDelta):
            self._apply(msg, event)
        elif isinstance(event, ContentBlockStop):
            block = msg.content[event.index]
            if isinstance(block, ToolUseBlock) and event.index in self._json:
                block.input = msgspec.json.decode("".join(self._json.pop(event.index)) or "{}")
        elif isinstance(event, MessageDelta):
            msg.stop_reason = event.delta.stop_reason
            msg.stop_sequence = event.delta.stop_sequence
            msg.usage = _merge_usage(msg.usage, event.usage)

    def _apply(self, msg: Message, event: ContentBlockDelta) -> None:
        block, delta = msg.content[event.index], event.delta
        if isinstance(delta, TextDelta) and isinstance(block, TextBlock):
            block.text += delta.text
        elif isinstance(delta, ThinkingDelta) and isinstance(block, ThinkingBlock):
            block.thinking += delta.thinking
        elif isinstance(delta, SignatureDelta) and isinstance(block, ThinkingBlock):
            block.signature = delta.signature
        elif isinstance(delta, InputJsonDelta) and isinstance(block, ToolUseBlock):
            self._json.setdefault(event.index, []).append(delta.partial_json)
        else:
            raise AssertionError(f"{type(delta).__name__} sent to a {type(block).__name__}")

    def result(self) -> Message:
        assert self.message is not None, "no message_start"
        return self.message


def _merge_usage(usage: WireUsage, delta: DeltaUsage) -> WireUsage:
    """Delta usage is cumulative: non-null values overwrite (spec §5.4)."""
    known = {k: getattr(delta, k) for k in delta.__struct_fields__ if getattr(delta, k) is not None}
    return msgspec.structs.replace(usage, **known)
