"""`finish_reason` to Anthropic `stop_reason` (spec §10.2; SDK `stop_reason.py`).

Several compatible servers say `stop` although the message holds tool calls, so whether any
tool_use block was produced decides too. Chat Completions does not say which stop sequence
matched; vLLM (`stop_reason`) and SGLang (`matched_stop`) do, and a match is reported as
`stop_sequence` with the sequence.
"""

from __future__ import annotations

import msgspec

from aigateway.providers.openai.wire import Finish

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def map_stop_reason(
    raw: str | None, *, has_tool_calls: bool, matched: object = None, stop_sequences: list[str] | None = None
) -> tuple[str, str | None]:
    """(stop_reason, stop_sequence)."""
    if raw == "length":
        return "max_tokens", None
    if has_tool_calls:
        return "tool_use", None
    if isinstance(matched, str) and stop_sequences and matched in stop_sequences:
        return "stop_sequence", matched
    return STOP_REASONS.get(raw or "stop", "end_turn"), None


def matched_stop(choice: Finish) -> str | int | None:
    """vLLM's `stop_reason` where the member is there (even null), else SGLang's `matched_stop`."""
    return choice.matched_stop if choice.stop_reason is msgspec.UNSET else choice.stop_reason
