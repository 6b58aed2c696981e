"""Chat Completions chunks to Anthropic stream events (spec §10.2, "Streaming").

`OpenAIChatStreamDecoder.feed(bytes) -> events`, `finish() -> events`; all state in the
instance, no I/O. Guarantees, whatever the upstream's order:
- exactly one `message_start`, first, carrying the gateway's input-token count (upstreams
  report usage only at the end); the final `message_delta` carries the upstream's exact
  cumulative usage;
- reasoning, text and each tool call in blocks of their own, numbered and closed by
  `BlockWriter`; interleaved parallel tool calls come out whole and ordered (`ToolCalls`);
- the stream ends with `message_delta` + `message_stop`, or with one `StreamError` when the
  upstream reports an error (`data: {"error": ...}`), sends an event that is not JSON, or
  stops before its finish reason.
Each event is read as a `wire.ChatChunk`: JSON that is not an object is skipped, and a member of
the wrong type reads as absent (lenient.py).
"""

from __future__ import annotations

import msgspec

from aigateway.ir.events import Event, MessageDelta, MessageDeltaBody, MessageStart, MessageStop, StreamError
from aigateway.ir.messages import Message
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import delta_usage, wire_usage
from aigateway.providers.blocks import BlockWriter, ToolCalls
from aigateway.providers.openai import opaque, wire
from aigateway.providers.openai.profiles import Profile
from aigateway.providers.openai.response import content_part
from aigateway.providers.openai.stop_reason import map_stop_reason, matched_stop
from aigateway.providers.openai.usage import thinking_tokens, usage_to_ir
from aigateway.providers.think_tags import ThinkTags
from aigateway.wire.sse import SSEDecoder

Output = Event | StreamError
_NO_FUNCTION = wire.FunctionDelta()


class OpenAIChatStreamDecoder:
    def __init__(
        self,
        *,
        provider: str,
        message_id: str,
        model: str,
        input_tokens: int,
        profile: Profile,
        stop_sequences: list[str] | None,
    ) -> None:
        self._provider = provider
        self._sse = SSEDecoder()
        self._writer = BlockWriter()
        self._tools = ToolCalls(self._writer)
        self._think = ThinkTags() if profile.think_tags else None
        self._held_text: list[tuple[str, str]] = []  # content that arrived while a call was open
        self._id, self._model, self._input_tokens = message_id, model, input_tokens
        self._stop_sequences = stop_sequences
        self._started = False
        self._finish_reason: str | None = None
        self._matched: str | int | None = None
        self._upstream_usage: wire.ChatUsage | None = None
        self._ended = False
        self.error: StreamError | None = None
        self.usage: Usage | None = None  # the upstream's, once known
        self.stop_reason: str | None = None

    def feed(self, chunk: bytes) -> list[Output]:
        _, events = self._sse.feed(chunk)
        return self._handle([e.data for e in events])

    def finish(self) -> list[Output]:
        _, events = self._sse.finish()
        out = self._handle([e.data for e in events])
        if not self._ended:
            if self._finish_reason is None:
                out += self._fail("api_error", "ended the stream before its finish reason")
            else:
                out += self._complete()
        return out

    def _handle(self, payloads: list[str]) -> list[Output]:
        out: list[Output] = []
        for data in payloads:
            if self._ended:
                break
            if data == "[DONE]":
                if self._finish_reason is not None:
                    out += self._complete()
                continue
            try:
                chunk = wire.decode_chunk(data)
            except msgspec.DecodeError:
                out += self._fail("api_error", "sent a stream event that is not JSON")
                break
            if chunk is not None:  # JSON but not an object: nothing to read
                out += self._chunk(chunk)
        return out

    def _chunk(self, chunk: wire.ChatChunk) -> list[Output]:
        out: list[Output] = []
        if not self._started:
            self._started = True
            out.append(self._message_start())
        error = chunk.error
        if error:
            message = error.message if isinstance(error, wire.ErrorObject) else error
            return out + self._fail("api_error", f"reported an error mid-stream: {message}")
        usage = chunk.usage or (chunk.x_groq.usage if chunk.x_groq else None)  # Groq's own place
        if usage:
            self._upstream_usage = usage
        for choice in chunk.choices or ():
            if choice.index == 0:
                self._choice(choice)
        return out + self._writer.take()

    def _choice(self, choice: wire.ChunkChoice) -> None:
        if choice.delta:
            self._delta(choice.delta)
        if choice.finish_reason:
            self._finish_reason = self._finish_reason or choice.finish_reason
            self._matched = matched_stop(choice)

    def _delta(self, delta: wire.Delta) -> None:
        reasoning = delta.reasoning_content or delta.reasoning
        if reasoning:
            self._content("thinking", reasoning)
        for item in delta.reasoning_details or ():
            if opaque.is_encrypted(item):
                self._content("redacted", opaque.encode([item]))
        content = delta.content
        if isinstance(content, str):
            for kind, text in self._think.feed(content) if self._think else [("text", content)]:
                self._content(kind, text)
        elif content:
            for part in content:
                self._content(*content_part(part))
        if delta.refusal:
            self._content("text", delta.refusal)
            self._finish_reason = "content_filter"
        for call in delta.tool_calls or ():
            function = call.function or _NO_FUNCTION
            self._tools.fragment(call.index, call.id, function.name, function.arguments)

    def _content(self, kind: str, text: str) -> None:
        if not text:
            return
        if self._tools.seen and not self._tools.close_live():
            self._held_text.append((kind, text))  # a call is mid-arguments: text waits for it
            return
        if kind == "thinking":
            self._writer.thinking(text)
        elif kind == "redacted":
            self._writer.redacted(text)
        else:
            self._writer.text(text)

    def _message_start(self) -> MessageStart:
        usage = wire_usage(Usage(input_tokens=self._input_tokens))
        message = Message(id=self._id, model=self._model, content=[], stop_reason=None, usage=usage)
        return MessageStart(message=message)

    def _complete(self) -> list[Output]:
        if self._think:
            for kind, text in self._think.finish():
                self._content(kind, text)
        self._tools.flush()
        for kind, text in self._held_text:
            self._content(kind, text)
        self._writer.close()
        self.usage = usage_to_ir(self._upstream_usage) or Usage(input_tokens=self._input_tokens)
        self.stop_reason, stop_sequence = map_stop_reason(
            self._finish_reason,
            has_tool_calls=self._tools.seen,
            matched=self._matched,
            stop_sequences=self._stop_sequences,
        )
        self._ended = True
        usage = delta_usage(self.usage, thinking_tokens(self._upstream_usage))
        body = MessageDeltaBody(stop_reason=self.stop_reason, stop_sequence=stop_sequence)
        return [*self._writer.take(), MessageDelta(delta=body, usage=usage), MessageStop()]

    def _fail(self, error_type: str, what: str) -> list[Output]:
        self._ended = True
        if self._upstream_usage:
            self.usage = usage_to_ir(self._upstream_usage)
        self.error = StreamError(error_type=error_type, message=f"Upstream provider '{self._provider}' {what}")
        out: list[Output] = []
        if not self._started:
            self._started = True
            out.append(self._message_start())
        return [*out, self.error]
