"""The core's Message to a `chat.completion` (openai-python `types/chat/chat_completion.py`).

- text blocks join into `message.content` (null when there is none), a refusal's text into
  `message.refusal` (then `finish_reason` is `stop`, as OpenAI answers one); thinking becomes
  `reasoning_content`, the field DeepSeek, vLLM and most compatible servers use; redacted
  thinking has no OpenAI form and is left out;
- each tool_use becomes a `tool_calls` entry with its input as a JSON string in `arguments`;
- the stop reason maps by `FINISH_REASONS`;
- usage: OpenAI counts cached tokens inside `prompt_tokens`, so the three disjoint Anthropic
  input buckets are summed back, the cache read reported as `prompt_tokens_details.cached_tokens`
  and the cache write as `cache_write_tokens` (known-gateway-bugs row 21: nothing counted twice,
  nothing left out of the prompt).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import msgspec

from aigateway.ir.messages import Message, RefusalBlock, TextBlock, ThinkingBlock, ToolUseBlock
from aigateway.ir.usage import Usage

# Anthropic stop_reason -> OpenAI finish_reason (spec §4.1, §10.2 read backwards)
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def map_finish_reason(stop_reason: str | None, refused: bool = False) -> str:
    """`refused`: the answer carries a `refusal`, which OpenAI ends with `stop`, not a filter."""
    if refused and stop_reason == "refusal":
        return "stop"
    return FINISH_REASONS.get(stop_reason or "end_turn", "stop")


def new_completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def openai_usage(usage: Usage, thinking_tokens: int = 0) -> dict[str, Any]:
    prompt = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    details: dict[str, int] = {"cached_tokens": usage.cache_read_input_tokens}
    if usage.cache_creation_input_tokens:
        details["cache_write_tokens"] = usage.cache_creation_input_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": details,
        "completion_tokens_details": {"reasoning_tokens": thinking_tokens},
    }


def tool_call(block: ToolUseBlock, index: int | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {} if index is None else {"index": index}
    arguments = msgspec.json.encode(block.input).decode()
    call.update(id=block.id, type="function", function={"name": block.name, "arguments": arguments})
    return call


def from_ir(message: Message, usage: Usage, *, model: str, json_tool: str | None = None) -> bytes:
    """`json_tool`: the forced tool standing for `response_format: json_object`; its input is
    the answer, given as the content (request.py)."""
    texts = [b.text for b in message.content if isinstance(b, TextBlock) and not isinstance(b, RefusalBlock)]
    refusals = [b.text for b in message.content if isinstance(b, RefusalBlock)]
    thinking = [b.thinking for b in message.content if isinstance(b, ThinkingBlock)]
    calls = [tool_call(b) for b in message.content if isinstance(b, ToolUseBlock) and b.name != json_tool]
    answers = [b.input for b in message.content if isinstance(b, ToolUseBlock) and b.name == json_tool]
    if answers:
        texts = [msgspec.json.encode(answers[0]).decode()]
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    reply["refusal"] = "".join(refusals) if refusals else None
    if thinking:
        reply["reasoning_content"] = "".join(thinking)
    if calls:
        reply["tool_calls"] = calls
    stop_reason = "end_turn" if answers and message.stop_reason == "tool_use" else message.stop_reason
    finish = map_finish_reason(stop_reason, bool(refusals))
    details = message.usage.output_tokens_details
    body = {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": reply, "logprobs": None, "finish_reason": finish}],
        "usage": openai_usage(usage, details.thinking_tokens if details else 0),
    }
    return msgspec.json.encode(body)
