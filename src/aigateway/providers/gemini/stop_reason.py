"""Gemini `finishReason` to Anthropic `stop_reason`, with its context (spec §10.4).

Gemini says `STOP` when it produced function calls, so whether any tool_use block was produced
decides. Every safety-type reason (and a prompt blocked before any candidate,
`promptFeedback.blockReason`) is a `refusal`. Gemini does not say which stop sequence matched,
so `stop_sequence` stays null. A failed function call (`MALFORMED_FUNCTION_CALL`, ...) has no
Anthropic stop reason: it is reported as an upstream error (`FAILED_CALL`), which clients retry.
"""

from __future__ import annotations

REFUSALS = frozenset(
    {
        "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION",
    }
)  # fmt: skip
FAILED_CALL = frozenset({"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"})


def map_stop_reason(raw: str | None, *, has_tool_calls: bool, blocked: bool = False) -> str:
    if blocked or raw in REFUSALS:
        return "refusal"
    if raw == "MAX_TOKENS":
        return "max_tokens"
    if has_tool_calls:
        return "tool_use"
    return "end_turn"  # STOP, LANGUAGE, OTHER, NO_IMAGE, FINISH_REASON_UNSPECIFIED, ...
