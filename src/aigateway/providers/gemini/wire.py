"""Gemini's answers as msgspec Structs, decoded once at the boundary and read by the converters.

Shapes from Google's REST reference of the Gemini API (v1beta `GenerateContentResponse`,
`Candidate`, `Content`, `Part`, `FunctionCall`, `UsageMetadata`, `PromptFeedback`,
`CountTokensResponse`, `BatchEmbedContentsResponse`/`ContentEmbedding`) and of Google's error
envelope (`google.rpc.Status` with its `details`, `ErrorInfo.reason`, `RetryInfo.retryDelay`),
checked against recorded answers. Vertex AI's Gemini answers have the same fields.

Invariants:
- names are Google's camelCase (`rename="camel"`; `@type` by explicit name);
- every field is optional and None when absent or null (proto3 JSON omits unset fields);
- only what a converter reads is declared; msgspec skips every other field (`safetyRatings`,
  `modelVersion`, `responseId`, `inlineData`, `executableCode`, ...) without building it, so new
  fields from Google are tolerated and cost no allocation;
- `thoughtSignature` stays the string Google sent (base64 of opaque bytes), never decoded, so it
  goes back byte for byte;
- JSON that is not JSON raises `msgspec.DecodeError`; JSON of the wrong shape raises
  `msgspec.ValidationError` (a subclass, so catch it first); each caller turns both into an
  error naming the provider.
"""

from __future__ import annotations

from typing import Any

import msgspec

# gc=False: decoded wire data never forms reference cycles, and untracked Structs decode faster.


class FunctionCall(msgspec.Struct, rename="camel", gc=False):
    name: str | None = None
    args: dict[str, Any] | None = None
    id: str | None = None


class Part(msgspec.Struct, rename="camel", gc=False):
    text: str | None = None
    thought: bool | None = None
    thought_signature: str | None = None
    function_call: FunctionCall | None = None


class Content(msgspec.Struct, rename="camel", gc=False):
    parts: list[Part] | None = None


class Candidate(msgspec.Struct, rename="camel", gc=False):
    content: Content | None = None
    finish_reason: str | None = None


class PromptFeedback(msgspec.Struct, rename="camel", gc=False):
    block_reason: str | None = None


class UsageMetadata(msgspec.Struct, rename="camel", gc=False):
    prompt_token_count: int | None = None
    cached_content_token_count: int | None = None
    candidates_token_count: int | None = None
    thoughts_token_count: int | None = None
    tool_use_prompt_token_count: int | None = None


class GenerateContentResponse(msgspec.Struct, rename="camel", gc=False):
    candidates: list[Candidate] | None = None
    prompt_feedback: PromptFeedback | None = None
    usage_metadata: UsageMetadata | None = None


class ErrorDetail(msgspec.Struct, rename="camel", gc=False):
    """One `google.rpc.Status.details` entry; `@type` says which of the fields below it has."""

    type: str | None = msgspec.field(default=None, name="@type")
    reason: str | None = None  # google.rpc.ErrorInfo
    retry_delay: str | None = None  # google.rpc.RetryInfo: a Duration in JSON form, "34.4s"


class Status(msgspec.Struct, rename="camel", gc=False):
    code: int | None = None
    message: str | None = None
    status: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorBody(msgspec.Struct, gc=False):
    error: Status | None = None


class StreamChunk(GenerateContentResponse, gc=False):
    """One `data:` event of `streamGenerateContent?alt=sse`: a response, or Google's error envelope."""

    error: Status | None = None


class CountTokensResponse(msgspec.Struct, rename="camel", gc=False):
    total_tokens: int | None = None


class ContentEmbedding(msgspec.Struct, gc=False):
    values: list[float] | None = None


class BatchEmbedContentsResponse(msgspec.Struct, gc=False):
    embeddings: list[ContentEmbedding] | None = None


RESPONSE = msgspec.json.Decoder(GenerateContentResponse)
CHUNK = msgspec.json.Decoder(StreamChunk)
ERROR = msgspec.json.Decoder(ErrorBody | list[ErrorBody])  # the envelope, or a list holding it
COUNT = msgspec.json.Decoder(CountTokensResponse)
EMBEDDINGS = msgspec.json.Decoder(BatchEmbedContentsResponse)


class ModelInfo(msgspec.Struct, rename="camel", gc=False):
    """One entry of `GET models` (the API reference's `Model` resource), cut to what is read."""

    name: str  # "models/gemini-2.5-pro"
    display_name: str | None = None
    input_token_limit: int | None = None
    output_token_limit: int | None = None
    supported_generation_methods: list[str] = []


class ModelPage(msgspec.Struct, rename="camel", gc=False):
    models: list[ModelInfo] = []
    next_page_token: str | None = None


decode_model_page = msgspec.json.Decoder(ModelPage).decode
