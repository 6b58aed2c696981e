"""Anthropic Messages streams written from a list of content blocks, for fake upstreams that
must answer what a test scripts (an agent's tool calls), in the grammar of
tests/support/stream_grammar.py."""

from __future__ import annotations

import json
from typing import Any


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def message_stream(blocks: list[dict[str, Any]], stop_reason: str, model: str = "claude-sonnet-4-5") -> bytes:
    """`blocks`: Anthropic content blocks (text, thinking with signature, tool_use with input)."""
    usage = {"input_tokens": 120, "output_tokens": 1}
    head = {"id": "msg_scripted", "type": "message", "role": "assistant", "model": model, "content": []}
    out = [_event("message_start", {"message": {**head, "stop_reason": None, "usage": usage}})]
    for i, block in enumerate(blocks):
        out += _block(i, block)
    out.append(_event("message_delta", {"delta": {"stop_reason": stop_reason}, "usage": {"output_tokens": 42}}))
    out.append(_event("message_stop", {}))
    return b"".join(out)


def _block(i: int, block: dict[str, Any]) -> list[bytes]:
    kind = block["type"]
    if kind == "text":
        start, deltas = {"type": "text", "text": ""}, [{"type": "text_delta", "text": block["text"]}]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": block["thinking"]}]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        text = json.dumps(block["input"])
        deltas = [{"type": "input_json_delta", "partial_json": text[j : j + 17]} for j in range(0, len(text), 17)]
    out = [_event("content_block_start", {"index": i, "content_block": start})]
    out += [_event("content_block_delta", {"index": i, "delta": d}) for d in deltas]
    return [*out, _event("content_block_stop", {"index": i})]
