"""A Chat Completions answer relayed unchanged to a client of the same protocol, tapped for
usage, finish reason and errors.

Usage in a stream needs `stream_options.include_usage`. When the client did not ask for it, the
door asks anyway (`PassthroughRequest.hide_usage`) and the tap hides the effect on the way back:
the chunk with `choices: []` and the usage is not relayed, and the `"usage":null` member OpenAI
then adds to every other chunk is cut out, so the client sees the chunks it would have seen
without it. The ledger records the finish reason as Anthropic's stop reason, as for every door.
"""

from __future__ import annotations

import time

import msgspec

from aigateway.ir.usage import Usage
from aigateway.providers.openai import wire
from aigateway.providers.openai.stop_reason import map_stop_reason
from aigateway.providers.openai.usage import usage_to_ir
from aigateway.wire.sse import SSEDecoder

_USAGE_NULL = (b',"usage":null', b'"usage":null,')


def read_usage(body: bytes) -> tuple[Usage | None, str | None]:
    """Usage and stop reason of a whole `chat.completion` (None where the body does not say)."""
    try:
        completion = wire.decode_completion(body)
    except msgspec.DecodeError:
        return None, None
    if completion is None:
        return None, None
    choice = completion.choices[0] if completion.choices else None
    if choice is None or not choice.finish_reason:
        return usage_to_ir(completion.usage), None
    calls = bool(choice.message and choice.message.tool_calls)
    return usage_to_ir(completion.usage), map_stop_reason(choice.finish_reason, has_tool_calls=calls)[0]


def _without_usage_null(raw: bytes) -> bytes:
    # Quotes inside JSON strings are escaped, so these bytes can only be the member itself.
    for member in _USAGE_NULL:
        raw = raw.replace(member, b"")
    return raw


class ChatStreamTap:
    """Relays Chat Completions SSE event by event; reads usage, finish reason and errors."""

    def __init__(self, *, hide_usage: bool) -> None:
        self._sse = SSEDecoder()
        self._hide_usage = hide_usage
        self._tool_calls = False
        self._usage: wire.ChatUsage | None = None
        self.stop_reason: str | None = None
        self.error_type: str | None = None
        self.error_message: str | None = None  # none of ours: the upstream's own chunks say it
        self.error_body: bytes | None = None
        self.first_content_at: float | None = None
        self.saw_stop = False  # `[DONE]`, or a finish reason from a server that sends no `[DONE]`

    @property
    def usage(self) -> Usage:
        return usage_to_ir(self._usage) or Usage()

    def feed(self, chunk: bytes) -> bytes:
        complete, events = self._sse.feed(chunk)
        return self._relay(complete, [e.data for e in events])

    def finish(self) -> bytes:
        rest, events = self._sse.finish()
        return self._relay(rest, [e.data for e in events])

    def _relay(self, complete: bytes, payloads: list[str]) -> bytes:
        hidden = [self._see(data) for data in payloads]
        if not self._hide_usage:
            return complete
        if not any(hidden):  # bytes kept, comments (keep-alives) included
            return _without_usage_null(complete)
        # The batch with the usage chunk is re-framed as `data: ...` events, OpenAI's own framing.
        kept = [data.encode() for data, hide in zip(payloads, hidden, strict=True) if not hide]
        return b"".join(b"data: " + _without_usage_null(data) + b"\n\n" for data in kept)

    def _see(self, data: str) -> bool:
        """Reads one event; True if it is the usage chunk the client did not ask for."""
        if data == "[DONE]":
            self.saw_stop = True
            return False
        try:
            chunk = wire.decode_chunk(data)
        except msgspec.DecodeError:
            return False
        if chunk is None:
            return False
        if chunk.error:
            self.error_type = "api_error"
            return False
        self._usage = wire.chunk_usage(chunk) or self._usage
        for choice in wire.first_choices(chunk):
            self._choice(choice)
        return self._hide_usage and chunk.choices == [] and chunk.usage is not None

    def _choice(self, choice: wire.ChunkChoice) -> None:
        delta = choice.delta
        if self.first_content_at is None and delta is not None and (delta.content or delta.tool_calls):
            self.first_content_at = time.monotonic()
        self._tool_calls = self._tool_calls or bool(delta and delta.tool_calls)
        if choice.finish_reason:
            self.stop_reason = map_stop_reason(choice.finish_reason, has_tool_calls=self._tool_calls)[0]
