"""Incremental Server-Sent Events reader and writer, on bytes.

Invariants:
- lines split on CR, LF or CRLF only (WHATWG SSE); never `str.splitlines()`, which also splits
  on U+2028 and friends that may stand unescaped inside JSON strings;
- a CR at the very end of a chunk is held back until the next byte shows whether LF follows;
- `feed` returns the raw bytes of the events it completed, so a relay can forward whole events
  byte for byte and never leaves a client holding half an event;
- `SSEScanner` completes events the same way but reads only those whose bytes hold one of its
  needles: a passthrough tap that needs a few events of many (usage, stop, errors) pays a few
  `bytes.find`s per read instead of parsing every event. Its needles are substrings, so an event
  that merely mentions one is read too (and then ignored by name); none is ever missed.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_EOL = re.compile(rb"\r\n|\r|\n")


class ServerSentEvent(NamedTuple):
    event: str | None
    data: str


class SSEDecoder:
    """`feed(chunk) -> (complete_bytes, events)`; `finish()` flushes a trailing event."""

    __slots__ = ("_buf", "_data", "_event", "_pos")

    def __init__(self) -> None:
        self._buf = b""  # bytes from the start of the current (incomplete) event
        self._pos = 0  # parse position inside _buf
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> tuple[bytes, list[ServerSentEvent]]:
        buf = self._buf + chunk if self._buf else chunk
        if self._pos == 0 and b"\r" not in buf:
            return self._feed_lf(buf)
        return self._feed_any(buf)

    def _feed_lf(self, buf: bytes) -> tuple[bytes, list[ServerSentEvent]]:
        """Fast path for LF-only input with no half-parsed event: split whole events at once."""
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            return b"", []
        end += 2
        self._buf = buf[end:]
        events: list[ServerSentEvent] = []
        for block in buf[:end].split(b"\n\n"):
            if not block:
                continue
            for line in block.split(b"\n"):
                if line:
                    self._field(line)
            self._dispatch(events)
        return buf[:end], events

    def _feed_any(self, buf: bytes) -> tuple[bytes, list[ServerSentEvent]]:
        pos = self._pos
        done = 0
        events: list[ServerSentEvent] = []
        end = len(buf)
        search = _EOL.search
        while True:
            m = search(buf, pos)
            if m is None or (m.end() == end and buf[m.start()] == 13 and m.end() - m.start() == 1):
                break  # no full line yet, or a lone CR that may be half of CRLF
            line = buf[pos : m.start()]
            pos = m.end()
            if line:
                self._field(line)
            else:
                self._dispatch(events)
                done = pos
        self._buf = buf[done:]
        self._pos = pos - done
        return buf[:done], events

    def finish(self) -> tuple[bytes, list[ServerSentEvent]]:
        """End of input. Unlike browsers, a last event without its blank line still counts:
        some upstreams end their streams that way, and its bytes are relayed all the same."""
        rest, self._buf = self._buf, b""
        for line in _EOL.split(rest[self._pos :]):
            if line:
                self._field(line)
        self._pos = 0
        events: list[ServerSentEvent] = []
        self._dispatch(events)
        return rest, events

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        """A blank line (or the end): the fields gathered so far make an event, if any."""
        if self._data or self._event is not None:
            events.append(ServerSentEvent(self._event, "\n".join(self._data)))
        self._event = None
        self._data = []

    def _field(self, line: bytes) -> None:
        name, value = _split_field(line)
        if name == b"data":
            self._data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")


def _split_field(line: bytes) -> tuple[bytes, bytes]:
    """(field name, value); an empty name for a comment line."""
    name, sep, value = line.partition(b":")
    if sep and value[:1] == b" ":
        value = value[1:]
    return name, value


def _read_block(block: bytes) -> ServerSentEvent | None:
    """One event's lines (LF-separated, no blank line among them)."""
    event: str | None = None
    data: list[str] = []
    for line in block.split(b"\n"):
        name, value = _split_field(line)
        if name == b"data":
            data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            event = value.decode("utf-8", "replace")
    if data or event is not None:
        return ServerSentEvent(event, "\n".join(data))
    return None


class SSEScanner:
    """`SSEDecoder`'s `feed` and `finish`, returning only the events whose bytes hold one of
    `needles` (which may change between reads). Input with a CR in it is handed to a full
    `SSEDecoder` from then on (every event returned): the scanner splits on LF only."""

    __slots__ = ("_buf", "_full", "needles")

    def __init__(self, needles: tuple[bytes, ...]) -> None:
        self.needles = needles
        self._buf = b""
        self._full: SSEDecoder | None = None

    def feed(self, chunk: bytes) -> tuple[bytes, list[ServerSentEvent]]:
        if self._full is not None:
            return self._full.feed(chunk)
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            self._full, self._buf = SSEDecoder(), b""
            return self._full.feed(buf)
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            return b"", []
        end += 2
        complete, self._buf = buf[:end], buf[end:]
        return complete, self._pick(complete)

    def finish(self) -> tuple[bytes, list[ServerSentEvent]]:
        if self._full is not None:
            return self._full.finish()
        rest, self._buf = self._buf, b""
        event = _read_block(rest)
        return rest, [event] if event is not None else []

    def _pick(self, complete: bytes) -> list[ServerSentEvent]:
        starts: set[int] = set()
        for needle in self.needles:
            at = complete.find(needle)
            while at >= 0:
                before = complete.rfind(b"\n\n", 0, at)
                starts.add(before + 2 if before >= 0 else 0)
                at = complete.find(needle, complete.find(b"\n\n", at))
        events = []
        for start in sorted(starts):
            event = _read_block(complete[start : complete.find(b"\n\n", start)])
            if event is not None:
                events.append(event)
        return events


def encode_event(event: str, data: bytes) -> bytes:
    """One named event. `data` must be a single line of JSON that carries its own `type`."""
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"
