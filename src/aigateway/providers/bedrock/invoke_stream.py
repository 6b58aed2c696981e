"""InvokeModelWithResponseStream to Anthropic SSE bytes.

Bedrock wraps each Anthropic stream event in an event-stream frame (`:event-type` `chunk`,
payload `{"bytes": "<base64 of the event's JSON>"}`; Bedrock API reference, "ResponseStream",
"PayloadPart"). `InvokeEvents.feed(bytes) -> bytes` unwraps them into `event: <type>` /
`data: <json>` events, the event's JSON exactly as Anthropic's model wrote it, so the relay and
its usage tap treat the answer as any Anthropic stream. Pure: all state in the instance.

An exception frame (`throttlingException`, `modelStreamErrorException`, ...) becomes one
`event: error` in Anthropic's envelope (mapped by `errors.EXCEPTIONS`), and nothing follows it.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from aigateway.providers.bedrock import wire
from aigateway.providers.bedrock.errors import stream_exception
from aigateway.wire.aws_eventstream import EventStreamDecoder, EventStreamError, Frame
from aigateway.wire.sse import encode_event


class InvokeEvents:
    __slots__ = ("_frames", "_provider", "done")

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._frames = EventStreamDecoder()
        self.done = False  # an error ended the stream

    def feed(self, chunk: bytes) -> bytes:
        if self.done:
            return b""
        try:
            frames = self._frames.feed(chunk)
        except EventStreamError as exc:
            return self._error("api_error", f"Upstream provider '{self._provider}' sent a {exc}")
        out = []
        for frame in frames:
            out.append(self._event(frame))
            if self.done:
                break
        return b"".join(out)

    def _event(self, frame: Frame) -> bytes:
        if frame.kind != "event":
            err = stream_exception(self._provider, frame.name, frame.payload, frame.headers)
            return self._error(err.error_type, err.message)
        if frame.name != "chunk":
            return b""  # initial-response and future event types carry no Anthropic event
        try:
            data = base64.b64decode(wire.decode_payload_part(frame.payload).bytes, validate=True)
            name = wire.decode_event_type(data).type
        except (msgspec.DecodeError, binascii.Error):
            return self._error("api_error", f"Upstream provider '{self._provider}' sent a chunk that is not an event")
        if not name:
            return b""  # not a Messages event: nothing a client could route
        if b"\n" in data or b"\r" in data:  # SSE data must be one line; JSON values cannot hold raw ones
            data = msgspec.json.encode(msgspec.json.decode(data))
        return encode_event(name, data)

    def _error(self, error_type: str, message: str) -> bytes:
        self.done = True
        body = {"type": "error", "error": {"type": error_type, "message": message}}
        return encode_event("error", msgspec.json.encode(body))
