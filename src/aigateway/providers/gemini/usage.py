"""Gemini `usageMetadata` to Anthropic's disjoint buckets (spec §4.3, §10.4).

`promptTokenCount` includes `cachedContentTokenCount`; Anthropic's `input_tokens` excludes cache
reads, so input = prompt - cached (+ `toolUsePromptTokenCount`, prompt Gemini spent on tool
results of its own tools). Thinking is reported outside `candidatesTokenCount`
(`totalTokenCount` = prompt + candidates + thoughts + toolUsePrompt), while Anthropic's
`output_tokens` includes it: output = candidates + thoughts. In a stream every chunk carries
the counts so far; the last one wins.
"""

from __future__ import annotations

from typing import Any

from aigateway.ir.events import DeltaUsage
from aigateway.ir.messages import OutputTokensDetails, WireUsage
from aigateway.ir.usage import Usage


def usage_to_ir(raw: dict[str, Any] | None) -> Usage | None:
    if not raw:
        return None
    cached = _int(raw.get("cachedContentTokenCount"))
    prompt = _int(raw.get("promptTokenCount")) + _int(raw.get("toolUsePromptTokenCount"))
    return Usage(
        input_tokens=max(prompt - cached, 0),
        output_tokens=_int(raw.get("candidatesTokenCount")) + thinking_tokens(raw),
        cache_read_input_tokens=cached,
    )


def thinking_tokens(raw: dict[str, Any]) -> int:
    return _int(raw.get("thoughtsTokenCount"))


def wire_usage(usage: Usage, thinking: int = 0) -> WireUsage:
    return WireUsage(**_counts(usage, thinking))


def delta_usage(usage: Usage, thinking: int = 0) -> DeltaUsage:
    return DeltaUsage(**_counts(usage, thinking))


def _counts(usage: Usage, thinking: int) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "output_tokens": usage.output_tokens,
        "output_tokens_details": OutputTokensDetails(thinking_tokens=thinking) if thinking else None,
    }


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0
