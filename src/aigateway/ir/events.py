"""Anthropic stream events, typed (spec §5.3; SDK `raw_*_event.py`).

Invariant: a decoder that produces these for one message produces the grammar of spec §5.2:
one `MessageStart`, then blocks 0, 1, 2... each as start, deltas of its own kind, stop, never
two open at once; then `MessageDelta` with the stop reason and cumulative usage; then
`MessageStop`. `StreamError` may replace the remainder at any point. `providers/blocks.py`
is the one place that opens and closes blocks, so decoders cannot get the indices wrong.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.ir.messages import Message, OutputBlock, OutputTokensDetails


class _Event(msgspec.Struct, tag_field="type", omit_defaults=True, kw_only=True):
    pass


class _Delta(msgspec.Struct, tag_field="type", kw_only=True):
    pass


class TextDelta(_Delta, tag="text_delta"):
    text: str


class InputJsonDelta(_Delta, tag="input_json_delta"):
    partial_json: str


class ThinkingDelta(_Delta, tag="thinking_delta"):
    thinking: str


class SignatureDelta(_Delta, tag="signature_delta"):
    signature: str


class CitationsDelta(_Delta, tag="citations_delta"):
    """One citation of the text block under way (a `web_search_result_location`, ...), kept whole."""

    citation: dict[str, Any]


Delta = TextDelta | InputJsonDelta | ThinkingDelta | SignatureDelta | CitationsDelta


class MessageStart(_Event, tag="message_start"):
    message: Message


class ContentBlockStart(_Event, tag="content_block_start"):
    index: int
    content_block: OutputBlock


class ContentBlockDelta(_Event, tag="content_block_delta"):
    index: int
    delta: Delta


class ContentBlockStop(_Event, tag="content_block_stop"):
    index: int


class MessageDeltaBody(msgspec.Struct, kw_only=True):
    stop_reason: str | None
    stop_sequence: str | None = None


class DeltaUsage(msgspec.Struct, omit_defaults=True, kw_only=True):
    """MessageDeltaUsage: cumulative; `output_tokens` always, the rest when the upstream told us."""

    input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    output_tokens: int
    output_tokens_details: OutputTokensDetails | None = None


class MessageDelta(_Event, tag="message_delta"):
    delta: MessageDeltaBody
    usage: DeltaUsage


class MessageStop(_Event, tag="message_stop"):
    pass


class Ping(_Event, tag="ping"):
    pass


class StreamError(_Event, tag="error"):
    """`error_type` is Anthropic's (`api_error`, `overloaded_error`, ...); rendered by the front door."""

    error_type: str
    message: str


Event = MessageStart | ContentBlockStart | ContentBlockDelta | ContentBlockStop | MessageDelta | MessageStop | Ping

EVENT_NAMES: dict[type[Any], str] = {
    MessageStart: "message_start",
    ContentBlockStart: "content_block_start",
    ContentBlockDelta: "content_block_delta",
    ContentBlockStop: "content_block_stop",
    MessageDelta: "message_delta",
    MessageStop: "message_stop",
    Ping: "ping",
}
