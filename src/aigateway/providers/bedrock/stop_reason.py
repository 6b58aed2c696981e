"""Converse `stopReason` to Anthropic `stop_reason` (spec §10.5; Bedrock "StopReason" enum).

A matched stop sequence: Claude says `stop_sequence` (the sequence, when Bedrock passes it, in
`additionalModelResponseFields.stop_sequence`); Nova says `end_turn` and leaves the sequence at
the end of the text. Both become `stop_sequence` with the sequence when the text ends with one
the client asked for. The text itself is left as the model produced it: a stream has already
sent it by the time the stop reason arrives, and the JSON answer must say the same.
"""

from __future__ import annotations

import msgspec

from aigateway.providers.bedrock import wire

STOP_REASONS = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "guardrail_intervened": "refusal",
    "content_filtered": "refusal",
    "model_context_window_exceeded": "model_context_window_exceeded",
    "malformed_model_output": "end_turn",
    "malformed_tool_use": "end_turn",
}


def map_stop_reason(
    raw: str | None,
    *,
    has_tool_calls: bool,
    text: str = "",
    stop_sequences: list[str] | None = None,
    additional: msgspec.Raw | None = None,
) -> tuple[str, str | None]:
    """(stop_reason, stop_sequence). `additional` is the raw `additionalModelResponseFields`."""
    if raw == "max_tokens":
        return "max_tokens", None
    if has_tool_calls and raw in (None, "tool_use", "end_turn"):
        return "tool_use", None
    if raw in ("stop_sequence", "end_turn", None) and stop_sequences:
        named = _named_sequence(additional)
        if named is not None and named in stop_sequences:
            return "stop_sequence", named
        ending = next((s for s in stop_sequences if s and text.endswith(s)), None)
        if ending is not None:
            return "stop_sequence", ending
    return STOP_REASONS.get(raw or "end_turn", "end_turn"), None


def _named_sequence(additional: msgspec.Raw | None) -> str | None:
    """The stop sequence Claude names, if the fields (any JSON: a Document) say one."""
    if not additional:
        return None
    try:
        return wire.decode_additional(additional).stop_sequence
    except msgspec.DecodeError:  # not an object, or not a string there: names none
        return None
