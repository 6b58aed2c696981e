"""The core's stream events to Chat Completions chunks (`chat.completion.chunk`, openai-python
`types/chat/chat_completion_chunk.py`), and the relay's view of a translated stream.

`OpenAIChatStreamEncoder.encode(event) -> bytes` is pure, one per stream, all state inside:
- the first chunk carries `delta.role` ("assistant") and `content` ("" or null, see `_role`);
- text deltas become `delta.content`, a refusal's `delta.refusal`, thinking deltas
  `delta.reasoning_content`;
- each tool_use block is one `tool_calls` entry: its first chunk has `index`, `id`, `type` and
  `function.name` with empty arguments, each `input_json_delta` then one `function.arguments`
  fragment under the same index (the indices count tool calls, 0, 1, ..., not blocks); except
  the forced tool standing for `response_format` (`json_tool`), whose fragments are the content;
- `message_stop` gives the chunk with `finish_reason`, then, when the client asked with
  `stream_options.include_usage`, a chunk with `choices: []` and the usage (every earlier chunk
  then says `"usage": null`, as OpenAI's do), then `data: [DONE]`.
An in-stream error becomes `data: {"error": {...}}` and the stream ends without `[DONE]`.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from aigateway.frontends.openai.response import map_finish_reason, openai_usage
from aigateway.ir.events import (
    ContentBlockDelta,
    ContentBlockStart,
    Event,
    InputJsonDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    TextDelta,
    ThinkingDelta,
)
from aigateway.ir.messages import OutputBlock, RefusalBlock, TextBlock, ThinkingBlock, ToolUseBlock
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import take_delta

_encode = msgspec.json.encode
DONE = b"data: [DONE]\n\n"


class OpenAIChatStreamEncoder:
    def __init__(
        self,
        *,
        completion_id: str,
        model: str,
        include_usage: bool,
        created: int | None = None,
        json_tool: str | None = None,
    ) -> None:
        head = {"id": completion_id, "object": "chat.completion.chunk", "created": created or int(time.time())}
        head["model"] = model
        self._head = _encode(head)[:-1] + b',"choices":['  # the fixed fields, once
        self._tail = b'],"usage":null}' if include_usage else b"]}"
        self._include_usage = include_usage
        self._tool_index: dict[int, int] = {}  # block index -> tool call index
        self._refusals: set[int] = set()  # the blocks whose text is a refusal
        self._usage = Usage()
        self._thinking_tokens = 0
        self._stop_reason: str | None = None
        self._said_role = False
        self._json_tool = json_tool  # response_format json_object: this call's input is the content
        self._json_block: int | None = None

    def encode(self, event: Event) -> bytes:
        if isinstance(event, MessageStart):
            u = event.message.usage
            self._usage = Usage(
                u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens
            )
            return b""  # the role chunk waits for the first block (see `_role`)
        if isinstance(event, ContentBlockStart):
            return self._role(event.content_block) + self._start(event)
        if isinstance(event, ContentBlockDelta):
            return self._content(event)
        if isinstance(event, MessageDelta):
            self._stop_reason = event.delta.stop_reason
            thinking = take_delta(self._usage, event.usage)
            self._thinking_tokens = self._thinking_tokens if thinking is None else thinking
            return b""
        if isinstance(event, MessageStop):
            return self._role(None) + self._end()
        return b""  # ping, content_block_stop: nothing to say in this protocol

    def _role(self, first: OutputBlock | None) -> bytes:
        """The first chunk: `content` is "" when text comes, null when the answer opens with
        something else, as OpenAI's own streams say (so accumulators end with the same value)."""
        if self._said_role:
            return b""
        self._said_role = True
        if isinstance(first, RefusalBlock):
            return self._delta({"role": "assistant", "content": None, "refusal": ""})
        text = isinstance(first, TextBlock) or first is None
        text = text or (isinstance(first, ToolUseBlock) and first.name == self._json_tool)
        return self._delta({"role": "assistant", "content": "" if text else None})

    def _start(self, event: ContentBlockStart) -> bytes:
        block = event.content_block
        if isinstance(block, ToolUseBlock) and block.name == self._json_tool:
            self._json_block = event.index
            return b""
        if isinstance(block, ToolUseBlock):
            index = self._tool_index[event.index] = len(self._tool_index)
            call = {"index": index, "id": block.id, "type": "function"}
            call["function"] = {"name": block.name, "arguments": ""}
            return self._delta({"tool_calls": [call]})
        if isinstance(block, RefusalBlock):
            self._refusals.add(event.index)
            return self._delta({"refusal": block.text}) if block.text else b""
        if isinstance(block, TextBlock) and block.text:
            return self._delta({"content": block.text})
        if isinstance(block, ThinkingBlock) and block.thinking:
            return self._delta({"reasoning_content": block.thinking})
        return b""

    def _content(self, event: ContentBlockDelta) -> bytes:
        delta = event.delta
        if isinstance(delta, TextDelta) and delta.text:
            return self._delta({"refusal" if event.index in self._refusals else "content": delta.text})
        if isinstance(delta, ThinkingDelta) and delta.thinking:
            return self._delta({"reasoning_content": delta.thinking})
        if isinstance(delta, InputJsonDelta) and delta.partial_json and event.index == self._json_block:
            return self._delta({"content": delta.partial_json})
        if isinstance(delta, InputJsonDelta) and delta.partial_json and event.index in self._tool_index:
            call = {"index": self._tool_index[event.index], "function": {"arguments": delta.partial_json}}
            return self._delta({"tool_calls": [call]})
        return b""  # signatures have no OpenAI form

    def _end(self) -> bytes:
        stop = self._stop_reason
        if self._json_block is not None and stop == "tool_use" and not self._tool_index:
            stop = "end_turn"  # the forced json tool answered: a plain stop for the client
        finish_reason = map_finish_reason(stop, bool(self._refusals))
        finish = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish_reason}
        out = self._chunk(finish)
        if self._include_usage:
            usage = _encode(openai_usage(self._usage, self._thinking_tokens))
            out += b"data: " + self._head + b'],"usage":' + usage + b"}\n\n"
        return out + DONE

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return self._chunk({"index": 0, "delta": delta, "logprobs": None, "finish_reason": None})

    def _chunk(self, choice: dict[str, Any]) -> bytes:
        return b"data: " + self._head + _encode(choice) + self._tail + b"\n\n"
