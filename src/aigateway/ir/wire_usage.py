"""A Usage (four disjoint buckets) in the two wire forms Anthropic's API uses: the Message's
`usage` and a `message_delta`'s cumulative usage. Every translating provider reports through
these, so the shapes cannot drift apart between providers."""

from __future__ import annotations

from typing import Any

from aigateway.ir.events import DeltaUsage
from aigateway.ir.messages import Message, OutputBlock, OutputTokensDetails, WireUsage, new_message_id
from aigateway.ir.usage import Usage


def wire_usage(usage: Usage, thinking: int = 0) -> WireUsage:
    return WireUsage(**_counts(usage, thinking))


def delta_usage(usage: Usage, thinking: int = 0) -> DeltaUsage:
    return DeltaUsage(**_counts(usage, thinking))


def translated_message(
    model: str, content: list[OutputBlock], stop: tuple[str | None, str | None], usage: Usage, thinking: int = 0
) -> Message:
    """A whole translated answer as the client gets it: a new id, `stop` as (stop_reason,
    stop_sequence), and the usage in its wire form."""
    return Message(
        id=new_message_id(),
        model=model,
        content=content,
        stop_reason=stop[0],
        stop_sequence=stop[1],
        usage=wire_usage(usage, thinking),
    )


def _counts(usage: Usage, thinking: int) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "output_tokens": usage.output_tokens,
        "output_tokens_details": OutputTokensDetails(thinking_tokens=thinking) if thinking else None,
    }


def take_delta(usage: Usage, delta: DeltaUsage) -> int | None:
    """Overwrites `usage` with the counters a `message_delta` carries (cumulative, spec §5.4: the
    ones it leaves out keep their value); returns its thinking tokens, None where it says none."""
    for name in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
        value = getattr(delta, name)
        if value is not None:
            setattr(usage, name, value)
    details = delta.output_tokens_details
    return details.thinking_tokens if details else None
