"""Chat Completions usage to Anthropic's disjoint buckets (spec §4.3, §10.2).

OpenAI counts cached prompt tokens inside `prompt_tokens`; Anthropic's `input_tokens` excludes
them. So `input = prompt - cached - cache_write`, and the cached part moves to
`cache_read_input_tokens`. DeepSeek reports the same split as `prompt_cache_hit_tokens`.
Reasoning tokens are part of `completion_tokens` at OpenAI; xAI reports them outside it (its
`total_tokens` = prompt + completion + reasoning), which is detected from the totals.
"""

from __future__ import annotations

from aigateway.ir.usage import Usage
from aigateway.providers.openai.wire import ChatUsage, CompletionTokensDetails, PromptTokensDetails

_NO_PROMPT_DETAILS = PromptTokensDetails()
_NO_COMPLETION_DETAILS = CompletionTokensDetails()


def usage_to_ir(usage: ChatUsage | None) -> Usage | None:
    """None when the upstream sent none."""
    if usage is None:
        return None
    prompt = usage.prompt_tokens or 0
    completion = usage.completion_tokens or 0
    details = usage.prompt_tokens_details or _NO_PROMPT_DETAILS
    cached = details.cached_tokens or usage.prompt_cache_hit_tokens or 0
    written = details.cache_write_tokens or 0
    reasoning = thinking_tokens(usage)
    if reasoning and usage.total_tokens == prompt + completion + reasoning:
        completion += reasoning
    return Usage(
        input_tokens=max(prompt - cached - written, 0),
        output_tokens=completion,
        cache_read_input_tokens=cached,
        cache_creation_input_tokens=written,
    )


def thinking_tokens(usage: ChatUsage | None) -> int:
    details = (usage and usage.completion_tokens_details) or _NO_COMPLETION_DETAILS
    return details.reasoning_tokens or 0
