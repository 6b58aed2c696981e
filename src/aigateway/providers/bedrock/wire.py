"""What Bedrock Runtime answers, typed: Converse and ConverseStream, the InvokeModel stream's
chunks, CountTokens and error bodies. Shapes and names are botocore's bedrock-runtime service
model (`ConverseResponse`, `ConverseStreamOutput`'s events, `ResponseStream`/`PayloadPart`,
`CountTokensResponse`, the exceptions' `message`), cut to the members the gateway reads.

Invariants:
- members keep Bedrock's camelCase names, so each is found in the service model by name;
- every member is optional and defaulted (None, or empty) and unknown members are ignored, so a
  new Bedrock member, content kind or union arm never fails a decode; a member present with the
  wrong JSON type does (`msgspec.ValidationError`), and the readers make that the provider's 502;
- the model's unions (`ContentBlock`, `ContentBlockDelta`, `ReasoningContentBlock`...) are
  Structs with one optional member per arm read; an arm not modelled here decodes as all-None;
- `Document` members are any JSON: tool input is `Any` (the reader wants an object), and
  `additionalModelResponseFields` stays raw, read only when a stop sequence needs it;
- blobs (`redactedContent`, `bytes`) stay the base64 text the JSON carries: what undecodable
  base64 means is the reader's decision, not a decode failure;
- nothing decoded here forms a reference cycle, hence `gc=False`.
"""

from __future__ import annotations

from typing import Any

import msgspec


class _Wire(msgspec.Struct, gc=False):
    pass


class TokenUsage(_Wire):
    inputTokens: int | None = None
    outputTokens: int | None = None
    cacheReadInputTokens: int | None = None
    cacheWriteInputTokens: int | None = None


# -- Converse (`ConverseResponse`)


class ReasoningText(_Wire):  # ReasoningTextBlock
    text: str | None = None
    signature: str | None = None


class ReasoningContent(_Wire):  # ReasoningContentBlock, a union
    reasoningText: ReasoningText | None = None
    redactedContent: str | None = None  # blob: base64


class ToolUse(_Wire):  # ToolUseBlock
    toolUseId: str | None = None
    name: str | None = None
    input: Any = None  # Document


class CitationText(_Wire):  # CitationGeneratedContent, a union
    text: str | None = None


class CitationsContent(_Wire):  # CitationsContentBlock
    content: list[CitationText] | None = None


class ContentBlock(_Wire):  # a union; image, guardContent... have no Anthropic output form
    text: str | None = None
    reasoningContent: ReasoningContent | None = None
    toolUse: ToolUse | None = None
    citationsContent: CitationsContent | None = None


class Message(_Wire):
    role: str | None = None
    content: list[ContentBlock] | None = None


class ConverseOutput(_Wire):  # a union with one arm
    message: Message | None = None


class ConverseResponse(_Wire):
    output: ConverseOutput | None = None
    stopReason: str | None = None
    usage: TokenUsage | None = None
    additionalModelResponseFields: msgspec.Raw = msgspec.Raw()  # Document; empty when absent


class AdditionalFields(_Wire):
    """The part of Claude's `additionalModelResponseFields` read: the stop sequence it matched."""

    stop_sequence: str | None = None


# -- ConverseStream (`ConverseStreamOutput`): one Struct per event payload read


class ToolUseStart(_Wire):  # ToolUseBlockStart
    toolUseId: str | None = None
    name: str | None = None


class BlockStart(_Wire):  # ContentBlockStart, a union
    toolUse: ToolUseStart | None = None


class ContentBlockStartEvent(_Wire):
    contentBlockIndex: int | None = None
    start: BlockStart | None = None


class ToolUseDelta(_Wire):  # ToolUseBlockDelta
    input: str | None = None


class ReasoningDelta(_Wire):  # ReasoningContentBlockDelta, a union
    text: str | None = None
    signature: str | None = None
    redactedContent: str | None = None  # blob: base64


class BlockDelta(_Wire):  # ContentBlockDelta, a union
    text: str | None = None
    toolUse: ToolUseDelta | None = None
    reasoningContent: ReasoningDelta | None = None


class ContentBlockDeltaEvent(_Wire):
    contentBlockIndex: int | None = None
    delta: BlockDelta | None = None


class MessageStopEvent(_Wire):
    stopReason: str | None = None
    additionalModelResponseFields: msgspec.Raw = msgspec.Raw()  # Document; empty when absent


class MetadataEvent(_Wire):  # ConverseStreamMetadataEvent
    usage: TokenUsage | None = None


# -- errors, InvokeModelWithResponseStream, CountTokens


class ErrorBody(_Wire):
    """Every Bedrock exception's body; some AWS front doors (auth) spell it `Message`."""

    message: str | None = None
    Message: str | None = None


class PayloadPart(_Wire):
    bytes: str = ""  # blob: base64 of one Anthropic stream event's JSON


class EventType(_Wire):
    """The `type` of the Anthropic event a PayloadPart carries (the event itself is relayed)."""

    type: str = ""


class CountTokensResponse(_Wire):
    inputTokens: int  # required: an answer without the count is no answer (ValidationError)


decode_converse = msgspec.json.Decoder(ConverseResponse).decode
decode_additional = msgspec.json.Decoder(AdditionalFields).decode
decode_block_start = msgspec.json.Decoder(ContentBlockStartEvent).decode
decode_block_delta = msgspec.json.Decoder(ContentBlockDeltaEvent).decode
decode_message_stop = msgspec.json.Decoder(MessageStopEvent).decode
decode_metadata = msgspec.json.Decoder(MetadataEvent).decode
decode_error = msgspec.json.Decoder(ErrorBody).decode
decode_payload_part = msgspec.json.Decoder(PayloadPart).decode
decode_event_type = msgspec.json.Decoder(EventType).decode
decode_count_tokens = msgspec.json.Decoder(CountTokensResponse).decode
# Payloads of events nothing is read from (messageStart, contentBlockStop, new kinds) are only
# checked to be JSON, as every frame's payload always was.
check_json = msgspec.json.Decoder(msgspec.Raw).decode
