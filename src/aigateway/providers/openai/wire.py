"""What a Chat Completions server answers, as msgspec Structs: the whole answer
(`chat.completion`), the stream chunk (`chat.completion.chunk`), usage and the error body.

Where the shapes come from: the OpenAI SDK's types (`openai.types.chat.ChatCompletion`,
`ChatCompletionChunk`, `ChatCompletionMessage`, `openai.types.CompletionUsage`,
`openai.types.shared.ErrorObject`), plus what compatible servers add, each seen in their
recorded answers: `reasoning_content` (DeepSeek, xAI), `reasoning` (Ollama, OpenRouter),
`reasoning_details` (OpenRouter), `content` as a list of typed chunks (Mistral),
`prompt_cache_hit_tokens` (DeepSeek), `prompt_tokens_details.cache_write_tokens` (OpenRouter),
`x_groq.usage` (Groq), `error.metadata.raw` (OpenRouter). Two fields come from the servers'
own protocol models, not from a recording: `stop_reason` (vLLM) and `matched_stop` (SGLang),
the stop string or token id that matched.
Error bodies that are not OpenAI's envelope come from servers built on FastAPI: a top-level
`message` (vLLM) or `detail` (a string, a list of validation errors, or an object).

Invariants:
- only what the converters read is declared; every other member is skipped unread;
- every field is optional: absent gives the default, `null` gives None;
- `decode_*` never raise `msgspec.ValidationError`: a value of the wrong type reads as absent
  (lenient.py), and a body that is JSON but not an object gives None. Only JSON syntax errors
  raise (`msgspec.DecodeError`), for the caller to report as its provider's error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from aigateway.providers.openai import lenient


class _Wire(msgspec.Struct, gc=False):
    """Decoded JSON cannot hold reference cycles, so the collector need not track these."""


class PromptTokensDetails(_Wire):
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


class CompletionTokensDetails(_Wire):
    reasoning_tokens: int | None = None


class ChatUsage(_Wire):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_cache_hit_tokens: int | None = None
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None


class Function(_Wire):
    name: str | None = None
    # A JSON string at OpenAI; an object at some servers. Anything else is the converter's to refuse.
    arguments: Any = None


class ToolCall(_Wire):
    id: str | None = None
    function: Function | None = None


class FunctionDelta(_Wire):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(_Wire):
    index: int | None = None  # required by the SDK, left out by some servers
    id: str | None = None
    function: FunctionDelta | None = None


class ThinkingPart(_Wire):
    text: str | None = None


class ContentPart(_Wire):
    """One of Mistral's typed content chunks: `text`, or `thinking` holding text parts."""

    type: str | None = None
    text: str | None = None
    thinking: str | list[ThinkingPart] | None = None


class _Said(_Wire):
    """What a message and a delta have in common."""

    content: str | list[ContentPart] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    # Kept as the server sent them: encrypted items go back to it unchanged (opaque.py).
    reasoning_details: list[dict[str, Any]] | None = None


class ChatMessage(_Said):
    tool_calls: list[ToolCall] | None = None


class Delta(_Said):
    tool_calls: list[ToolCallDelta] | None = None


class Finish(_Wire):
    """How a choice ended (a whole answer's, or a chunk's once it ends)."""

    finish_reason: str | None = None
    # UNSET tells "no `stop_reason` member" from `"stop_reason": null` (see stop_reason.matched_stop).
    stop_reason: str | int | msgspec.UnsetType | None = msgspec.UNSET
    matched_stop: str | int | None = None


class Choice(Finish):
    message: ChatMessage | None = None


class ChunkChoice(Finish):
    index: int | None = 0  # absent is the first choice
    delta: Delta | None = None


class ChatCompletion(_Wire):
    choices: list[Choice] | None = None
    usage: ChatUsage | None = None


class ErrorMetadata(_Wire):
    raw: Any = None  # OpenRouter: the routed provider's own error, as that provider sent it


class ErrorObject(_Wire):
    message: str | None = None
    metadata: ErrorMetadata | None = None


class GroqExtra(_Wire):
    usage: ChatUsage | None = None


class ChatChunk(_Wire):
    choices: list[ChunkChoice] | None = None
    usage: ChatUsage | None = None
    x_groq: GroqExtra | None = None
    # An error reported inside a 200 stream: whatever shape it takes, it is one.
    error: ErrorObject | str | int | float | bool | list[Any] | None = None


class ErrorBody(_Wire):
    error: ErrorObject | str | None = None
    message: str | None = None
    detail: str | list[Any] | dict[str, Any] | None = None


_completion = msgspec.json.Decoder(ChatCompletion)
_chunk = msgspec.json.Decoder(ChatChunk)
_error = msgspec.json.Decoder(ErrorBody)


# Each of these is one call on the hot path: the typed decoder, and the lenient reading only
# for a body it rejects.
def decode_completion(body: bytes) -> ChatCompletion | None:
    try:
        return _completion.decode(body)
    except msgspec.ValidationError:
        return lenient.retry(body, ChatCompletion)


def decode_chunk(data: str) -> ChatChunk | None:
    try:
        return _chunk.decode(data)
    except msgspec.ValidationError:
        return lenient.retry(data, ChatChunk)


def decode_error(body: bytes) -> ErrorBody | None:
    try:
        return _error.decode(body)
    except msgspec.ValidationError:
        return lenient.retry(body, ErrorBody)


def chunk_usage(chunk: ChatChunk) -> ChatUsage | None:
    """A chunk's usage, where OpenAI puts it or in Groq's own place."""
    return chunk.usage or (chunk.x_groq.usage if chunk.x_groq else None)


def first_choices(chunk: ChatChunk) -> Sequence[ChunkChoice]:
    """The chunk's choices of index 0 (an absent index reads as 0): the only choice the gateway reads."""
    choices = chunk.choices or ()
    if len(choices) == 1 and choices[0].index == 0:  # nearly every chunk: no copy
        return choices
    return [choice for choice in choices if choice.index == 0]
