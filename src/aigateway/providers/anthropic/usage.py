"""Anthropic's usage counters onto the gateway's `Usage`, from the typed wire: a counter given
overwrites, a null or absent one leaves the value
as it was, since stream usage is cumulative (spec §5.4); the one-hour part of the cache writes
never exceeds the writes, whatever an upstream sends."""

from __future__ import annotations

from aigateway.ir.usage import Usage
from aigateway.providers.anthropic import wire


def apply_usage(usage: Usage, counts: wire.Usage | None) -> None:
    if counts is None:
        return
    if counts.input_tokens is not None:
        usage.input_tokens = counts.input_tokens
    if counts.output_tokens is not None:
        usage.output_tokens = counts.output_tokens
    if counts.cache_read_input_tokens is not None:
        usage.cache_read_input_tokens = counts.cache_read_input_tokens
    if counts.cache_creation_input_tokens is not None:
        usage.cache_creation_input_tokens = counts.cache_creation_input_tokens
    tools = counts.server_tool_use
    if tools is not None and tools.web_search_requests is not None:
        usage.web_search_requests = tools.web_search_requests
    split = counts.cache_creation
    if split is not None and split.ephemeral_1h_input_tokens is not None:
        usage.cache_creation_1h_input_tokens = split.ephemeral_1h_input_tokens
    usage.cache_creation_1h_input_tokens = min(usage.cache_creation_1h_input_tokens, usage.cache_creation_input_tokens)
