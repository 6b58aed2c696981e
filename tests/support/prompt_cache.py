"""A fake of Claude's prompt cache for fake upstreams, and real captures as requests of a session.

`PromptCache` answers as Anthropic, Bedrock (InvokeModel and Converse) and Vertex do: a request
whose prefix up to one of its breakpoints (a `cache_control` block, the top-level automatic one
on the last block, or a Converse `cachePoint`) equals a prefix seen at a breakpoint before reads
it from the cache; the rest up to its last breakpoint is written. Strictly by breakpoints (no
look-back to earlier block boundaries), so a test sees which breakpoints did the work. A token is
four bytes of a block's JSON, marks left out.

`codex_chat(capture)` is a Codex CLI capture (Responses API) as the Chat Completions request
carrying the same history, tools and `prompt_cache_key`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from tests.support import fixtures
from tests.support.upstream import Received, Reply

CACHE_POINT = "cachePoint"


def _tokens(block: Any) -> int:
    return max(len(json.dumps(block, sort_keys=True)) // 4, 1)


def unmarked(block: Any) -> Any:
    """A block without its breakpoint (`cache_control`)."""
    return {k: v for k, v in block.items() if k != "cache_control"} if isinstance(block, dict) else block


def _anthropic_blocks(body: dict[str, Any]) -> Iterator[tuple[Any, bool]]:
    """Each block of the prefix in order, and whether a breakpoint follows it."""
    system = body.get("system")
    system = [{"type": "text", "text": system}] if isinstance(system, str) else system or []
    for block in [*(body.get("tools") or []), *system]:
        yield unmarked(block), "cache_control" in block
    messages = body.get("messages") or []
    for n, msg in enumerate(messages):
        content = msg["content"]
        content = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for j, block in enumerate(content):
            last = n == len(messages) - 1 and j == len(content) - 1
            marked = "cache_control" in block or (last and "cache_control" in body)
            yield (msg["role"], unmarked(block)), marked


def _converse_blocks(body: dict[str, Any]) -> Iterator[tuple[Any, bool]]:
    lists = [((body.get("toolConfig") or {}).get("tools") or []), body.get("system") or []]
    lists += [[(m["role"], c) for c in m["content"]] for m in body.get("messages") or []]
    for items in lists:
        for item in items:
            content = item[1] if isinstance(item, tuple) else item
            yield item, isinstance(content, dict) and CACHE_POINT in content


class PromptCache:
    def __init__(self) -> None:
        self.seen: dict[str, int] = {}  # prefix digest -> its tokens

    def usage(self, body: dict[str, Any]) -> dict[str, int]:
        """input, cache read and cache write tokens of a request, remembering its prefixes."""
        converse = "inferenceConfig" in body
        digest, total, points = hashlib.sha256(), 0, []
        for block, marked in (_converse_blocks if converse else _anthropic_blocks)(body):
            if converse and marked:
                points.append((digest.copy().hexdigest(), total))
                continue
            digest.update(json.dumps(block, sort_keys=True).encode())
            total += _tokens(block)
            if marked:
                points.append((digest.copy().hexdigest(), total))
        read = max((n for h, n in points if h in self.seen), default=0)
        written = max((n for _, n in points), default=0)
        write = written - read if written > read else 0
        for h, n in points:
            self.seen[h] = n
        return {"input": total - read - write, "read": read, "write": write}

    def anthropic(self, received: Received) -> Reply:
        u = self.usage(json.loads(received.body))
        usage = {"input_tokens": u["input"], "output_tokens": 5}
        usage |= {"cache_read_input_tokens": u["read"], "cache_creation_input_tokens": u["write"]}
        message = {"id": "msg_cache", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5"}
        message |= {"content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "usage": usage}
        return Reply(body=json.dumps(message).encode(), headers={"content-type": "application/json"})

    def converse(self, received: Received) -> Reply:
        u = self.usage(json.loads(received.body))
        usage = {"inputTokens": u["input"], "outputTokens": 5, "totalTokens": sum(u.values()) + 5}
        usage |= {"cacheReadInputTokens": u["read"], "cacheWriteInputTokens": u["write"]}
        answer = {"output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}}}
        answer |= {"stopReason": "end_turn", "usage": usage, "metrics": {"latencyMs": 1}}
        return Reply(body=json.dumps(answer).encode(), headers={"content-type": "application/json"})


def capture(name: str) -> dict[str, Any]:
    """The JSON body of a captured client request (../shared/fixtures/requests)."""
    fixtures.need_recordings()
    body = json.loads((fixtures.ROOT / "requests" / f"{name}.json").read_text())["body"]
    return json.loads(body) if isinstance(body, str) else body


def _text(parts: Any) -> str:
    if isinstance(parts, str):
        return parts
    return "".join(p.get("text", "") for p in parts)


def _chat_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        if tool.get("type") == "namespace":
            out += _chat_tools(tool.get("tools") or [])
        elif tool.get("type") == "function":
            fields = {k: tool[k] for k in ("name", "description", "parameters") if k in tool}
            out.append({"type": "function", "function": fields})
    return out


def codex_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A Codex request's history as Chat Completions messages (reasoning items left out)."""
    messages: list[dict[str, Any]] = []
    for item in body["input"]:
        kind = item.get("type")
        if kind == "message":
            messages.append({"role": item["role"], "content": _text(item["content"])})
        elif kind == "function_call":
            call = {"id": item["call_id"], "type": "function"}
            call["function"] = {"name": item["name"], "arguments": item["arguments"]}
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": _text(item["output"])})
    chat = {"model": body["model"], "messages": messages, "tools": _chat_tools(body.get("tools") or [])}
    return chat | {"prompt_cache_key": body["prompt_cache_key"], "max_tokens": 64}
