"""A client request as its door parsed it, and how one attempt of it reaches an upstream.

`Exchange.start(attempt)` is the same for every door:
- an upstream that speaks the door's protocol for the attempt's model (`protocol`) gets a
  `PassthroughRequest` the door builds (the client's bytes with the model id swapped); its
  answer goes back as it came, tapped by the provider (which knows its own wire) for usage,
  stop reason and errors;
- any other upstream gets the request through the core: the door's `to_ir`, the provider's
  translation, and back through the door's `render` (a whole answer) or `encode` (a stream).
Each attempt may reach another provider or model, so both are built per attempt. A door with
an operation that is not a generation (count_tokens, embeddings) overrides `translated`.
Prompt-cache breakpoints (caching.py) are added per attempt, where the upstream takes them
(`Provider.prompt_cache`): to the core request here, to a passthrough body by the door that
knows its shape (`mark_passthrough`); `x-aigateway-cache-breakpoints` says how many.
"""

from __future__ import annotations

import abc
import time

from aigateway.asgi import JSON, Request
from aigateway.errors import UpstreamError
from aigateway.ir.messages import Message, MessagesRequest
from aigateway.ir.usage import Usage
from aigateway.pipeline import caching, response_cache
from aigateway.pipeline.attempt import Streaming, Whole, route_headers, until_commit
from aigateway.pipeline.translate import decoder_for, dropped_header, prepare, read_message
from aigateway.providers.base import (
    PassthroughRequest,
    Provider,
    StreamDecoder,
    StreamRelay,
    TranslatingProvider,
    UpstreamResponse,
)
from aigateway.routing.catalog import Route
from aigateway.routing.plan import Attempt
from aigateway.wire.body import read_members


class Exchange(abc.ABC):
    protocol: str  # the upstream wire this door passes requests through to
    stream: bool  # the client asked for a stream
    caching: str | None = None  # the request's `caching` option, set by serve.py
    shares_cache = True  # its response-cache entries may serve other keys (`response_cache.shared`)

    def __init__(self, req: Request) -> None:
        self.req = req

    async def start(self, attempt: Attempt) -> Whole | Streaming:
        if attempt.lane.provider.speaks(self.protocol, attempt.route.upstream_model):
            return await self._passthrough(attempt.route, attempt.lane.provider)
        return await self.translated(attempt.route, attempt.lane.provider)

    # --- what each door says -------------------------------------------------------------------

    @abc.abstractmethod
    def passthrough_request(self, route: Route, provider: Provider) -> PassthroughRequest:
        """The client's request for this upstream: its bytes with only the model id changed."""

    def answer_usage(self, route: Route, provider: Provider, body: bytes) -> tuple[Usage | None, str | None]:
        """Usage and stop reason of a whole passthrough answer."""
        return provider.passthrough_usage(body)

    @abc.abstractmethod
    def to_ir(self, route: Route, provider: TranslatingProvider) -> tuple[MessagesRequest, list[str]]:
        """The request in the core for this attempt, and what it had to leave out."""

    @abc.abstractmethod
    def render(self, message: Message, usage: Usage, route: Route) -> bytes:
        """A whole translated answer in the door's protocol."""

    @abc.abstractmethod
    def encode(self, decoder: StreamDecoder, route: Route, input_tokens: int) -> StreamRelay:
        """A translated stream in the door's protocol (`input_tokens`: `input_tokens(route)`)."""

    def cache_material(self, body: bytes) -> bytes:
        """What the response cache's key hashes of this request (response_cache.py). A door that
        has read the body's members or values already gives those, so nothing reads it again."""
        return response_cache.from_members(read_members(body))

    def mark_passthrough(self, request: PassthroughRequest, route: Route, provider: Provider) -> int:
        """Adds the gateway's prompt-cache breakpoints to a passthrough body, if it should; how many."""
        return 0

    def streams(self, upstream: UpstreamResponse) -> bool:
        """Whether a 200 to a stream request is a stream (a server may ignore `stream`)."""
        return True

    async def input_tokens(self, route: Route) -> int:
        """The gateway's count of the input, for streams whose upstream reports usage late (the
        first count for a model family waits for its tokenizer to load, off the event loop)."""
        return 0

    # --- the two ways to an upstream -------------------------------------------------------------

    async def _passthrough(self, route: Route, provider: Provider) -> Whole | Streaming:
        started = time.monotonic()
        request = self.passthrough_request(route, provider)
        marks = caching.header(self.mark_passthrough(request, route, provider))
        upstream = await provider.passthrough(request)
        try:
            if self.stream and upstream.status == 200 and self.streams(upstream):
                tap = provider.passthrough_tap(request)
                return await until_commit(route, upstream, tap, route_headers(route, upstream) + marks, started)
            body = await upstream.read()
            if upstream.status >= 400:
                raise provider.passthrough_error(upstream.status, body, upstream.headers)
            usage, stop_reason = self.answer_usage(route, provider, body)
            content_type = upstream.headers.get("content-type", "application/json").encode("latin-1")
            return Whole(body, content_type, route_headers(route, upstream) + marks, usage, stop_reason)
        except BaseException:
            upstream.close()
            raise

    async def translated(self, route: Route, provider: Provider) -> Whole | Streaming:
        started = time.monotonic()
        if not isinstance(provider, TranslatingProvider):
            raise UpstreamError(
                f"Upstream provider '{route.provider}' cannot serve this request", provider=route.provider, status=502
            )
        request, dropped = self.to_ir(route, provider)
        request, added = self._cache_marks(request, route, provider)
        provider = provider.translator_for(route.upstream_model)
        prepared = prepare(provider, request, route, self.req)
        prepared.warnings = dropped + prepared.warnings
        upstream = await provider.send(prepared)
        try:
            if upstream.status >= 400:
                raise provider.error(upstream.status, await upstream.read(), upstream.headers)
            headers = route_headers(route, upstream) + dropped_header(prepared) + caching.header(added)
            if not request.stream:
                message, usage = await read_message(provider, upstream, request, route)
                return Whole(self.render(message, usage, route), JSON, headers, usage, message.stop_reason)
            tokens = await self.input_tokens(route)
            decoder = decoder_for(provider, upstream, request, route.model, tokens)
            return await until_commit(route, upstream, self.encode(decoder, route, tokens), headers, started)
        except BaseException:
            upstream.close()
            raise

    def _cache_marks(self, request: MessagesRequest, route: Route, provider: Provider) -> tuple[MessagesRequest, int]:
        style = provider.prompt_cache(route.upstream_model)
        if style is None or not caching.wanted(self.caching, request):
            return request, 0
        return caching.mark_request(request, automatic=style == "automatic")
