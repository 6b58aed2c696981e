"""A Responses API answer (`POST /v1/responses`) relayed unchanged to a client of the same API,
tapped for usage, stop reason and errors.

Shapes: openai-python `types/responses/response.py` (`Response`, `ResponseUsage`) and the stream
events in `types/responses/response_*_event.py`. Only what the ledger reads is declared.

Invariants:
- bytes go back exactly as they came; the tap only reads (whole events, so a client never holds
  half of one);
- usage is read from the terminal event's `response.usage` (`response.completed`,
  `response.incomplete`, `response.failed`); OpenAI counts cached tokens inside `input_tokens`,
  so the cached part moves to Anthropic's `cache_read_input_tokens` (ir/usage.py);
- the stop reason is Anthropic's: `tool_use` when the output holds a tool call, `max_tokens`
  for `incomplete_details.reason == max_output_tokens`, `refusal` for `content_filter`;
- an `error` event or `response.failed` marks the stream as failed; the commit point (first
  content) is the first `response.output_item.added`;
- `next_sequence` is one past the last `sequence_number` seen, and `response` / `items` are the
  last response object and the finished output items the stream showed (raw JSON), so the door
  can end a cut stream with its own `error` and `response.failed`, in order; `final` is the
  terminal event's response object (raw JSON), for a door that keeps responses.
"""

from __future__ import annotations

import time

import msgspec

from aigateway.ir.usage import Usage
from aigateway.wire.sse import SSEDecoder

_TERMINAL = {"response.completed", "response.incomplete", "response.failed"}
_TOOL_CALLS = {"function_call", "custom_tool_call"}


class _Details(msgspec.Struct, gc=False):
    cached_tokens: int | None = None


class _Usage(msgspec.Struct, gc=False):
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_tokens_details: _Details | None = None


class _Incomplete(msgspec.Struct, gc=False):
    reason: str | None = None


class _Item(msgspec.Struct, gc=False):
    type: str | None = None


class _Response(msgspec.Struct, gc=False):
    object: str | None = None
    status: str | None = None
    usage: _Usage | None = None
    incomplete_details: _Incomplete | None = None
    output: list[_Item] | None = None


class _Event(msgspec.Struct, gc=False):
    type: str | None = None
    sequence_number: int | None = None
    response: _Response | None = None


class _Shell(msgspec.Struct, gc=False):
    """What a cut stream's `response.failed` is built from."""

    response: msgspec.Raw = msgspec.Raw(b"null")
    item: msgspec.Raw = msgspec.Raw(b"null")


_SHELLS = {"response.created", "response.in_progress", "response.output_item.done"}
_event = msgspec.json.Decoder(_Event)
_shell = msgspec.json.Decoder(_Shell)
_response = msgspec.json.Decoder(_Response)


def _usage(raw: _Usage | None) -> Usage | None:
    if raw is None:
        return None
    cached = (raw.input_tokens_details.cached_tokens if raw.input_tokens_details else None) or 0
    return Usage(
        input_tokens=max((raw.input_tokens or 0) - cached, 0),
        output_tokens=raw.output_tokens or 0,
        cache_read_input_tokens=cached,
    )


def _stop_reason(response: _Response) -> str | None:
    if response.status == "incomplete":
        reason = response.incomplete_details.reason if response.incomplete_details else None
        return "refusal" if reason == "content_filter" else "max_tokens"
    if response.status != "completed":
        return None
    calls = any(item.type in _TOOL_CALLS for item in response.output or ())
    return "tool_use" if calls else "end_turn"


def is_response_object(body: bytes) -> bool:
    try:
        return _response.decode(body).object == "response"
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False


def read_response_usage(body: bytes) -> tuple[Usage | None, str | None]:
    """Usage and stop reason of a whole Response object (None where the body does not say)."""
    try:
        response = _response.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, None
    return _usage(response.usage), _stop_reason(response)


class ResponsesStreamTap:
    """Relays Responses SSE event by event; reads usage, stop reason, errors and the commit point."""

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._usage: Usage | None = None
        self.stop_reason: str | None = None
        self.error_type: str | None = None
        self.error_message: str | None = None  # none of ours: the upstream's own events say it
        self.error_body: bytes | None = None
        self.first_content_at: float | None = None
        self.saw_stop = False  # a terminal event came
        self.next_sequence = 0
        self.response: bytes | None = None  # the last response object shown (raw JSON)
        self.items: list[bytes] = []  # the output items finished so far (raw JSON)
        self.final: bytes | None = None  # the terminal event's response object (raw JSON)

    @property
    def usage(self) -> Usage:
        return self._usage or Usage()

    def feed(self, chunk: bytes) -> bytes:
        complete, events = self._sse.feed(chunk)
        for event in events:
            self._see(event.data)
        return complete

    def finish(self) -> bytes:
        rest, events = self._sse.finish()
        for event in events:
            self._see(event.data)
        return rest

    def _see(self, data: str) -> None:
        try:
            event = _event.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if event.sequence_number is not None:
            self.next_sequence = max(self.next_sequence, event.sequence_number + 1)
        kind = event.type
        if kind in _SHELLS:
            self._keep(data)
        if kind == "response.output_item.added" and self.first_content_at is None:
            self.first_content_at = time.monotonic()
        elif kind == "error" or kind == "response.failed":
            self.error_type = self.error_type or "api_error"
        if kind in _TERMINAL and event.response is not None:
            self.final = bytes(_shell.decode(data).response)
            self.saw_stop = True
            self._usage = _usage(event.response.usage) or self._usage
            self.stop_reason = _stop_reason(event.response)

    def _keep(self, data: str) -> None:
        shell = _shell.decode(data)
        if bytes(shell.response) != b"null":
            self.response = bytes(shell.response)
        if bytes(shell.item) != b"null":
            self.items.append(bytes(shell.item))
