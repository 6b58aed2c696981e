"""Folds a stream of events into the Message it describes, the way the SDKs' accumulators do,
and unfolds a Message into the events that stand for it.

Used when the upstream answers in the other mode than the client asked (a server that ignores
`stream`), and by the tests that check that a translated stream and a translated JSON response
agree. Tool input (a `tool_use`'s or a `server_tool_use`'s) is the concatenation of every
`input_json_delta` parsed once at the end (`{}` when there were none), as in the SDK; a text
block's `citations_delta`s are appended to its citations. `fold(events_of(m)) == m`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.ir.events import (
    CitationsDelta,
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    Delta,
    DeltaUsage,
    Event,
    InputJsonDelta,
    MessageDelta,
    MessageDeltaBody,
    MessageStart,
    MessageStop,
    SignatureDelta,
    StreamError,
    TextDelta,
    ThinkingDelta,
)
from aigateway.ir.messages import (
    Message,
    OutputBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    WireUsage,
)


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
            if isinstance(block, ToolUseBlock | ServerToolUseBlock) and event.index in self._json:
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
        elif isinstance(delta, InputJsonDelta) and isinstance(block, ToolUseBlock | ServerToolUseBlock):
            self._json.setdefault(event.index, []).append(delta.partial_json)
        elif isinstance(delta, CitationsDelta) and isinstance(block, TextBlock):
            block.citations = [*(block.citations or []), delta.citation]
        else:
            raise AssertionError(f"{type(delta).__name__} sent to a {type(block).__name__}")

    def result(self) -> Message:
        assert self.message is not None, "no message_start"
        return self.message


def _merge_usage(usage: WireUsage, delta: DeltaUsage) -> WireUsage:
    """Delta usage is cumulative: non-null values overwrite (spec §5.4)."""
    known = {k: getattr(delta, k) for k in delta.__struct_fields__ if getattr(delta, k) is not None}
    return msgspec.structs.replace(usage, **known)


def events_of(message: Message) -> list[Event]:
    """The stream a whole Message stands for: what folding it gives back (one delta per block)."""
    start = msgspec.structs.replace(message, content=[], stop_reason=None, stop_sequence=None)
    start.usage = msgspec.structs.replace(message.usage, output_tokens=0)
    events: list[Event] = [MessageStart(message=start)]
    for index, block in enumerate(message.content):
        events += _block_events(index, block)
    usage = DeltaUsage(
        input_tokens=message.usage.input_tokens,
        cache_creation_input_tokens=message.usage.cache_creation_input_tokens,
        cache_read_input_tokens=message.usage.cache_read_input_tokens,
        output_tokens=message.usage.output_tokens,
        output_tokens_details=message.usage.output_tokens_details,
    )
    body = MessageDeltaBody(stop_reason=message.stop_reason, stop_sequence=message.stop_sequence)
    return [*events, MessageDelta(delta=body, usage=usage), MessageStop()]


def _block_events(index: int, block: OutputBlock) -> list[Event]:
    deltas: list[Delta] = []
    if isinstance(block, TextBlock):
        citations: list[dict[str, Any]] | None = None if block.citations is None else []
        skeleton: OutputBlock = type(block)(text="", citations=citations)  # a refusal stays one
        deltas = [CitationsDelta(citation=c) for c in block.citations or ()]
        deltas += [TextDelta(text=block.text)] if block.text else []
    elif isinstance(block, ThinkingBlock):
        skeleton = ThinkingBlock(thinking="", signature="")
        deltas = [ThinkingDelta(thinking=block.thinking)] if block.thinking else []
        deltas += [SignatureDelta(signature=block.signature)] if block.signature else []
    elif isinstance(block, ToolUseBlock | ServerToolUseBlock):
        skeleton = msgspec.structs.replace(block, input={})
        deltas = [InputJsonDelta(partial_json=msgspec.json.encode(block.input).decode())]
    else:
        skeleton = block  # redacted_thinking and web search results arrive whole
    start = ContentBlockStart(index=index, content_block=skeleton)
    return [start, *(ContentBlockDelta(index=index, delta=d) for d in deltas), ContentBlockStop(index=index)]
