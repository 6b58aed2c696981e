"""Incremental reader of AWS's binary event stream (`application/vnd.amazon.eventstream`).

The framing (prelude, headers, payload, CRCs) is parsed by botocore's own `EventStreamBuffer`,
never by hand; this module only feeds it bytes as they arrive and names what each frame is.

Invariants:
- `feed(chunk)` returns every frame completed so far, in order; bytes of a frame cut across
  chunks wait for the rest, so any split of the same bytes yields the same frames;
- a frame whose checksum or lengths are wrong raises `EventStreamError` (the stream is corrupt
  and nothing after it can be trusted);
- `pending` says whether bytes of an incomplete frame are left over (a truncated stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.eventstream import EventStreamBuffer, ParserError


class EventStreamError(ValueError):
    """The upstream's event stream is not well-formed."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One event-stream message: `kind` is `:message-type` (`event`, `exception` or `error`);
    `name` is `:event-type`, `:exception-type` or `:error-code` accordingly."""

    kind: str
    name: str
    payload: bytes
    headers: dict[str, Any]


class EventStreamDecoder:
    __slots__ = ("_buffer", "_size")

    def __init__(self) -> None:
        self._buffer = EventStreamBuffer()
        self._size = 0  # bytes fed and not yet consumed by a complete frame

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buffer.add_data(chunk)
        self._size += len(chunk)
        frames = []
        try:
            for parsed in self._buffer:
                message: Any = parsed  # botocore-stubs type `prelude` and `headers` as int; they are not
                self._size -= message.prelude.total_length
                frames.append(_frame(message.headers, message.payload))
        except ParserError as exc:
            raise EventStreamError(f"malformed event stream: {exc}") from None
        return frames

    @property
    def pending(self) -> bool:
        return self._size > 0


def _frame(headers: dict[str, Any], payload: bytes) -> Frame:
    kind = str(headers.get(":message-type", "event"))
    if kind == "exception":
        name = headers.get(":exception-type")
    elif kind == "error":
        name = headers.get(":error-code")
    else:
        name = headers.get(":event-type")
    return Frame(kind, str(name or ""), payload, headers)
