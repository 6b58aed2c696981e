"""What the gateway reads off an Anthropic answer it relays unchanged: usage, stop reason, errors.

`AnthropicStreamTap.feed(chunk)` returns the bytes of the events completed so far, to be relayed
as they are; only `message_start`, `message_delta` and `error` payloads are decoded. `read_usage`
reads the same off a whole Message. Both serve every upstream that speaks Anthropic's protocol
(Anthropic, Claude on Bedrock and Vertex).
"""

from __future__ import annotations

import time

import msgspec

from aigateway.ir.usage import Usage
from aigateway.wire.sse import SSEDecoder

_decode = msgspec.json.Decoder().decode
_CONTENT_EVENTS = frozenset({"content_block_start", "content_block_delta"})


class _Head(msgspec.Struct):
    stop_reason: str | None = None
    usage: dict[str, object] | None = None


_decode_head = msgspec.json.Decoder(_Head).decode


def read_usage(body: bytes) -> tuple[Usage, str | None] | None:
    """None when the body is not a JSON object: an answer no client could use."""
    usage = Usage()
    try:
        head = _decode_head(body)
    except msgspec.DecodeError:
        return None
    usage.update_from_anthropic(head.usage)
    return usage, head.stop_reason


class AnthropicStreamTap:
    __slots__ = (
        "_sse",
        "error_body",
        "error_message",
        "error_type",
        "first_content_at",
        "saw_stop",
        "stop_reason",
        "usage",
    )

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self.usage = Usage()
        self.stop_reason: str | None = None
        self.error_type: str | None = None
        self.first_content_at: float | None = None
        self.saw_stop = False
        self.error_body: bytes | None = None  # the error event's payload: Anthropic's envelope
        self.error_message: str | None = None  # passthrough errors speak for themselves (error_body)

    def feed(self, chunk: bytes) -> bytes:
        complete, events = self._sse.feed(chunk)
        for ev in events:
            try:
                self._see(ev.event, ev.data)
            except msgspec.DecodeError:  # an event we must read is not JSON: the stream failed
                self.error_type = self.error_type or "api_error"
        return complete

    def finish(self) -> bytes:
        """Bytes of a last event the upstream did not end with a blank line, if it is whole.

        A fragment cut off mid-event is dropped: relaying it would leave the client half an event.
        """
        rest, events = self._sse.finish()
        for ev in events:
            try:
                self._see(ev.event, ev.data)
            except msgspec.DecodeError:
                return b""
            if ev.event is None or not ev.data:
                return b""
        return rest

    def _see(self, name: str | None, data: str) -> None:
        if name in _CONTENT_EVENTS:
            if self.first_content_at is None:
                self.first_content_at = time.monotonic()
        elif name == "message_start":
            self.usage.update_from_anthropic(_decode(data).get("message", {}).get("usage"))
        elif name == "message_delta":
            payload = _decode(data)
            self.usage.update_from_anthropic(payload.get("usage"))
            self.stop_reason = (payload.get("delta") or {}).get("stop_reason") or self.stop_reason
        elif name == "message_stop":
            self.saw_stop = True
        elif name == "error":
            self.error_type = (_decode(data).get("error") or {}).get("type") or "api_error"
            self.error_body = data.encode()
