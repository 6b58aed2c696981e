"""Cache-aware token usage, in Anthropic's buckets.

Invariant: the four buckets are disjoint. `input_tokens` excludes cache reads and cache writes
(spec §4.3), so total input = input + cache_read + cache_write and nothing is counted twice.
Stream usage is cumulative: later values overwrite earlier ones, they are never added (§5.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def update_from_anthropic(self, usage: dict[str, Any] | None) -> None:
        """Overwrite with the non-null counters of an Anthropic `usage` object."""
        if not usage:
            return
        for name in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            value = usage.get(name)
            if isinstance(value, int):
                setattr(self, name, value)
