"""The parts of Anthropic's answers the gateway reads off a relayed answer, typed: usage, stop
reason, error envelopes, block types. Shapes are the Anthropic SDK's (`types/usage.py`,
`cache_creation.py`, `message_delta_usage.py`, `raw_message_start_event.py`,
`raw_message_delta_event.py`, `shared/error_response.py`), cut to the members read.

Invariants:
- decoding only reads: a relayed answer or event goes on as the bytes the upstream sent;
- every member is optional and defaulted, unknown members are ignored (servers that speak the
  protocol add their own); a member present with the wrong JSON type fails the decode
  (`msgspec.ValidationError`), which each reader handles as it handles JSON that does not parse;
- nothing decoded here forms a reference cycle, hence `gc=False`.
"""

from __future__ import annotations

import msgspec


class _Wire(msgspec.Struct, gc=False):
    pass


class CacheCreation(_Wire):
    ephemeral_1h_input_tokens: int | None = None


class ServerToolUse(_Wire):
    web_search_requests: int | None = None


class Usage(_Wire):
    """A Message's `usage`, or a `message_delta`'s cumulative one (null counters: not given)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_creation: CacheCreation | None = None
    server_tool_use: ServerToolUse | None = None


class MessageHead(_Wire):
    """A Message (a JSON answer, or `message_start`'s) without its content."""

    stop_reason: str | None = None
    usage: Usage | None = None


class MessageStartEvent(_Wire):
    message: MessageHead | None = None


class DeltaBody(_Wire):
    stop_reason: str | None = None


class MessageDeltaEvent(_Wire):
    delta: DeltaBody | None = None
    usage: Usage | None = None


class ErrorObject(_Wire):
    type: str | None = None
    message: str | None = None


class ErrorEvent(_Wire):
    """An `error` event's payload, and an error answer's body: the same envelope."""

    error: ErrorObject | None = None


class BlockHead(_Wire):
    type: str | None = None


class Answer(_Wire):
    """A Message answer's blocks, undecoded: `response.to_ir` keeps those the core models."""

    content: list[msgspec.Raw] | None = None


decode_message_head = msgspec.json.Decoder(MessageHead).decode
decode_message_start = msgspec.json.Decoder(MessageStartEvent).decode
decode_message_delta = msgspec.json.Decoder(MessageDeltaEvent).decode
decode_error = msgspec.json.Decoder(ErrorEvent).decode
decode_block_head = msgspec.json.Decoder(BlockHead).decode
decode_answer = msgspec.json.Decoder(Answer).decode


class ModelInfo(_Wire):
    """One entry of `GET /v1/models` (the SDK's `types/model_info.py`)."""

    id: str
    display_name: str | None = None
    created_at: str | None = None
    max_input_tokens: int | None = None
    max_tokens: int | None = None


class ModelPage(_Wire):
    data: list[ModelInfo] = []
    has_more: bool = False
    last_id: str | None = None


decode_model_page = msgspec.json.Decoder(ModelPage).decode
