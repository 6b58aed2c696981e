"""The Gemini recordings, and a plain reading of what each one says.

`expected(rec)` is deliberately naive and written apart from the gateway's decoder: it reads the
whole recorded answer (JSON, or every `data:` line of the SSE body at once) and lists its thought
text, answer text, function calls, thought signatures, last finish reason and last usage.
Anthropic's view of it is derived here by hand from spec §10.4, for tests to compare against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.support.fixtures import ROOT, Exchange, exchanges, need_recordings


@dataclass(frozen=True)
class Recording:
    exchange: Exchange
    model: str  # from the recorded URL: .../models/{model}:method

    @property
    def name(self) -> str:
        return f"{self.exchange.case}#{self.exchange.number}"

    @property
    def stream(self) -> bool:
        return self.exchange.content_type.startswith("text/event-stream")

    @property
    def status(self) -> int:
        return self.exchange.status

    @property
    def body(self) -> bytes:
        return self.exchange.response_bytes()

    def __str__(self) -> str:
        return self.name


def recordings() -> list[Recording]:
    found = []
    for ex in exchanges("gemini"):
        if ex.response_file is None:
            continue
        model = ex.url.rsplit("/models/", 1)[1].split(":", 1)[0]
        found.append(Recording(ex, model))
    return found


def recording(name: str) -> Recording:
    need_recordings()
    return next(r for r in recordings() if r.name == name)


def retry_info_body() -> bytes:
    """gemini/error-429-retry-info: a response recorded without its exchange."""
    return (ROOT / "gemini" / "error-429-retry-info.response.json").read_bytes()


@dataclass
class Expected:
    thinking: str
    text: str
    calls: list[tuple[str, dict[str, Any]]]  # (name, args)
    signatures: list[str]
    finish_reason: str | None
    usage: dict[str, Any]


def chunks(rec: Recording) -> list[dict[str, Any]]:
    if not rec.stream:
        return [json.loads(rec.body)]
    return [json.loads(line[5:]) for line in rec.body.decode().split("\r\n") if line.startswith("data:")]


def expected(rec: Recording) -> Expected:
    want = Expected("", "", [], [], None, {})
    for chunk in chunks(rec):
        want.usage = chunk.get("usageMetadata") or want.usage
        for candidate in chunk.get("candidates", [])[:1]:
            for part in candidate.get("content", {}).get("parts", []):
                if "thoughtSignature" in part:
                    want.signatures.append(part["thoughtSignature"])
                if "functionCall" in part:
                    want.calls.append((part["functionCall"]["name"], part["functionCall"].get("args", {})))
                elif part.get("thought"):
                    want.thinking += part.get("text", "")
                else:
                    want.text += part.get("text", "")
            want.finish_reason = candidate.get("finishReason") or want.finish_reason
    return want


def anthropic_stop_reason(want: Expected) -> str:
    if want.finish_reason == "MAX_TOKENS":
        return "max_tokens"
    return "tool_use" if want.calls else "end_turn"


def anthropic_usage(usage: dict[str, Any]) -> dict[str, int]:
    """Hand-written from spec §10.4: cached tokens leave input; thoughts are output."""
    cached = usage.get("cachedContentTokenCount", 0)
    return {
        "input_tokens": usage["promptTokenCount"] - cached,
        "cache_read_input_tokens": cached,
        "output_tokens": usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0),
    }
