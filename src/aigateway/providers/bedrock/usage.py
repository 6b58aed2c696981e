"""Converse `usage` to Anthropic's disjoint buckets (Bedrock API reference, "TokenUsage").

Bedrock's `inputTokens` already excludes cache reads and writes, as Anthropic's `input_tokens`
does: in the recordings `totalTokens = inputTokens + cacheReadInputTokens +
cacheWriteInputTokens + outputTokens`. So the buckets map one to one, nothing subtracted.
"""

from __future__ import annotations

from typing import Any

from aigateway.ir.usage import Usage


def usage_to_ir(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    return Usage(
        input_tokens=_int(raw.get("inputTokens")),
        output_tokens=_int(raw.get("outputTokens")),
        cache_read_input_tokens=_int(raw.get("cacheReadInputTokens")),
        cache_creation_input_tokens=_int(raw.get("cacheWriteInputTokens")),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0
