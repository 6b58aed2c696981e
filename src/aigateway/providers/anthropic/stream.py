"""Anthropic SSE decoded into typed events, for clients of another protocol.

`AnthropicStreamDecoder` turns the stream into the core's typed events (a stream relayed
unchanged is only tapped: tap.py). A block of a type the core does not model (server tools
other than web search, and their results) is left out with its deltas, and the blocks after it
renumbered, so the output keeps the grammar of `ir/events.py`. Usage is read off the wire
structs as the tap reads it (web searches included): cumulative, later values overwrite earlier
ones (spec §5.4).
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.ir.events import (
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    DeltaUsage,
    Event,
    MessageDelta,
    MessageStart,
    MessageStop,
    StreamError,
)
from aigateway.ir.messages import WireUsage
from aigateway.ir.usage import Usage
from aigateway.providers.anthropic import wire
from aigateway.providers.anthropic.response import modelled
from aigateway.providers.anthropic.usage import apply_usage
from aigateway.wire.sse import SSEDecoder

_decode_event = msgspec.json.Decoder(Event).decode
_COUNTERS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
_NO_ERROR = wire.ErrorObject()


class AnthropicStreamDecoder:
    """Anthropic SSE bytes to typed events; pure, one per stream (the `StreamDecoder` protocol)."""

    def __init__(self, *, provider: str, model: str) -> None:
        self._provider = provider
        self._model = model  # the client's name for the model, not the upstream's
        self._sse = SSEDecoder()
        self._index: dict[int, int] = {}  # upstream block index -> ours, for the blocks kept
        self._ended = False
        self.usage: Usage | None = None
        self.stop_reason: str | None = None
        self.error: StreamError | None = None

    def feed(self, chunk: bytes) -> list[Event | StreamError]:
        _, events = self._sse.feed(chunk)
        return self._handle(events)

    def finish(self) -> list[Event | StreamError]:
        _, events = self._sse.finish()
        out = self._handle(events, cut=True)
        if not self._ended:
            out.append(self._fail("api_error", f"Upstream provider '{self._provider}' ended the stream early"))
        return out

    def _handle(self, events: list[Any], *, cut: bool = False) -> list[Event | StreamError]:
        """`cut`: these are the bytes left at the end, an event the upstream may not have finished."""
        out: list[Event | StreamError] = []
        for ev in events:
            if self._ended:
                break
            if ev.event == "error":
                out.append(self._error(ev.data))
                continue
            try:
                event = _decode_event(ev.data)
            except msgspec.ValidationError:
                continue  # an event or block type the core does not model: left out (docstring)
            except msgspec.DecodeError:
                if not cut:  # a cut one is half an event: reported as a stream that ended early
                    what = f"Upstream provider '{self._provider}' sent an event that is not JSON"
                    out.append(self._fail("api_error", what))
                continue
            kept = self._see(event, ev.data)
            if kept is not None:
                out.append(kept)
        return out

    def _see(self, event: Event, data: str) -> Event | None:
        if isinstance(event, MessageStart):
            self.usage = Usage()
            apply_usage(self.usage, _usage(data, event.message.usage, start=True))
            return MessageStart(message=msgspec.structs.replace(event.message, model=self._model))
        if isinstance(event, ContentBlockStart):
            if not modelled(event.content_block):
                return None  # left out with its deltas (docstring)
            self._index[event.index] = len(self._index)
            return ContentBlockStart(index=self._index[event.index], content_block=event.content_block)
        if isinstance(event, ContentBlockDelta | ContentBlockStop):
            if event.index not in self._index:
                return None  # belongs to a block left out
            return msgspec.structs.replace(event, index=self._index[event.index])
        if isinstance(event, MessageDelta):
            self.stop_reason = event.delta.stop_reason
            self.usage = self.usage or Usage()
            apply_usage(self.usage, _usage(data, event.usage, start=False))
        elif isinstance(event, MessageStop):
            self._ended = True
        return event

    def _error(self, data: str) -> StreamError:
        try:
            error = wire.decode_error(data).error or _NO_ERROR
        except msgspec.DecodeError:  # and its ValidationError: an error all the same
            error = _NO_ERROR
        return self._fail(error.type or "api_error", f"{self._provider}: {error.message or 'stream error'}")

    def _fail(self, error_type: str, message: str) -> StreamError:
        self._ended = True
        self.error = StreamError(error_type=error_type, message=message)
        return self.error


def _usage(data: str, typed: WireUsage | DeltaUsage, *, start: bool) -> wire.Usage | None:
    """A `message_start`'s or `message_delta`'s usage off the wire structs; where a member the
    typed event does not read has another shape, the typed event's four counters."""
    try:
        if start:
            message = wire.decode_message_start(data).message
            return message.usage if message is not None else None
        return wire.decode_message_delta(data).usage
    except msgspec.DecodeError:  # and its ValidationError
        return wire.Usage(**{name: getattr(typed, name) for name in _COUNTERS})
