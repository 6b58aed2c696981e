"""Chat Completions usage to Anthropic's disjoint buckets (spec §4.3, §10.2).

OpenAI counts cached prompt tokens inside `prompt_tokens`; Anthropic's `input_tokens` excludes
them. So `input = prompt - cached - cache_write`, and the cached part moves to
`cache_read_input_tokens`. DeepSeek reports the same split as `prompt_cache_hit_tokens`.
Reasoning tokens are part of `completion_tokens` at OpenAI; xAI reports them outside it (its
`total_tokens` = prompt + completion + reasoning), which is detected from the totals.
"""

from __future__ import annotations

from typing import Any

from aigateway.ir.usage import Usage


def usage_to_ir(raw: dict[str, Any] | None) -> Usage | None:
    if not raw:
        return None
    prompt = _int(raw.get("prompt_tokens"))
    completion = _int(raw.get("completion_tokens"))
    prompt_details = raw.get("prompt_tokens_details") or {}
    cached = _int(prompt_details.get("cached_tokens")) or _int(raw.get("prompt_cache_hit_tokens"))
    written = _int(prompt_details.get("cache_write_tokens"))
    reasoning = thinking_tokens(raw)
    total = raw.get("total_tokens")
    if reasoning and isinstance(total, int) and total == prompt + completion + reasoning:
        completion += reasoning
    return Usage(
        input_tokens=max(prompt - cached - written, 0),
        output_tokens=completion,
        cache_read_input_tokens=cached,
        cache_creation_input_tokens=written,
    )


def thinking_tokens(raw: dict[str, Any]) -> int:
    return _int((raw.get("completion_tokens_details") or {}).get("reasoning_tokens"))


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0
