"""Cache-aware token usage, in Anthropic's buckets.

Invariant: the four buckets are disjoint. `input_tokens` excludes cache reads and cache writes
(spec §4.3), so total input = input + cache_read + cache_write and nothing is counted twice.
`cache_creation_1h_input_tokens` is not a fifth bucket: it is the part of the cache writes made
with the one-hour TTL (Anthropic's `cache_creation.ephemeral_1h_input_tokens`), priced higher than
five-minute writes; the five-minute part is `cache_creation_input_tokens - cache_creation_1h_input_tokens`.
`web_search_requests` counts server-side web searches the upstream ran (Anthropic's
`server_tool_use.web_search_requests`), billed per search on top of the tokens.
Stream usage is cumulative: later values overwrite earlier ones, they are never added (§5.4).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_creation_1h_input_tokens: int = 0
    web_search_requests: int = 0

    @property
    def cache_creation_5m_input_tokens(self) -> int:
        return self.cache_creation_input_tokens - self.cache_creation_1h_input_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens + self.output_tokens
