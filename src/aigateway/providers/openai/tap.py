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
from typing import Any

import msgspec

from aigateway.ir.usage import Usage
from aigateway.providers.openai.stop_reason import map_stop_reason
from aigateway.providers.openai.usage import usage_to_ir
from aigateway.wire.sse import SSEDecoder

_decode = msgspec.json.Decoder().decode
_USAGE_NULL = (b',"usage":null', b'"usage":null,')


def read_usage(body: bytes) -> tuple[Usage | None, str | None]:
    """Usage and stop reason of a whole `chat.completion` (None where the body does not say)."""
    try:
        data = _decode(body)
    except msgspec.DecodeError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    choices = data.get("choices") or [{}]
    return usage_to_ir(data.get("usage")), _stop_reason(choices[0] if isinstance(choices[0], dict) else {})


def _stop_reason(choice: dict[str, Any]) -> str | None:
    raw = choice.get("finish_reason")
    if not raw:
        return None
    calls = bool((choice.get("message") or choice.get("delta") or {}).get("tool_calls"))
    return map_stop_reason(raw, has_tool_calls=calls)[0]


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
        self._raw_usage: dict[str, Any] | None = None
        self.stop_reason: str | None = None
        self.error_type: str | None = None
        self.error_message: str | None = None  # none of ours: the upstream's own chunks say it
        self.error_body: bytes | None = None
        self.first_content_at: float | None = None
        self.saw_stop = False  # `[DONE]`, or a finish reason from a server that sends no `[DONE]`

    @property
    def usage(self) -> Usage:
        return usage_to_ir(self._raw_usage) or Usage()

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
            chunk = _decode(data)
        except msgspec.DecodeError:
            return False
        if not isinstance(chunk, dict):
            return False
        if chunk.get("error"):
            self.error_type = "api_error"
            return False
        usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage")  # Groq's own place
        if usage:
            self._raw_usage = usage
        choices = chunk.get("choices")
        for choice in choices or []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice)
        return self._hide_usage and choices == [] and bool(chunk.get("usage"))

    def _choice(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta") or {}
        if self.first_content_at is None and (delta.get("content") or delta.get("tool_calls")):
            self.first_content_at = time.monotonic()
        self._tool_calls = self._tool_calls or bool(delta.get("tool_calls"))
        if choice.get("finish_reason"):
            self.stop_reason = map_stop_reason(choice["finish_reason"], has_tool_calls=self._tool_calls)[0]
