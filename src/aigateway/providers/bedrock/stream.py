"""ConverseStream (AWS event stream) to Anthropic stream events (spec §10.5).

`ConverseStreamDecoder.feed(bytes) -> events`, `finish() -> events`; all state in the
instance, no I/O. Frames are read by `aigateway.wire.aws_eventstream` (botocore's parser); the
payloads read are decoded into this provider's `wire` Structs, the others only checked to be
JSON. Guarantees:
- one `message_start`, first, with the gateway's count of the prompt (Bedrock reports usage
  only in `metadata`, which arrives after `messageStop`); the final `message_delta` carries
  Bedrock's usage, so `message_delta` and `message_stop` wait for `metadata` (or the end);
- text blocks arrive without `contentBlockStart`: a block opens on its first delta, and a
  delta for another `contentBlockIndex` closes the open block first (`BlockWriter` numbers
  them); tool use opens on its start event and streams its input fragments as they come;
- reasoning text and its signature fill a thinking block; redacted reasoning is a whole
  redacted_thinking block;
- an exception frame, a corrupt frame, a payload that is not JSON or not of its event's shape,
  or an end before `messageStop` ends the stream with one `StreamError`.
"""

from __future__ import annotations

import msgspec

from aigateway.ir.events import MessageDelta, MessageDeltaBody, MessageStop
from aigateway.ir.messages import ToolUseBlock
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import delta_usage
from aigateway.providers.bedrock import wire
from aigateway.providers.bedrock.errors import stream_exception
from aigateway.providers.bedrock.response import redacted_data
from aigateway.providers.bedrock.stop_reason import map_stop_reason
from aigateway.providers.bedrock.usage import usage_to_ir
from aigateway.providers.blocks import BlockWriter
from aigateway.providers.stream_decoder import Output, TranslatedStream
from aigateway.wire.aws_eventstream import EventStreamDecoder, EventStreamError, Frame

_NO_DELTA = wire.BlockDelta()


class ConverseStreamDecoder(TranslatedStream):
    def __init__(
        self, *, provider: str, message_id: str, model: str, input_tokens: int, stop_sequences: list[str] | None
    ) -> None:
        super().__init__(provider=provider, message_id=message_id, model=model, input_tokens=input_tokens)
        self._frames = EventStreamDecoder()
        self._writer = BlockWriter()
        self._stop_sequences = stop_sequences
        self._index: int | None = None  # Bedrock's contentBlockIndex of the open block
        self._text: list[str] = []
        self._tools = False
        self._stop: wire.MessageStopEvent | None = None
        self._metadata: wire.MetadataEvent | None = None

    def feed(self, chunk: bytes) -> list[Output]:
        if self._ended:
            return []
        try:
            frames = self._frames.feed(chunk)
        except EventStreamError as exc:
            return self._fail("api_error", f"Upstream provider '{self._provider}' sent a {exc}")
        out: list[Output] = []
        for frame in frames:
            out += self._frame(frame)
            if self._ended:
                break
        return out

    def finish(self) -> list[Output]:
        if self._ended:
            return []
        if self._stop is None:
            return self._fail("api_error", f"Upstream provider '{self._provider}' ended the stream before messageStop")
        return self._complete()

    def _frame(self, frame: Frame) -> list[Output]:
        out = self._start()
        if frame.kind != "event":
            err = stream_exception(self._provider, frame.name, frame.payload, frame.headers)
            return out + self._fail(err.error_type, err.message)
        try:
            applied = self._event(frame.name, frame.payload)
        except msgspec.ValidationError as exc:  # before DecodeError, its base class
            what = f"Upstream provider '{self._provider}' sent a malformed {frame.name} event ({exc})"
            return out + self._fail("api_error", what)
        except msgspec.DecodeError:
            return out + self._fail("api_error", f"Upstream provider '{self._provider}' sent an event that is not JSON")
        if not applied:
            what = f"Upstream provider '{self._provider}' sent tool input outside a tool"
            return out + self._fail("api_error", what)
        out += self._writer.take()
        if self._stop is not None and self._metadata is not None:
            out += self._complete()
        return out

    def _event(self, name: str, payload: bytes) -> bool:
        """Applies one event (an empty payload reads as an empty object); False if it cannot be."""
        if name == "contentBlockDelta":
            return self._delta(wire.decode_block_delta(payload) if payload else wire.ContentBlockDeltaEvent())
        if name == "contentBlockStart":
            self._block_start(wire.decode_block_start(payload) if payload else wire.ContentBlockStartEvent())
        elif name == "messageStop":
            self._stop = wire.decode_message_stop(payload) if payload else wire.MessageStopEvent()
        elif name == "metadata":
            self._metadata = wire.decode_metadata(payload) if payload else wire.MetadataEvent()
        else:
            if payload:
                wire.check_json(payload)
            if name == "contentBlockStop":
                self._writer.close()
                self._index = None
        return True

    def _block_start(self, event: wire.ContentBlockStartEvent) -> None:
        self._writer.close()
        self._index = event.contentBlockIndex
        tool = event.start.toolUse if event.start is not None else None
        if tool is not None:
            self._tools = True
            self._writer.tool_start(tool.toolUseId or "", tool.name or "")

    def _delta(self, event: wire.ContentBlockDeltaEvent) -> bool:
        if event.contentBlockIndex != self._index:
            self._writer.close()
            self._index = event.contentBlockIndex
        delta = event.delta or _NO_DELTA
        if delta.text is not None:
            self._text.append(delta.text)
            self._writer.text(delta.text)
        elif delta.toolUse is not None:
            if self._writer.open is not ToolUseBlock:
                return False
            if delta.toolUse.input:
                self._writer.tool_arguments(delta.toolUse.input)
        elif delta.reasoningContent is not None:
            self._reasoning(delta.reasoningContent)
        return True

    def _reasoning(self, reasoning: wire.ReasoningDelta) -> None:
        if reasoning.text is not None:
            self._writer.thinking(reasoning.text)
        if reasoning.signature is not None:
            self._writer.signature(reasoning.signature)
        if reasoning.redactedContent is not None:
            self._writer.redacted(redacted_data(reasoning.redactedContent))

    def _complete(self) -> list[Output]:
        self._ended = True
        self._writer.close()
        stop = self._stop or wire.MessageStopEvent()
        metadata = self._metadata or wire.MetadataEvent()
        self.usage = usage_to_ir(metadata.usage) or Usage(input_tokens=self._input_tokens)
        self.stop_reason, stop_sequence = map_stop_reason(
            stop.stopReason,
            has_tool_calls=self._tools,
            text="".join(self._text),
            stop_sequences=self._stop_sequences,
            additional=stop.additionalModelResponseFields,
        )
        body = MessageDeltaBody(stop_reason=self.stop_reason, stop_sequence=stop_sequence)
        return [*self._writer.take(), MessageDelta(delta=body, usage=delta_usage(self.usage)), MessageStop()]

    def _fail(self, error_type: str, message: str) -> list[Output]:
        return self._fail_with(error_type, message, usage_to_ir(self._metadata.usage) if self._metadata else None)
