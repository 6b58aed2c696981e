"""A request served by an upstream that speaks another protocol than the client's.

The door's request in the typed core (`ir`) is translated by the provider, and its answer
comes back through the core: a Message, or events the door encodes (`EncodedStream`). A
server that ignores `stream` is met where it is: its stream is folded into a Message, or its
Message unfolded into a stream, so the client always gets the mode it asked for.
What the upstream could not take is named in the `x-aigateway-dropped` response header and
logged, never dropped silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aigateway.asgi import Request
from aigateway.errors import UpstreamError
from aigateway.ir.accumulate import MessageAccumulator, events_of
from aigateway.ir.events import ContentBlockStart, Event, MessageStop, StreamError
from aigateway.ir.messages import Message, MessagesRequest, new_message_id
from aigateway.ir.usage import Usage
from aigateway.observability.logging import log
from aigateway.providers.base import Prepared, StreamDecoder, TranslatingProvider, UpstreamResponse
from aigateway.routing.catalog import Route


def prepare(provider: TranslatingProvider, request: MessagesRequest, route: Route, req: Request) -> Prepared:
    prepared = provider.prepare(request, route.upstream_model)
    if prepared.warnings:
        fields = {"request_id": req.id, "provider": route.provider, "dropped": prepared.warnings}
        log.warning("parameters dropped", extra={"fields": fields})
    return prepared


def dropped_header(prepared: Prepared) -> list[tuple[bytes, bytes]]:
    """The names the upstream could not take. They may be the client's own field names, so they
    are escaped (`\\r`, `\\xe9`): a header value must never be what fails an answer."""
    if not prepared.warnings:
        return []
    return [(b"x-aigateway-dropped", ", ".join(prepared.warnings).encode("unicode_escape"))]


def is_sse(upstream: UpstreamResponse) -> bool:
    """A streamed answer: SSE, or AWS's binary event stream (Bedrock ConverseStream)."""
    content_type = upstream.headers.get("content-type", "")
    return content_type.startswith(("text/event-stream", "application/vnd.amazon.eventstream"))


async def read_message(
    provider: TranslatingProvider, upstream: UpstreamResponse, request: MessagesRequest, route: Route
) -> tuple[Message, Usage]:
    """A whole answer; a server that streams although asked not to is folded into one."""
    body = await upstream.read()
    if not is_sse(upstream):
        return provider.read_message(body, request, route.model)
    decoder = provider.stream_decoder(request, route.model, new_message_id(), 0)
    fold = MessageAccumulator()
    for event in decoder.feed(body) + decoder.finish():
        fold.add(event)
    if decoder.error is not None:
        raise UpstreamError(
            decoder.error.message, provider=route.provider, status=502, error_type=decoder.error.error_type
        )
    return fold.result(), decoder.usage or Usage()


class WholeMessageDecoder:
    """The stream decoder for a server that answers a stream request with one JSON body."""

    def __init__(self, provider: TranslatingProvider, request: MessagesRequest, model: str) -> None:
        self._provider, self._request, self._model = provider, request, model
        self._body: list[bytes] = []
        self.usage: Usage | None = None
        self.stop_reason: str | None = None
        self.error: StreamError | None = None

    def feed(self, chunk: bytes) -> list[Event | StreamError]:
        self._body.append(chunk)
        return []

    def finish(self) -> list[Event | StreamError]:
        message, self.usage = self._provider.read_message(b"".join(self._body), self._request, self._model)
        self.stop_reason = message.stop_reason
        return list(events_of(message))


def decoder_for(
    provider: TranslatingProvider, upstream: UpstreamResponse, request: MessagesRequest, model: str, input_tokens: int
) -> StreamDecoder:
    """The provider's stream decoder, or one that unfolds a whole JSON answer into a stream."""
    if is_sse(upstream):
        return provider.stream_decoder(request, model, new_message_id(), input_tokens)
    return WholeMessageDecoder(provider, request, model)


class EncodedStream:
    """Upstream bytes in, a door's SSE bytes out (`render` writes an event, `render_error` an
    upstream failure); what the relay and the ledger read off a translated stream."""

    def __init__(
        self,
        decoder: StreamDecoder,
        render: Callable[[Event], bytes],
        render_error: Callable[[StreamError], bytes],
        input_tokens: int = 0,
    ):
        self._decoder, self._render_event, self._render_error = decoder, render, render_error
        self._input_tokens = input_tokens
        self.saw_stop = False
        self.error_type: str | None = None
        self.first_content_at: float | None = None
        self.error_message: str | None = None  # the decoder's own account of an upstream failure
        self.error_body: bytes | None = None  # a translated stream's errors are written by the door
        self._finished = False

    def feed(self, chunk: bytes) -> bytes:
        return self._render(self._decoder.feed(chunk))

    def finish(self) -> bytes:
        """The decoder's last events; later calls give nothing (the relay may ask twice)."""
        if self._finished:
            return b""
        self._finished = True
        return self._render(self._decoder.finish())

    @property
    def usage(self) -> Usage:
        return self._decoder.usage or Usage(input_tokens=self._input_tokens)

    @property
    def stop_reason(self) -> str | None:
        return self._decoder.stop_reason

    def _render(self, events: list[Event | StreamError]) -> bytes:
        out = []
        for event in events:
            if isinstance(event, StreamError):  # the decoder's last event
                self.error_type, self.error_message = event.error_type, event.message
                out.append(self._render_error(event))
                break
            if isinstance(event, ContentBlockStart) and self.first_content_at is None:
                self.first_content_at = time.monotonic()
            elif isinstance(event, MessageStop):
                self.saw_stop = True
            out.append(self._render_event(event))
        return b"".join(out)
