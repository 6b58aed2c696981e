"""Chat Completions chunks to Anthropic stream events (spec §10.2, "Streaming").

`OpenAIChatStreamDecoder.feed(bytes) -> events`, `finish() -> events`; all state in the
instance, no I/O. Guarantees, whatever the upstream's order:
- exactly one `message_start`, first, carrying the gateway's input-token count (upstreams
  report usage only at the end); the final `message_delta` carries the upstream's exact
  cumulative usage;
- reasoning, text, a `refusal` (a RefusalBlock) and each tool call in blocks of their own,
  numbered and closed by `BlockWriter`; interleaved parallel tool calls come out whole and
  ordered (`ToolCalls`);
- the stream ends with `message_delta` + `message_stop`, or with one `StreamError` when the
  upstream reports an error (`data: {"error": ...}`), sends an event that is not JSON, or
  stops before its finish reason.
Each event is read as a `wire.ChatChunk`: JSON that is not an object is skipped, and a member of
the wrong type reads as absent (lenient.py).
"""

from __future__ import annotations

import msgspec

from aigateway.ir.events import MessageDelta, MessageDeltaBody, MessageStop
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import delta_usage
from aigateway.providers.blocks import BlockWriter, ToolCalls
from aigateway.providers.openai import opaque, wire
from aigateway.providers.openai.profiles import Profile
from aigateway.providers.openai.response import content_part
from aigateway.providers.openai.stop_reason import map_stop_reason, matched_stop
from aigateway.providers.openai.usage import thinking_tokens, usage_to_ir
from aigateway.providers.stream_decoder import Output, SSEStream
from aigateway.providers.think_tags import ThinkTags

_NO_FUNCTION = wire.FunctionDelta()


class OpenAIChatStreamDecoder(SSEStream):
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
        super().__init__(provider=provider, message_id=message_id, model=model, input_tokens=input_tokens)
        self._writer = BlockWriter()
        self._tools = ToolCalls(self._writer)
        self._think = ThinkTags() if profile.think_tags else None
        self._held_text: list[tuple[str, str]] = []  # content that arrived while a call was open
        self._stop_sequences = stop_sequences
        self._finish_reason: str | None = None
        self._matched: str | int | None = None
        self._upstream_usage: wire.ChatUsage | None = None

    def _end(self) -> list[Output]:
        if self._finish_reason is None:
            return self._fail("api_error", "ended the stream before its finish reason")
        return self._complete()

    def _payload(self, data: str) -> list[Output]:
        if data == "[DONE]":
            return self._complete() if self._finish_reason is not None else []
        try:
            chunk = wire.decode_chunk(data)
        except msgspec.DecodeError:
            return self._fail("api_error", "sent a stream event that is not JSON")
        if chunk is None:  # JSON but not an object: nothing to read
            return []
        return self._chunk(chunk)

    def _chunk(self, chunk: wire.ChatChunk) -> list[Output]:
        out = self._start()
        error = chunk.error
        if error:
            message = error.message if isinstance(error, wire.ErrorObject) else error
            return out + self._fail("api_error", f"reported an error mid-stream: {message}")
        self._upstream_usage = wire.chunk_usage(chunk) or self._upstream_usage
        for choice in wire.first_choices(chunk):
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
            self._content("refusal", delta.refusal)
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
        elif kind == "refusal":
            self._writer.refusal(text)
        else:
            self._writer.text(text)

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
        message = f"Upstream provider '{self._provider}' {what}"
        return self._fail_with(error_type, message, usage_to_ir(self._upstream_usage))
