"""The Anthropic Messages stream grammar, checked on raw SSE bytes.

`validate_stream(raw) -> [(event_name, data), ...]` parses with the gateway's own SSE reader
and raises AssertionError naming the event (its 1-based position and name) and the rule broken:

    message_start  (ping)*
    for i = 0, 1, 2, ...:  content_block_start(i)  (content_block_delta(i) | ping)*  content_block_stop(i)
    message_delta+  message_stop                     -- and nothing after it
    an `error` event may end the stream at any point instead (then nothing after it)

plus: every event has an `event:` line equal to its JSON `type`; each delta's type matches its
block's type (the pairs the SDK's stream accumulator applies, anthropic/lib/streaming); a
thinking block's signature_delta comes once, after its thinking; the concatenated
`input_json_delta` fragments of a tool-input block parse as a JSON object;
`message_start.message.usage.input_tokens` and `message_delta.usage.output_tokens` are integers.
"""

from __future__ import annotations

import json
from typing import Any

from aigateway.wire.sse import ServerSentEvent, SSEDecoder

Event = tuple[str, dict[str, Any]]

# delta type -> block types it may extend (SDK: accumulate_event in lib/streaming/_messages.py
# and _beta_messages.py; TRACKS_TOOL_INPUT lists the tool-input blocks).
TOOL_INPUT_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
DELTA_TARGETS: dict[str, frozenset[str]] = {
    "text_delta": frozenset({"text"}),
    "citations_delta": frozenset({"text"}),
    "input_json_delta": TOOL_INPUT_BLOCKS,
    "thinking_delta": frozenset({"thinking"}),
    "signature_delta": frozenset({"thinking"}),
    "compaction_delta": frozenset({"compaction"}),
}
KNOWN_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    }
)


def parse_events(raw: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    _, events = decoder.feed(raw)
    _, tail = decoder.finish()
    return events + tail


def validate_stream(raw: bytes) -> list[Event]:
    """Check `raw` against the grammar above; return the events as (name, JSON object)."""
    grammar = _Grammar()
    for sse in parse_events(raw):
        grammar.feed(sse)
    grammar.finish()
    return grammar.events


class _Grammar:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.started = False
        self.ended: str | None = None  # "message_stop" or "error" once the stream is over
        self.next_index = 0
        self.open: int | None = None
        self.open_type = ""
        self.json_parts: list[str] = []
        self.signed = False
        self.deltas = 0  # message_delta events so far

    def fail(self, rule: str) -> AssertionError:
        name = self.events[-1][0] if self.events else "?"
        return AssertionError(f"event #{len(self.events)} ({name}): {rule}")

    def feed(self, sse: ServerSentEvent) -> None:
        try:
            data = json.loads(sse.data)
        except ValueError:
            data = None
        self.events.append((sse.event or "", data if isinstance(data, dict) else {}))
        if self.ended is not None:
            raise self.fail(f"event after {self.ended}; the stream must end there")
        if not isinstance(data, dict):
            raise self.fail(f"data is not a JSON object: {sse.data[:80]!r}")
        if sse.event is None:
            raise self.fail(f"no `event:` line (type {data.get('type')!r}); the SDKs drop such events")
        if data.get("type") != sse.event:
            raise self.fail(f"event name {sse.event!r} differs from JSON type {data.get('type')!r}")
        if sse.event not in KNOWN_EVENTS:
            raise self.fail(f"unknown event type {sse.event!r}")
        if sse.event == "error":
            self._error(data)
        elif not self.started and sse.event != "message_start":
            raise self.fail("the first event must be message_start")
        else:
            getattr(self, "_" + sse.event)(data)

    def finish(self) -> None:
        if self.ended is None:
            if not self.events:
                raise AssertionError("empty stream: no events")
            raise AssertionError(f"stream ended after {len(self.events)} events without message_stop or error")

    def _message_start(self, data: dict[str, Any]) -> None:
        if self.started:
            raise self.fail("a second message_start")
        self.started = True
        message = data.get("message")
        if not isinstance(message, dict) or message.get("content") != [] or message.get("role") != "assistant":
            raise self.fail("message_start.message must be an assistant message with empty content")
        usage = message.get("usage")
        if not isinstance(usage, dict) or not isinstance(usage.get("input_tokens"), int):
            raise self.fail("message_start.message.usage.input_tokens must be an integer")

    def _ping(self, data: dict[str, Any]) -> None:
        pass

    def _error(self, data: dict[str, Any]) -> None:
        error = data.get("error")
        if not isinstance(error, dict) or not isinstance(error.get("type"), str):
            raise self.fail("error event without error.type")
        self.ended = "error"

    def _content_block_start(self, data: dict[str, Any]) -> None:
        index = data.get("index")
        if self.deltas:
            raise self.fail(f"content_block_start (index {index}) after message_delta")
        if self.open is not None:
            raise self.fail(f"content_block_start index {index} while block {self.open} is open (interleaved blocks)")
        if index != self.next_index:
            raise self.fail(f"content_block_start index {index}, expected {self.next_index} (contiguous from 0)")
        block = data.get("content_block")
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise self.fail(f"content_block_start index {index} without content_block.type")
        self.open, self.open_type = index, block["type"]
        self.next_index += 1
        self.json_parts, self.signed = [], False
        if self.open_type in TOOL_INPUT_BLOCKS and block.get("input") != {}:
            raise self.fail(f"{self.open_type} block {index} must start with input {{}}, got {block.get('input')!r}")

    def _content_block_delta(self, data: dict[str, Any]) -> None:
        index = data.get("index")
        if self.open is None:
            raise self.fail(f"content_block_delta to index {index} with no open block")
        if index != self.open:
            raise self.fail(f"content_block_delta to index {index}, but the open block is {self.open}")
        delta = data.get("delta")
        kind = delta.get("type") if isinstance(delta, dict) else None
        targets = DELTA_TARGETS.get(kind) if isinstance(kind, str) else None
        if targets is None:
            raise self.fail(f"unknown delta type {kind!r} in block {index}")
        if self.open_type not in targets:
            raise self.fail(f"{kind} into {self.open_type} block {index}")
        assert isinstance(delta, dict)
        self._delta_payload(kind, delta, index)

    def _delta_payload(self, kind: str, delta: dict[str, Any], index: int) -> None:
        if kind == "input_json_delta":
            if not isinstance(delta.get("partial_json"), str):
                raise self.fail(f"input_json_delta in block {index} without a partial_json string")
            self.json_parts.append(delta["partial_json"])
        elif kind == "thinking_delta":
            if self.signed:
                raise self.fail(f"thinking_delta after signature_delta in block {index}")
        elif kind == "signature_delta":
            if self.signed:
                raise self.fail(f"a second signature_delta in block {index}")
            self.signed = True
        elif kind == "text_delta" and not isinstance(delta.get("text"), str):
            raise self.fail(f"text_delta in block {index} without a text string")

    def _content_block_stop(self, data: dict[str, Any]) -> None:
        index = data.get("index")
        if self.open is None:
            raise self.fail(f"content_block_stop index {index} with no open block")
        if index != self.open:
            raise self.fail(f"content_block_stop index {index}, but the open block is {self.open}")
        if self.open_type in TOOL_INPUT_BLOCKS:
            self._check_tool_input(index)
        self.open = None

    def _check_tool_input(self, index: int) -> None:
        text = "".join(self.json_parts)
        if not text:
            return  # a tool without arguments: input stays {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            why = f"input_json_delta fragments of block {index} are not JSON ({exc}): {text[:99]!r}"
            raise self.fail(why) from None
        if not isinstance(value, dict):
            raise self.fail(f"input_json_delta fragments of block {index} are not a JSON object: {text[:99]!r}")

    def _message_delta(self, data: dict[str, Any]) -> None:
        if self.open is not None:
            raise self.fail(f"message_delta while block {self.open} is open")
        usage = data.get("usage")
        if not isinstance(usage, dict) or not isinstance(usage.get("output_tokens"), int):
            raise self.fail("message_delta.usage.output_tokens must be an integer")
        if not isinstance(data.get("delta"), dict):
            raise self.fail("message_delta without a delta object")
        self.deltas += 1

    def _message_stop(self, data: dict[str, Any]) -> None:
        if self.open is not None:
            raise self.fail(f"message_stop while block {self.open} is open")
        if not self.deltas:
            raise self.fail("message_stop without a message_delta before it")
        self.ended = "message_stop"
