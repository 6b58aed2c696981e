"""ConverseStream (AWS event stream) to Anthropic stream events (spec §10.5).

`ConverseStreamDecoder.feed(bytes) -> events`, `finish() -> events`; all state in the
instance, no I/O. Frames are read by `wire.aws_eventstream` (botocore's parser). Guarantees:
- one `message_start`, first, with the gateway's count of the prompt (Bedrock reports usage
  only in `metadata`, which arrives after `messageStop`); the final `message_delta` carries
  Bedrock's usage, so `message_delta` and `message_stop` wait for `metadata` (or the end);
- text blocks arrive without `contentBlockStart`: a block opens on its first delta, and a
  delta for another `contentBlockIndex` closes the open block first (`BlockWriter` numbers
  them); tool use opens on its start event and streams its input fragments as they come;
- reasoning text and its signature fill a thinking block; redacted reasoning is a whole
  redacted_thinking block;
- an exception frame, a corrupt frame, or an end before `messageStop` ends the stream with
  one `StreamError`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.ir.events import Event, MessageDelta, MessageDeltaBody, MessageStart, MessageStop, StreamError
from aigateway.ir.messages import Message, ToolUseBlock
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import delta_usage, wire_usage
from aigateway.providers.bedrock.errors import stream_exception
from aigateway.providers.bedrock.response import redacted_data
from aigateway.providers.bedrock.stop_reason import map_stop_reason
from aigateway.providers.bedrock.usage import usage_to_ir
from aigateway.providers.blocks import BlockWriter
from aigateway.wire.aws_eventstream import EventStreamDecoder, EventStreamError, Frame

_decode = msgspec.json.Decoder().decode
Output = Event | StreamError


class ConverseStreamDecoder:
    def __init__(
        self, *, provider: str, message_id: str, model: str, input_tokens: int, stop_sequences: list[str] | None
    ) -> None:
        self._provider = provider
        self._frames = EventStreamDecoder()
        self._writer = BlockWriter()
        self._id, self._model, self._input_tokens = message_id, model, input_tokens
        self._stop_sequences = stop_sequences
        self._index: Any = None  # Bedrock's contentBlockIndex of the open block
        self._text: list[str] = []
        self._tools = False
        self._started = False
        self._stop: dict[str, Any] | None = None  # the messageStop payload
        self._metadata: dict[str, Any] | None = None
        self._ended = False
        self.usage: Usage | None = None
        self.stop_reason: str | None = None
        self.error: StreamError | None = None

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
        out: list[Output] = []
        if not self._started:
            self._started = True
            out.append(self._message_start())
        if frame.kind != "event":
            err = stream_exception(self._provider, frame.name, frame.payload, frame.headers)
            return out + self._fail(err.error_type, err.message)
        try:
            payload = _decode(frame.payload) if frame.payload else {}
        except msgspec.DecodeError:
            return out + self._fail("api_error", f"Upstream provider '{self._provider}' sent an event that is not JSON")
        if not isinstance(payload, dict):
            payload = {}
        if frame.name == "contentBlockStart":
            self._block_start(payload)
        elif frame.name == "contentBlockDelta":
            if not self._delta(payload):
                what = f"Upstream provider '{self._provider}' sent tool input outside a tool"
                return out + self._fail("api_error", what)
        elif frame.name == "contentBlockStop":
            self._writer.close()
            self._index = None
        elif frame.name == "messageStop":
            self._stop = payload
        elif frame.name == "metadata":
            self._metadata = payload
        out += self._writer.take()
        if self._stop is not None and self._metadata is not None:
            out += self._complete()
        return out

    def _block_start(self, payload: dict[str, Any]) -> None:
        self._writer.close()
        self._index = payload.get("contentBlockIndex")
        tool = (payload.get("start") or {}).get("toolUse")
        if isinstance(tool, dict):
            self._tools = True
            self._writer.tool_start(str(tool.get("toolUseId") or ""), str(tool.get("name") or ""))

    def _delta(self, payload: dict[str, Any]) -> bool:
        index = payload.get("contentBlockIndex")
        if index != self._index:
            self._writer.close()
            self._index = index
        delta = payload.get("delta") or {}
        if isinstance(delta.get("text"), str):
            self._text.append(delta["text"])
            self._writer.text(delta["text"])
        elif isinstance(delta.get("toolUse"), dict):
            if self._writer.open is not ToolUseBlock:
                return False
            fragment = delta["toolUse"].get("input")
            if isinstance(fragment, str) and fragment:
                self._writer.tool_arguments(fragment)
        elif isinstance(delta.get("reasoningContent"), dict):
            self._reasoning(delta["reasoningContent"])
        return True

    def _reasoning(self, reasoning: dict[str, Any]) -> None:
        if isinstance(reasoning.get("text"), str):
            self._writer.thinking(reasoning["text"])
        if isinstance(reasoning.get("signature"), str):
            self._writer.signature(reasoning["signature"])
        if isinstance(reasoning.get("redactedContent"), str):
            self._writer.redacted(redacted_data(reasoning["redactedContent"]))

    def _message_start(self) -> MessageStart:
        usage = wire_usage(Usage(input_tokens=self._input_tokens))
        return MessageStart(message=Message(id=self._id, model=self._model, content=[], stop_reason=None, usage=usage))

    def _complete(self) -> list[Output]:
        self._ended = True
        self._writer.close()
        stop = self._stop or {}
        self.usage = usage_to_ir((self._metadata or {}).get("usage")) or Usage(input_tokens=self._input_tokens)
        self.stop_reason, stop_sequence = map_stop_reason(
            stop.get("stopReason"),
            has_tool_calls=self._tools,
            text="".join(self._text),
            stop_sequences=self._stop_sequences,
            additional=stop.get("additionalModelResponseFields"),
        )
        body = MessageDeltaBody(stop_reason=self.stop_reason, stop_sequence=stop_sequence)
        return [*self._writer.take(), MessageDelta(delta=body, usage=delta_usage(self.usage)), MessageStop()]

    def _fail(self, error_type: str, message: str) -> list[Output]:
        self._ended = True
        if self._metadata is not None:
            self.usage = usage_to_ir(self._metadata.get("usage"))
        self.error = StreamError(error_type=error_type, message=message)
        out: list[Output] = []
        if not self._started:
            self._started = True
            out.append(self._message_start())
        return [*out, self.error]
