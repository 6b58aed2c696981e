"""A `/v1/messages` or count_tokens request, as the pipeline's `Exchange` (pipeline/exchange.py).

An upstream that speaks Anthropic's protocol gets the client's bytes with only the model id
swapped and every `anthropic-*` header; any other gets the body parsed into the core once and
translated per attempt, its answer written back as a Message or as Anthropic SSE.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.asgi import JSON, Request
from aigateway.frontends.anthropic.errors import stream_error_event
from aigateway.frontends.anthropic.request import CountTokensHead, MessagesHead
from aigateway.gateway import Gateway
from aigateway.ir.events import EVENT_NAMES, Event, StreamError
from aigateway.ir.messages import Message, MessagesRequest, parse_request
from aigateway.ir.usage import Usage
from aigateway.pipeline import caching, response_cache
from aigateway.pipeline.attempt import Streaming, Whole, route_names
from aigateway.pipeline.exchange import Exchange
from aigateway.pipeline.relay import Ending
from aigateway.pipeline.translate import EncodedStream
from aigateway.providers.base import PassthroughRequest, Provider, StreamDecoder, StreamRelay, TranslatingProvider
from aigateway.routing.catalog import Route
from aigateway.tokens import COUNT_HEADER, count_header
from aigateway.wire import document
from aigateway.wire.body import Members, replace_model
from aigateway.wire.sse import encode_event

_encode = msgspec.json.encode

# A stream is finished by `message_stop`; a failure after the commit point is one error event.
ENDING = Ending(
    finished=lambda relay: relay.saw_stop,
    unfinished="message_stop",
    error=lambda exc, request_id, sep: sep + stream_error_event("api_error", exc.message, request_id),
)


class MessagesExchange(Exchange):
    protocol = "anthropic"

    def __init__(self, gw: Gateway, req: Request, body: bytes, head: CountTokensHead, members: Members) -> None:
        super().__init__(req)
        self.gw, self.body, self.head, self._members = gw, body, head, members
        self.stream = isinstance(head, MessagesHead) and bool(head.stream)
        self._raw: dict[str, Any] | None = None
        self._request: MessagesRequest | None = None

    def cache_material(self, body: bytes) -> bytes:
        return response_cache.from_members(self._members)  # read with the head: no second scan

    @property
    def raw(self) -> dict[str, Any]:
        """The body decoded (already checked to be a JSON object by `parse_head`), once."""
        if self._raw is None:
            self._raw = document.decode(self.body, self.gw.settings.server.max_json_depth)
        return self._raw

    @property
    def request(self) -> MessagesRequest:
        if self._request is None:
            self._request = parse_request(self.raw)
        return self._request

    def passthrough_request(self, route: Route, provider: Provider) -> PassthroughRequest:
        req = self.req
        return PassthroughRequest(
            req.path + ("?" + req.query.decode("latin-1") if req.query else ""),
            replace_model(self.body, self.head.model, route.upstream_model),
            # every `anthropic-*` header, verbatim: versions and beta flags are not ours to filter
            {k.decode("latin-1"): v.decode("latin-1") for k, v in req.headers.items() if k.startswith(b"anthropic-")},
            stream=self.stream,
        )

    def mark_passthrough(self, request: PassthroughRequest, route: Route, provider: Provider) -> int:
        style = provider.prompt_cache(route.upstream_model)
        if style is None or not isinstance(self.head, MessagesHead) or not caching.wanted(self.caching, None):
            return 0
        request.body, added = caching.mark_body(request.body, self.raw, automatic=style == "automatic")
        return added

    def to_ir(self, route: Route, provider: TranslatingProvider) -> tuple[MessagesRequest, list[str]]:
        return self.request, []

    def render(self, message: Message, usage: Usage, route: Route) -> bytes:
        return _encode(message)

    def encode(self, decoder: StreamDecoder, route: Route, input_tokens: int) -> StreamRelay:
        request_id = self.req.id

        def error(event: StreamError) -> bytes:
            return stream_error_event(event.error_type, event.message, request_id)

        return EncodedStream(decoder, _anthropic_event, error, input_tokens)

    async def input_tokens(self, route: Route) -> int:
        return (await self.gw.token_counts.count_async(self.body, route.upstream_model, self.raw)).input_tokens


class CountTokensExchange(MessagesExchange):
    """count_tokens: passed through where the upstream counts Claude's tokens itself; elsewhere
    the provider's own counter (Gemini's countTokens), else a real tokenizer, marked as such."""

    @property
    def request(self) -> MessagesRequest:
        if self._request is None:
            self._request = parse_request({**self.raw, "max_tokens": 1})
        return self._request

    def answer_usage(self, route: Route, provider: Provider, body: bytes) -> tuple[Usage | None, str | None]:
        return None, None

    async def translated(self, route: Route, provider: Provider) -> Whole | Streaming:
        counted = await provider.count_tokens(self.request, route.upstream_model)  # validates as a message
        if counted is not None:
            by_provider = (COUNT_HEADER.encode(), f"counted; provider={route.provider}".encode())
            return Whole(b'{"input_tokens":%d}' % counted, JSON, [*route_names(route), by_provider])
        count = await self.gw.token_counts.count_async(self.body, route.upstream_model, self.raw)
        name, value = count_header(count)
        body = b'{"input_tokens":%d}' % count.input_tokens
        return Whole(body, JSON, [*route_names(route), (name.encode(), value.encode())])


def _anthropic_event(event: Event) -> bytes:
    return encode_event(EVENT_NAMES[type(event)], _encode(event))
