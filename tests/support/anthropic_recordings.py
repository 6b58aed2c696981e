"""A plain reading of each recorded Anthropic answer, written apart from the gateway's decoders.

`read(ex)` takes a whole recorded response (JSON, or every SSE event at once) and says which
thinking, text and tool calls it holds, its stop reason and its usage, in Anthropic's terms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.support.fixtures import Exchange, exchanges

FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


@dataclass
class Reading:
    thinking: str = ""
    text: str = ""
    tool_calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    stop_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)

    @property
    def finish_reason(self) -> str:
        return FINISH[self.stop_reason or "end_turn"]

    @property
    def prompt_tokens(self) -> int:
        u = self.usage
        return u["input_tokens"] + u.get("cache_read_input_tokens", 0) + u.get("cache_creation_input_tokens", 0)


def messages_exchanges() -> list[Exchange]:
    return [
        ex
        for ex in exchanges("anthropic")
        if ex.status == 200 and ex.path_and_query.startswith("/v1/messages") and "count_tokens" not in ex.url
    ]


def read(ex: Exchange) -> Reading:
    raw = ex.response_bytes().decode()
    return _read_sse(raw) if ex.stream else _read_json(json.loads(raw))


def _read_json(body: dict[str, Any]) -> Reading:
    r = Reading(stop_reason=body["stop_reason"], usage=_counts(body["usage"]))
    for block in body["content"]:
        if block["type"] == "text":
            r.text += block["text"]
        elif block["type"] == "thinking":
            r.thinking += block["thinking"]
        elif block["type"] == "tool_use":
            r.tool_calls.append((block["id"], block["name"], block["input"]))
    return r


def _read_sse(raw: str) -> Reading:
    r = Reading()
    blocks: dict[int, dict[str, Any]] = {}
    for line in raw.replace("\r\n", "\n").split("\n"):
        if not line.startswith("data:"):
            continue
        event = json.loads(line[5:])
        kind = event["type"]
        if kind == "message_start":
            r.usage = _counts(event["message"]["usage"])
        elif kind == "content_block_start":
            blocks[event["index"]] = {**event["content_block"], "json": ""}
        elif kind == "content_block_delta":
            block, delta = blocks[event["index"]], event["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "input_json_delta":
                block["json"] += delta["partial_json"]
        elif kind == "message_delta":
            r.stop_reason = event["delta"]["stop_reason"]
            r.usage.update(_counts(event["usage"]))
    _collect(r, blocks)
    return r


def _collect(r: Reading, blocks: dict[int, dict[str, Any]]) -> None:
    for _, block in sorted(blocks.items()):
        if block["type"] == "text":
            r.text += block["text"]
        elif block["type"] == "thinking":
            r.thinking += block["thinking"]
        elif block["type"] == "tool_use":
            r.tool_calls.append((block["id"], block["name"], json.loads(block["json"] or "{}")))


def _counts(usage: dict[str, Any]) -> dict[str, int]:
    names = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    return {k: usage[k] for k in names if isinstance(usage.get(k), int)}
