"""Gemini `streamGenerateContent?alt=sse` chunks to Anthropic stream events (spec §10.4).

`GeminiStreamDecoder.feed(bytes) -> events`, `finish() -> events`; all state in the instance, no
I/O. Each SSE `data:` line is a whole `GenerateContentResponse`; events are separated by CRLF
and the stream ends when the connection closes (no `[DONE]`), so the message is completed in
`finish()`. Guarantees:
- exactly one `message_start`, first, with the gateway's input-token count; the final
  `message_delta` carries Gemini's last (cumulative) `usageMetadata`;
- thought parts go to thinking blocks, text to text blocks, each `functionCall` (which arrives
  whole, several to a chunk at times) to a tool_use block with one `input_json_delta` holding
  its complete `args`; `BlockWriter` numbers and closes the blocks;
- every `thoughtSignature` is kept in a thinking block's signature (signatures.py);
- the stream ends with `message_delta` + `message_stop`, or one `StreamError` if Gemini reports
  an error, a failed function call, or closes before any `finishReason`.

`PartWriter` is the part-to-block logic alone; response.py folds a whole answer through it too,
so a streamed answer and the same answer as JSON become the same Message.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from aigateway.ir.events import Event, MessageDelta, MessageDeltaBody, MessageStart, MessageStop, StreamError
from aigateway.ir.messages import Message, ThinkingBlock
from aigateway.ir.usage import Usage
from aigateway.providers.blocks import BlockWriter
from aigateway.providers.gemini import signatures
from aigateway.providers.gemini.request import SYNTHETIC_ID_PREFIX
from aigateway.providers.gemini.stop_reason import FAILED_CALL, map_stop_reason
from aigateway.providers.gemini.usage import delta_usage, thinking_tokens, usage_to_ir, wire_usage
from aigateway.wire.sse import SSEDecoder

_decode = msgspec.json.Decoder().decode
Output = Event | StreamError


class PartWriter:
    """Gemini parts to blocks, in order; `candidate()` takes one candidate of a response or chunk."""

    def __init__(self) -> None:
        self.writer = BlockWriter()
        self.has_tool_calls = False
        self.finish_reason: str | None = None

    def candidate(self, candidate: dict[str, Any]) -> None:
        content = candidate.get("content") or {}
        for part in content.get("parts") or []:
            if isinstance(part, dict):
                self.part(part)
        if candidate.get("finishReason"):
            self.finish_reason = str(candidate["finishReason"])

    def part(self, part: dict[str, Any]) -> None:
        signature = part.get("thoughtSignature")
        call = part.get("functionCall")
        text = part.get("text")
        if part.get("thought") is True and isinstance(text, str) and text:
            self.writer.thinking(text)
            if isinstance(signature, str):
                self.writer.signature(signatures.encode("t", signature))
                self.writer.close()  # a signed thought is one part: more thought opens a new block
            return
        if isinstance(signature, str):  # an empty thought with a signature is a carrier too
            self._carry(signature)
        if isinstance(call, dict):
            self._call(call)
        elif isinstance(text, str):
            self.writer.text(text)
        # Other parts (inlineData output, executableCode, ...) have no Anthropic block; the
        # gateway declares no tool that produces them.

    def _carry(self, signature: str) -> None:
        """The signature of the part about to be written rides on the thinking block before it."""
        if self.writer.open is not ThinkingBlock:
            self.writer.close()
        self.writer.signature(signatures.encode("n", signature))
        self.writer.close()

    def _call(self, call: dict[str, Any]) -> None:
        self.has_tool_calls = True
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            call_id = SYNTHETIC_ID_PREFIX + secrets.token_hex(12)
        args = call.get("args")
        self.writer.tool_start(call_id, str(call.get("name") or ""))
        self.writer.tool_arguments(msgspec.json.encode(args if isinstance(args, dict) else {}).decode())
        self.writer.close()


class GeminiStreamDecoder:
    def __init__(self, *, provider: str, message_id: str, model: str, input_tokens: int) -> None:
        self._provider = provider
        self._sse = SSEDecoder()
        self._parts = PartWriter()
        self._id, self._model, self._input_tokens = message_id, model, input_tokens
        self._started = False
        self._ended = False
        self._blocked = False
        self._raw_usage: dict[str, Any] | None = None
        self.error: StreamError | None = None
        self.usage: Usage | None = None
        self.stop_reason: str | None = None

    def feed(self, chunk: bytes) -> list[Output]:
        _, events = self._sse.feed(chunk)
        return self._handle([e.data for e in events])

    def finish(self) -> list[Output]:
        _, events = self._sse.finish()
        out = self._handle([e.data for e in events])
        if self._ended:
            return out
        reason = self._parts.finish_reason
        if reason in FAILED_CALL:
            return out + self._fail(f"could not produce a valid function call ({reason})")
        if reason is None and not self._blocked:
            return out + self._fail("ended the stream before its finishReason")
        return out + self._complete()

    def _handle(self, payloads: list[str]) -> list[Output]:
        out: list[Output] = []
        for data in payloads:
            if self._ended:
                break
            try:
                chunk = _decode(data)
            except msgspec.DecodeError:
                out += self._fail("sent a stream event that is not JSON")
                break
            if isinstance(chunk, dict):
                out += self._chunk(chunk)
        return out

    def _chunk(self, chunk: dict[str, Any]) -> list[Output]:
        out: list[Output] = []
        if not self._started:
            self._started = True
            out.append(self._message_start())
        error = chunk.get("error")
        if isinstance(error, dict):
            return out + self._fail(f"reported an error mid-stream: {error.get('message') or error.get('status')}")
        if chunk.get("usageMetadata"):
            self._raw_usage = chunk["usageMetadata"]
        feedback = chunk.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            self._blocked = True
        candidates = chunk.get("candidates") or []
        if candidates and isinstance(candidates[0], dict):
            self._parts.candidate(candidates[0])
        return out + self._parts.writer.take()

    def _message_start(self) -> MessageStart:
        usage = wire_usage(Usage(input_tokens=self._input_tokens))
        return MessageStart(message=Message(id=self._id, model=self._model, content=[], stop_reason=None, usage=usage))

    def _complete(self) -> list[Output]:
        out: list[Output] = []
        if not self._started:
            self._started = True
            out.append(self._message_start())
        writer = self._parts.writer
        writer.close()
        self._ended = True
        self.usage = usage_to_ir(self._raw_usage) or Usage(input_tokens=self._input_tokens)
        self.stop_reason = map_stop_reason(
            self._parts.finish_reason, has_tool_calls=self._parts.has_tool_calls, blocked=self._blocked
        )
        usage = delta_usage(self.usage, thinking_tokens(self._raw_usage or {}))
        body = MessageDeltaBody(stop_reason=self.stop_reason)
        return [*out, *writer.take(), MessageDelta(delta=body, usage=usage), MessageStop()]

    def _fail(self, what: str) -> list[Output]:
        self._ended = True
        if self._raw_usage:
            self.usage = usage_to_ir(self._raw_usage)
        self.error = StreamError(error_type="api_error", message=f"Upstream provider '{self._provider}' {what}")
        out: list[Output] = []
        if not self._started:
            self._started = True
            out.append(self._message_start())
        return [*out, self.error]
