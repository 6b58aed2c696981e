"""The plain reading of Anthropic's `usage` objects, on parsed JSON: the reference the typed
reading (providers/anthropic/usage.py `apply_usage`) is checked against.

A counter given as an integer overwrites, anything else leaves the value as it was (stream usage
is cumulative); the one-hour part of the cache writes never exceeds the writes.
"""

from __future__ import annotations

from typing import Any

from aigateway.ir.usage import Usage

COUNTERS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def update_from_anthropic(usage: Usage, counts: dict[str, Any] | None) -> None:
    """Overwrite `usage` with the integer counters of an Anthropic `usage` object."""
    if not counts:
        return
    for name in COUNTERS:
        value = counts.get(name)
        if isinstance(value, int):
            setattr(usage, name, value)
    tools = counts.get("server_tool_use")
    if isinstance(tools, dict) and isinstance(tools.get("web_search_requests"), int):
        usage.web_search_requests = tools["web_search_requests"]
    split = counts.get("cache_creation")
    if isinstance(split, dict):
        one_hour = split.get("ephemeral_1h_input_tokens")
        if isinstance(one_hour, int):
            usage.cache_creation_1h_input_tokens = one_hour
    usage.cache_creation_1h_input_tokens = min(usage.cache_creation_1h_input_tokens, usage.cache_creation_input_tokens)


def plain_usage(*counts: dict[str, Any] | None) -> Usage:
    """`Usage` after each of `counts` in turn, as a stream's usage objects arrive."""
    usage = Usage()
    for c in counts:
        update_from_anthropic(usage, c)
    return usage
