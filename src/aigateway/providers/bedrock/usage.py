"""Converse `usage` to Anthropic's disjoint buckets (Bedrock API reference, "TokenUsage").

Bedrock's `inputTokens` already excludes cache reads and writes, as Anthropic's `input_tokens`
does: in the recordings `totalTokens = inputTokens + cacheReadInputTokens +
cacheWriteInputTokens + outputTokens`. So the buckets map one to one, nothing subtracted.
"""

from __future__ import annotations

from aigateway.ir.usage import Usage
from aigateway.providers.bedrock import wire


def usage_to_ir(raw: wire.TokenUsage | None) -> Usage | None:
    if raw is None:
        return None
    return Usage(
        input_tokens=raw.inputTokens or 0,
        output_tokens=raw.outputTokens or 0,
        cache_read_input_tokens=raw.cacheReadInputTokens or 0,
        cache_creation_input_tokens=raw.cacheWriteInputTokens or 0,
    )
