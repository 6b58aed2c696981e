"""The core's Message to a Responses API `response` object (openai-python
`types/responses/response.py`, `response_output_item.py`, `response_usage.py`).

- consecutive text blocks are one `message` item with one `output_text` part (Claude splits its
  text where citations change), their web search citations its `url_citation` annotations; a
  refusal block is a `message` item of its own with one `refusal` part, as OpenAI shows a model's
  refusal; a web search is a `web_search_call` item, and its call and results, sealed, a reasoning
  item after it (web_search.py); each thinking block a `reasoning` item (its text as `summary_text`
  when the client asked for a summary; what the model needs back sealed in `encrypted_content`
  when it asked with `include`); each redacted
  thinking block a reasoning item with only `encrypted_content`; each tool_use a `function_call`
  (arguments as a JSON string), or a `custom_tool_call` (raw `input`) for freeform tools, with the
  namespace split back out of namespaced names (tools.py); the forced tool standing for
  `text.format` (`Shaper.json_tool`) is a `message` item whose `output_text` is its JSON input;
- status: `completed`, or `incomplete` with `incomplete_details.reason` `max_output_tokens`
  (the output limit or the context window) or `content_filter` (stop reason `refusal`: Claude's
  streaming classifier, Gemini's safety reasons, a Bedrock guardrail; what was written before
  stays as text); a refusal the model wrote as its answer (a `refusal` part) is `completed`;
- usage: OpenAI counts cached tokens inside `input_tokens`, so the three disjoint Anthropic
  buckets are summed, the cache read reported as `input_tokens_details.cached_tokens` and the
  cache write as `cache_write_tokens` (both required by the SDK's `ResponseUsage`).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from aigateway.frontends.responses import web_search
from aigateway.frontends.responses.sealing import SealedBlock, Sealer
from aigateway.frontends.responses.tools import CUSTOM_INPUT, Toolbox
from aigateway.ir.messages import (
    Message,
    OutputBlock,
    RedactedThinkingBlock,
    RefusalBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    WebSearchToolResultBlock,
)
from aigateway.ir.usage import Usage

_INCOMPLETE = {"max_tokens": "max_output_tokens", "model_context_window_exceeded": "max_output_tokens"}
_INCOMPLETE["refusal"] = "content_filter"
# Echoed from the request into every response object, with the API's defaults (Response fields).
_ECHO: dict[str, Any] = {
    "instructions": None, "max_output_tokens": None, "metadata": {}, "parallel_tool_calls": True,
    "previous_response_id": None, "reasoning": {"effort": None, "summary": None}, "temperature": None,
    "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": None, "user": None,
    "safety_identifier": None, "prompt_cache_key": None,
}  # fmt: skip


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


@dataclass
class Shaper:
    """What one translated answer needs to be written as Response items and objects."""

    model: str  # as the client named it
    upstream_model: str
    raw: dict[str, Any]  # the client's body, for the echoed fields
    box: Toolbox
    sealer: Sealer
    seal: bool
    summary: bool
    id: str = field(default_factory=lambda: new_id("resp"))
    created_at: int = field(default_factory=lambda: int(time.time()))
    json_tool: str | None = None  # the forced tool standing for text.format: its input is the text
    store: bool = False  # the gateway keeps this response
    background: bool = False
    sealed: dict[str, str] = field(default_factory=dict)  # with `store`: reasoning item id -> sealed blocks
    sources: bool = False  # web_search_call items carry their sources (include)

    def is_json_answer(self, block: OutputBlock) -> bool:
        return isinstance(block, ToolUseBlock) and block.name == self.json_tool

    def response(self, status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "object": "response", "created_at": self.created_at}
        body.update(status=status, background=self.background, error=None, incomplete_details=None, model=self.model)
        body["output"] = output
        body.update({name: self.raw.get(name, default) for name, default in _ECHO.items()})
        body.update(store=self.store, usage=usage)
        return body

    def reasoning(self, item_id: str, blocks: list[SealedBlock]) -> dict[str, Any]:
        texts = [b.thinking for b in blocks if isinstance(b, ThinkingBlock) and b.thinking] if self.summary else []
        item: dict[str, Any] = {"id": item_id, "type": "reasoning"}
        item["summary"] = [{"type": "summary_text", "text": t} for t in texts]
        if self.seal or self.store:  # a kept response always has what the next turn needs
            sealed = self.sealer.seal(self.upstream_model, blocks)
            if self.store:
                self.sealed[item_id] = sealed
            if self.seal:
                item["encrypted_content"] = sealed
        return item

    def with_sealed(self, output: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`output` with every reasoning item's sealed blocks, as the store keeps it."""
        return [
            {**item, "encrypted_content": self.sealed[item["id"]]}
            if item.get("type") == "reasoning" and item.get("id") in self.sealed
            else item
            for item in output
        ]

    def call(self, item_id: str, block: ToolUseBlock, arguments: str | None = None) -> dict[str, Any]:
        name, namespace = self.box.client_name(block.name)
        item: dict[str, Any] = {"id": item_id, "status": "completed", "call_id": block.id, "name": name}
        if block.name in self.box.custom:
            item.update(type="custom_tool_call", input=custom_input(block.input))
        else:
            item.update(type="function_call", arguments=arguments or msgspec.json.encode(block.input).decode())
        if namespace is not None:
            item["namespace"] = namespace
        return {"type": item.pop("type"), **item}

    def item_prefix(self, block: OutputBlock) -> str:
        if isinstance(block, TextBlock) or self.is_json_answer(block):
            return "msg"
        if isinstance(block, ToolUseBlock):
            return "ctc" if block.name in self.box.custom else "fc"
        return "ws" if isinstance(block, ServerToolUseBlock) else "rs"


def message_item(item_id: str, text: str, status: str = "completed", *, refusal: bool = False) -> dict[str, Any]:
    part = content_part(text, refusal=refusal)
    return {"id": item_id, "type": "message", "status": status, "content": [part], "role": "assistant"}


def content_part(text: str, *, refusal: bool = False) -> dict[str, Any]:
    """A message's `output_text` part, or its `refusal` part (`ResponseOutputRefusal`)."""
    if refusal:
        return {"type": "refusal", "refusal": text}
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def custom_input(value: dict[str, Any]) -> str:
    text = value.get(CUSTOM_INPUT)
    return text if isinstance(text, str) else msgspec.json.encode(value).decode()


def status_of(stop_reason: str | None, refused: bool = False) -> tuple[str, dict[str, str] | None]:
    """`refused`: the output holds a `refusal` part, which is then the whole answer."""
    if refused and stop_reason == "refusal":
        return "completed", None
    reason = _INCOMPLETE.get(stop_reason or "")
    return ("incomplete", {"reason": reason}) if reason else ("completed", None)


def usage_of(usage: Usage, reasoning_tokens: int = 0) -> dict[str, Any]:
    prompt = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_input_tokens,
            "cache_write_tokens": usage.cache_creation_input_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": prompt + usage.output_tokens,
    }


def add_text(item: dict[str, Any], block: TextBlock) -> None:
    """Joins a text block to a message item's `output_text`, its web search citations annotated."""
    part = item["content"][0]
    start = len(part["text"])
    part["text"] += block.text
    part["annotations"] += web_search.url_citations(block.citations or [], start, len(part["text"]))


def from_ir(message: Message, usage: Usage, shaper: Shaper) -> bytes:
    return msgspec.json.encode(build(message, usage, shaper))


def build(message: Message, usage: Usage, shaper: Shaper) -> dict[str, Any]:
    output = _items(shaper, message.content)
    status, incomplete = status_of(message.stop_reason, any(isinstance(b, RefusalBlock) for b in message.content))
    details = message.usage.output_tokens_details
    body = shaper.response(status, output, usage_of(usage, details.thinking_tokens if details else 0))
    body["incomplete_details"] = incomplete
    return body


def _items(shaper: Shaper, blocks: list[OutputBlock]) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    text: dict[str, Any] | None = None  # the message item consecutive text blocks join
    searches: dict[str, tuple[dict[str, Any], ServerToolUseBlock]] = {}  # by call id: item, call
    for block in blocks:
        if isinstance(block, RefusalBlock):  # a part of another type: never joined with text
            text = None
            output.append(message_item(new_id("msg"), block.text, refusal=True))
            continue
        if isinstance(block, TextBlock):
            if text is None:
                output.append(text := message_item(new_id("msg"), ""))
            add_text(text, block)
            continue
        text = None
        if isinstance(block, ServerToolUseBlock):
            output.append(item := web_search.call_item(new_id("ws"), block, None, shaper.sources))
            searches[block.id] = item, block
        elif isinstance(block, WebSearchToolResultBlock):
            if block.tool_use_id not in searches:
                continue  # results of no call shown: nothing to say
            item, use = searches[block.tool_use_id]
            item.update(web_search.call_item(item["id"], use, block, shaper.sources))
            if shaper.seal:
                output.append(shaper.reasoning(new_id("rs"), [use, block]))
        else:
            output.append(_item(shaper, block))
    return output


def _item(shaper: Shaper, block: ToolUseBlock | ThinkingBlock | RedactedThinkingBlock) -> dict[str, Any]:
    item_id = new_id(shaper.item_prefix(block))
    if isinstance(block, ToolUseBlock) and shaper.is_json_answer(block):
        return message_item(item_id, msgspec.json.encode(block.input).decode())
    if isinstance(block, ToolUseBlock):
        return shaper.call(item_id, block)
    return shaper.reasoning(item_id, [block])
