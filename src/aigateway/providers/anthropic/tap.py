"""What the gateway reads off an Anthropic answer it relays unchanged: usage, stop reason, errors.

`AnthropicStreamTap.feed(chunk)` returns the bytes of the events completed so far, to be relayed
as they are; only `message_start`, `message_delta` and `error` payloads are decoded, into
`wire`'s Structs, and one that is not JSON of its event's shape marks the stream failed. Past the
first content, the content events are not even parsed as SSE: `SSEScanner` finds the few events
read with `bytes.find`.
`read_usage` reads the same off a whole Message. Both serve every upstream that speaks
Anthropic's protocol (Anthropic, Claude on Bedrock and Vertex); the bytes are only read.
"""

from __future__ import annotations

import time

import msgspec

from aigateway.ir.usage import Usage
from aigateway.providers.anthropic import wire
from aigateway.providers.anthropic.usage import apply_usage
from aigateway.wire.sse import SSEScanner

_CONTENT_EVENTS = frozenset({"content_block_start", "content_block_delta"})
# The events read: usage, stop and errors; and, until the first content, the content events.
_READ = (b"message_start", b"message_delta", b"message_stop", b"error")
_READ_TO_CONTENT = (*_READ, b"content_block_")


def read_usage(body: bytes) -> tuple[Usage, str | None] | None:
    """None when the body is not a JSON object of a Message's shape: an answer no client could use."""
    try:
        head = wire.decode_message_head(body)
    except msgspec.DecodeError:  # and its ValidationError: JSON of another shape
        return None
    usage = Usage()
    apply_usage(usage, head.usage)
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
        self._sse = SSEScanner(_READ_TO_CONTENT)
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
        """Raises msgspec.DecodeError (or its ValidationError) for an event it cannot read."""
        if name in _CONTENT_EVENTS:
            if self.first_content_at is None:
                self.first_content_at = time.monotonic()
                self._sse.needles = _READ
        elif name == "message_start":
            message = wire.decode_message_start(data).message
            if message is not None:
                apply_usage(self.usage, message.usage)
        elif name == "message_delta":
            delta = wire.decode_message_delta(data)
            apply_usage(self.usage, delta.usage)
            if delta.delta is not None and delta.delta.stop_reason:
                self.stop_reason = delta.delta.stop_reason
        elif name == "message_stop":
            self.saw_stop = True
        elif name == "error":
            error = wire.decode_error(data).error
            self.error_type = (error.type if error is not None else None) or "api_error"
            self.error_body = data.encode()
