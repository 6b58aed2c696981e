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
  an error, a failed function call, or closes before any `finishReason`, or sends an event that
  is not JSON or not a `GenerateContentResponse` (wire.py).

`PartWriter` is the part-to-block logic alone; response.py folds a whole answer through it too,
so a streamed answer and the same answer as JSON become the same Message.
"""

from __future__ import annotations

import secrets

import msgspec

from aigateway.ir.events import MessageDelta, MessageDeltaBody, MessageStop
from aigateway.ir.messages import ThinkingBlock
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import delta_usage
from aigateway.providers.blocks import BlockWriter
from aigateway.providers.gemini import signatures
from aigateway.providers.gemini.request import SYNTHETIC_ID_PREFIX
from aigateway.providers.gemini.stop_reason import FAILED_CALL, map_stop_reason
from aigateway.providers.gemini.usage import counted, thinking_tokens, usage_to_ir
from aigateway.providers.gemini.wire import CHUNK, Candidate, FunctionCall, Part, StreamChunk, UsageMetadata
from aigateway.providers.stream_decoder import Output, SSEStream

_decode = CHUNK.decode
_encode = msgspec.json.encode


class PartWriter:
    """Gemini parts to blocks, in order; `candidate()` takes one candidate of a response or chunk."""

    def __init__(self) -> None:
        self.writer = BlockWriter()
        self.has_tool_calls = False
        self.finish_reason: str | None = None

    def candidate(self, candidate: Candidate) -> None:
        content = candidate.content
        if content is not None and content.parts:
            for part in content.parts:
                self.part(part)
        if candidate.finish_reason:
            self.finish_reason = candidate.finish_reason

    def part(self, part: Part) -> None:
        signature = part.thought_signature
        text = part.text
        if part.thought is True and text:
            self.writer.thinking(text)
            if signature is not None:  # a signed thought is one part: more thought opens a new block
                self.writer.signature(signatures.encode("t", signature))
            return
        if signature is not None:  # an empty thought with a signature is a carrier too
            self._carry(signature)
        if part.function_call is not None:
            self._call(part.function_call)
        elif text is not None:
            self.writer.text(text)
        # Other parts (inlineData output, executableCode, ...) have no Anthropic block; the
        # gateway declares no tool that produces them.

    def _carry(self, signature: str) -> None:
        """The signature of the part about to be written rides on the thinking block before it."""
        if self.writer.open is not ThinkingBlock:
            self.writer.close()
        self.writer.signature(signatures.encode("n", signature))

    def _call(self, call: FunctionCall) -> None:
        self.has_tool_calls = True
        call_id = call.id or SYNTHETIC_ID_PREFIX + secrets.token_hex(12)
        self.writer.tool_start(call_id, call.name or "")
        self.writer.tool_arguments(_encode(call.args).decode() if call.args is not None else "{}")
        self.writer.close()


class GeminiStreamDecoder(SSEStream):
    def __init__(self, *, provider: str, message_id: str, model: str, input_tokens: int) -> None:
        super().__init__(provider=provider, message_id=message_id, model=model, input_tokens=input_tokens)
        self._parts = PartWriter()
        self._blocked = False
        self._raw_usage: UsageMetadata | None = None

    def _end(self) -> list[Output]:
        reason = self._parts.finish_reason
        if reason in FAILED_CALL:
            return self._fail(f"could not produce a valid function call ({reason})")
        if reason is None and not self._blocked:
            return self._fail("ended the stream before its finishReason")
        return self._complete()

    def _payload(self, data: str) -> list[Output]:
        try:
            chunk = _decode(data)
        except msgspec.ValidationError as exc:
            return self._fail(f"sent a stream event that is not a GenerateContentResponse ({exc})")
        except msgspec.DecodeError:
            return self._fail("sent a stream event that is not JSON")
        return self._chunk(chunk)

    def _chunk(self, chunk: StreamChunk) -> list[Output]:
        out = self._start()
        error = chunk.error
        if error is not None:
            return out + self._fail(f"reported an error mid-stream: {error.message or error.status}")
        if counted(chunk.usage_metadata):
            self._raw_usage = chunk.usage_metadata
        feedback = chunk.prompt_feedback
        if feedback is not None and feedback.block_reason:
            self._blocked = True
        if chunk.candidates:
            self._parts.candidate(chunk.candidates[0])
        return out + self._parts.writer.take()

    def _complete(self) -> list[Output]:
        out = self._start()
        writer = self._parts.writer
        writer.close()
        self._ended = True
        self.usage = usage_to_ir(self._raw_usage) or Usage(input_tokens=self._input_tokens)
        self.stop_reason = map_stop_reason(
            self._parts.finish_reason, has_tool_calls=self._parts.has_tool_calls, blocked=self._blocked
        )
        usage = delta_usage(self.usage, thinking_tokens(self._raw_usage))
        body = MessageDeltaBody(stop_reason=self.stop_reason)
        return [*out, *writer.take(), MessageDelta(delta=body, usage=usage), MessageStop()]

    def _fail(self, what: str) -> list[Output]:
        message = f"Upstream provider '{self._provider}' {what}"
        return self._fail_with("api_error", message, usage_to_ir(self._raw_usage))
