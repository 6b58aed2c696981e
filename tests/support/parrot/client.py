"""The parrot provider: request, answer and stream converters over the invented wire."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.events import (
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    DeltaUsage,
    Event,
    MessageDelta,
    MessageDeltaBody,
    MessageStart,
    MessageStop,
    StreamError,
    TextDelta,
)
from aigateway.ir.messages import Message, MessagesRequest, TextBlock, WireUsage, new_message_id
from aigateway.ir.usage import Usage
from aigateway.providers.base import PassthroughRequest, Prepared, StreamDecoder, TranslatingProvider, UpstreamResponse
from aigateway.wire.sse import SSEDecoder
from tests.support.parrot import wire

_STOP = {"stop": "end_turn", "length": "max_tokens"}


class ParrotProvider(TranslatingProvider):
    wire = "parrot"

    def prepare(self, request: MessagesRequest, upstream_model: str) -> Prepared:
        prompt = " ".join(b.text for m in request.messages for b in m.content if isinstance(b, TextBlock))
        body = {"model": upstream_model, "prompt": prompt, "max": request.max_tokens, "stream": request.stream}
        return Prepared(upstream_model, msgspec.json.encode(body), request.stream, [])

    async def send(self, prepared: Prepared) -> UpstreamResponse:
        headers = {"content-type": "application/json", "authorization": f"Bearer {self.config.api_key}"}
        return await self._post("generate", prepared.body, headers)

    async def passthrough(self, request: PassthroughRequest) -> UpstreamResponse:
        raise NotImplementedError("no client speaks parrot")

    def read_message(self, body: bytes, request: MessagesRequest, model: str) -> tuple[Message, Usage]:
        answer = wire.decode_answer(body)
        usage = Usage(input_tokens=answer.input, output_tokens=answer.output)
        message = Message(
            id=new_message_id(),
            model=model,
            content=[TextBlock(text=answer.text)],
            stop_reason=_STOP.get(answer.done or "stop", "end_turn"),
            usage=WireUsage(input_tokens=answer.input, output_tokens=answer.output),
        )
        return message, usage

    def stream_decoder(self, request: MessagesRequest, model: str, message_id: str, input_tokens: int) -> StreamDecoder:
        return ParrotStreamDecoder(model, message_id, input_tokens)

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        return UpstreamError(f"Upstream provider '{self.name}' answered {status}", provider=self.name, status=502)


class ParrotStreamDecoder:
    def __init__(self, model: str, message_id: str, input_tokens: int) -> None:
        self._sse = SSEDecoder()
        self._model, self._id, self._input = model, message_id, input_tokens
        self._open = False
        self.usage: Usage | None = None
        self.stop_reason: str | None = None
        self.error: StreamError | None = None

    def feed(self, chunk: bytes) -> list[Event | StreamError]:
        _, events = self._sse.feed(chunk)
        out: list[Event | StreamError] = []
        for ev in events:
            out += self._chunk(wire.decode_chunk(ev.data))
        return out

    def finish(self) -> list[Event | StreamError]:
        return []

    def _chunk(self, chunk: wire.Chunk) -> list[Event | StreamError]:
        out: list[Event | StreamError] = []
        if not self._open:
            self._open = True
            usage = WireUsage(input_tokens=self._input, output_tokens=0)
            start = Message(id=self._id, model=self._model, content=[], stop_reason=None, usage=usage)
            out += [MessageStart(message=start), ContentBlockStart(index=0, content_block=TextBlock(text=""))]
        if chunk.delta is not None:
            out.append(ContentBlockDelta(index=0, delta=TextDelta(text=chunk.delta)))
        if chunk.done is not None:
            self.stop_reason = _STOP.get(chunk.done, "end_turn")
            self.usage = Usage(input_tokens=chunk.input, output_tokens=chunk.output)
            body = MessageDeltaBody(stop_reason=self.stop_reason)
            delta_usage = DeltaUsage(input_tokens=chunk.input, output_tokens=chunk.output)
            out += [ContentBlockStop(index=0), MessageDelta(delta=body, usage=delta_usage), MessageStop()]
        return out
