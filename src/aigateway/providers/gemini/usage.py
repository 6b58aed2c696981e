"""Gemini `usageMetadata` to Anthropic's disjoint buckets (spec §4.3, §10.4), and the
`totalTokens` of a `countTokens` answer.

`promptTokenCount` includes `cachedContentTokenCount`; Anthropic's `input_tokens` excludes cache
reads, so input = prompt - cached (+ `toolUsePromptTokenCount`, prompt Gemini spent on tool
results of its own tools). Thinking is reported outside `candidatesTokenCount`
(`totalTokenCount` = prompt + candidates + thoughts + toolUsePrompt), while Anthropic's
`output_tokens` includes it: output = candidates + thoughts. In a stream every chunk carries
the counts so far; the last one that holds any count wins (an empty `usageMetadata` is none).
"""

from __future__ import annotations

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.usage import Usage
from aigateway.providers.gemini.wire import COUNT, UsageMetadata

_EMPTY = UsageMetadata()


def counted(raw: UsageMetadata | None) -> bool:
    """Whether `raw` holds any count we read."""
    return raw is not None and raw != _EMPTY


def usage_to_ir(raw: UsageMetadata | None) -> Usage | None:
    if raw is None or raw == _EMPTY:
        return None
    cached = raw.cached_content_token_count or 0
    prompt = (raw.prompt_token_count or 0) + (raw.tool_use_prompt_token_count or 0)
    return Usage(
        input_tokens=max(prompt - cached, 0),
        output_tokens=(raw.candidates_token_count or 0) + thinking_tokens(raw),
        cache_read_input_tokens=cached,
    )


def thinking_tokens(raw: UsageMetadata | None) -> int:
    return (raw.thoughts_token_count or 0) if raw is not None else 0


def total_tokens(answer: bytes, provider: str) -> int:
    """A `CountTokensResponse`'s `totalTokens` (the prompt's input tokens), or a 502 naming the provider."""
    try:
        total = COUNT.decode(answer).total_tokens
    except msgspec.DecodeError:  # ValidationError too: a wrong shape is no count either
        total = None
    if total is None:
        what = f"Upstream provider '{provider}' answered countTokens without totalTokens"
        raise UpstreamError(what, provider=provider, status=502)
    return total
