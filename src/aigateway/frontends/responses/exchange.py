"""A `/v1/responses` (or `/v1/responses/input_tokens`) request, as the pipeline's `Exchange`
(pipeline/exchange.py).

- an upstream that serves the Responses API for the model (`Provider.speaks("responses", ...)`:
  OpenAI, Azure OpenAI) gets the client's bytes with only the model id swapped; its answer comes
  back byte for byte, tapped by the provider for usage (`response.completed`) and errors;
- any other goes through the core: request.py per attempt, the provider's translation, then
  response.py or stream.py on the way back;
- a stream that fails after its commit point ends with an `error` event numbered after the
  last event the client had (`failure_event`), then `response.failed` (on passthrough, from the
  last response object and the finished items the upstream showed);
- a conversation continued from `previous` (history.py) reaches each upstream whole, except
  one that keeps the previous response itself; with `keep`, a finished answer becomes the
  record the store keeps (`kept`), its reasoning always sealed;
- a background response (`background`, background.py) has its id before any attempt, and is
  always streamed from the upstream; a Responses API upstream gets it without `background` and
  with `store: false` (the gateway keeps it, under its own id).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from aigateway.asgi import JSON, Request
from aigateway.errors import GatewayError
from aigateway.frontends.request_openai import JSON_TOOL, with_model
from aigateway.frontends.responses import request, response
from aigateway.frontends.responses.history import Previous, for_core, for_storage, for_upstream, input_items
from aigateway.frontends.responses.items import Conversation
from aigateway.frontends.responses.request import DEFAULT_MAX_OUTPUT
from aigateway.frontends.responses.response import Shaper
from aigateway.frontends.responses.sealing import sealer_for
from aigateway.frontends.responses.stream import ResponsesStreamEncoder
from aigateway.frontends.responses.tools import Toolbox
from aigateway.gateway import Gateway
from aigateway.ir.events import StreamError
from aigateway.ir.messages import Message, MessagesRequest
from aigateway.ir.usage import Usage
from aigateway.pipeline import response_cache
from aigateway.pipeline.attempt import Streaming, Whole, route_names
from aigateway.pipeline.exchange import Exchange
from aigateway.pipeline.relay import Ending
from aigateway.pipeline.translate import EncodedStream, is_sse
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
from aigateway.store.responses import Kept
from aigateway.tokens import COUNT_HEADER, TokenCount, count_header
from aigateway.wire.sse import encode_event

_encode = msgspec.json.encode


class ResponsesExchange(Exchange):
    protocol = "responses"
    endpoint = "responses"
    shares_cache = False  # an answer carries a response id that only its own key may read or continue

    def __init__(
        self, gw: Gateway, req: Request, body: bytes, raw: dict[str, Any], had_options: bool, *, keep: bool = False
    ) -> None:
        super().__init__(req)
        self.gw, self.body, self.raw, self._had_options = gw, body, raw, had_options
        self.stream = bool(raw.get("stream"))
        self.sealer = sealer_for(gw.settings.admin_key, gw.settings.data_dir)
        self.keep = keep  # the gateway keeps the answer (`store`, and its store is on)
        self.previous: Previous | None = None  # the conversation `previous_response_id` continues
        self._shaper: Shaper | None = None  # set by `to_ir` for the attempt under way
        self._encoder: ResponsesStreamEncoder | None = None
        self._relay: StreamRelay | None = None
        self._ir: MessagesRequest | None = None
        self._core_raw: tuple[dict[str, Any], list[str]] | None = None
        self._route: Route | None = None  # the attempt under way, and whether it passes through
        self._passes = False
        self._answer: dict[str, Any] | bytes | None = None  # a whole answer, for `kept`
        # background mode: the response's id and creation time, given in advance, and what
        # must happen once admitted, before the first attempt (the response is created)
        self.background: tuple[str, int] | None = None
        self.before_first_attempt: Callable[[], Awaitable[None]] | None = None

    async def start(self, attempt: Attempt) -> Whole | Streaming:
        provider, self._route = attempt.lane.provider, attempt.route
        self._passes = provider.speaks(self.protocol, attempt.route.upstream_model)
        if self.before_first_attempt is not None:
            if not self._passes and isinstance(provider, TranslatingProvider):
                self.to_ir(attempt.route, provider)  # what the core cannot carry: a 400 before it exists
            ready, self.before_first_attempt = self.before_first_attempt, None
            await ready()
        self._encoder, self._relay, self._answer = None, None, None
        opened = await super().start(attempt)
        if isinstance(opened, Streaming):
            self._relay = opened.relay  # for `failure_event`
        return opened

    def cache_material(self, body: bytes) -> bytes:
        return response_cache.from_values(self.raw)  # decoded already: not read again

    def ending(self) -> Ending:
        """How this door's streams finish and fail (pipeline/relay.py)."""
        return Ending(
            finished=lambda relay: relay.saw_stop,
            unfinished="response.completed",
            error=lambda exc, _request_id, sep: sep + self.failure_event(exc),
        )

    def max_output(self) -> int:
        """The most tokens the request may generate, for admission."""
        limit = self.raw.get("max_output_tokens")
        return limit if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_OUTPUT

    def admission_body(self) -> bytes:
        """The body admission estimates from: for a continued conversation, with its history."""
        if self.previous is None:
            return self.body
        return _encode({**self.raw, "input": [*self.previous.items, *input_items(self.raw.get("input"))]})

    # --- passthrough -----------------------------------------------------------------------------

    def passthrough_request(self, route: Route, provider: Provider) -> PassthroughRequest:
        path = provider.path_for(route.upstream_model, self.endpoint)
        raw, rewrite = self.raw, self._had_options  # the gateway's own options came out of the body
        previous = self.previous
        if previous is not None and previous.upstream != route.provider:  # the history goes up whole
            history = [*for_upstream(previous.items), *input_items(raw.get("input"))]
            raw = {k: v for k, v in raw.items() if k != "previous_response_id"} | {"input": history}
            rewrite = True
        if self.background is not None:  # run here, kept here
            raw = {k: v for k, v in raw.items() if k != "background"} | {"stream": True, "store": False}
            rewrite = True
        if rewrite:
            body = _encode({**raw, "model": route.upstream_model})
        else:
            body = with_model(self.body, route.upstream_model)
        return PassthroughRequest(path, body, {}, stream=self.stream)

    def answer_usage(self, route: Route, provider: Provider, body: bytes) -> tuple[Usage | None, str | None]:
        self._answer = body
        return super().answer_usage(route, provider, body)

    def streams(self, upstream: UpstreamResponse) -> bool:
        return is_sse(upstream)

    # --- through the core ------------------------------------------------------------------------

    def to_ir(self, route: Route, provider: TranslatingProvider) -> tuple[MessagesRequest, list[str]]:
        # Claude: structured outputs where the model has them, else (and for json_object) a forced
        # tool; any other upstream gets both formats through the core as they are.
        json_mode = provider.wire_for(route.upstream_model) != "anthropic"
        native = provider.structured_outputs(route.upstream_model)
        raw, history_dropped = self._for_core()
        search = provider.web_search(route.upstream_model)
        t = request.to_ir(
            raw,
            route.model,
            route.upstream_model,
            self.sealer,
            json_mode=json_mode,
            native_schema=native,
            kept=self.keep,
            search=search,
        )
        self._shaper = Shaper(route.model, route.upstream_model, self.raw, t.box, self.sealer, t.seal, t.summary)
        self._shaper.json_tool = JSON_TOOL if t.json_tool else None
        self._shaper.sources = t.sources
        self._shaper.store = self.keep
        if self.background is not None:
            self._shaper.id, self._shaper.created_at = self.background
            self._shaper.background = True
        self._ir = t.request
        return t.request, history_dropped + t.dropped

    def _for_core(self) -> tuple[dict[str, Any], list[str]]:
        """The body with the conversation it continues in `input` (built once)."""
        if self.previous is None:
            return self.raw, []
        if self._core_raw is None:
            carried = Conversation(Toolbox(), self.sealer, "").carried()
            history, dropped = for_core(self.previous.items, carried)
            raw = {k: v for k, v in self.raw.items() if k != "previous_response_id"}
            self._core_raw = {**raw, "input": [*history, *input_items(self.raw.get("input"))]}, dropped
        return self._core_raw

    def render(self, message: Message, usage: Usage, route: Route) -> bytes:
        assert self._shaper is not None
        body = response.build(message, usage, self._shaper)
        self._answer = body
        return _encode(body)

    def encode(self, decoder: StreamDecoder, route: Route, input_tokens: int) -> StreamRelay:
        assert self._shaper is not None
        encoder = self._encoder = ResponsesStreamEncoder(self._shaper)

        def error(event: StreamError) -> bytes:
            return encoder.failure(_code(event.error_type), event.message)

        return EncodedStream(decoder, encoder.encode, error, input_tokens)

    async def input_tokens(self, route: Route) -> int:
        return (await self._count(route)).input_tokens if self._ir is not None else 0

    async def _count(self, route: Route) -> TokenCount:
        assert self._ir is not None
        anthropic_shaped = _encode(self._ir)
        counts = self.gw.token_counts
        return await counts.count_async(anthropic_shaped, route.upstream_model, msgspec.json.decode(anthropic_shaped))

    # --- what the store keeps ----------------------------------------------------------------------

    def kept(self, key_id: str) -> Kept | None:
        """What the store keeps of the answer just delivered, when the gateway keeps it."""
        return self.record(key_id) if self.keep else None

    def record(self, key_id: str) -> Kept | None:
        """The record of the answer just delivered: a response that completed (or is incomplete),
        with its input items after the history it continued (what a caller remembering the
        conversation itself needs too: `history.previous_of`)."""
        final = self._final()
        if final is None or final.get("status") not in ("completed", "incomplete"):
            return None
        if self._shaper is not None and not self._passes:
            final = {**final, "output": self._shaper.with_sealed(final.get("output") or [])}
        upstream = self._route.provider if self._passes and self._route and final.get("store") is True else None
        if self.background is not None:  # the gateway's own id, whatever the upstream said
            final, upstream = {**final, "id": self.background[0], "background": True, "store": True}, None
        history = self.previous.items if self.previous is not None else []
        items = [*history, *for_storage(input_items(self.raw.get("input")))]
        return Kept(
            id=final["id"], key_id=key_id, response=final, items=items, status=final["status"], upstream=upstream
        )

    def _final(self) -> dict[str, Any] | None:
        """The answer's response object: a whole answer, or a stream's terminal event's."""
        answer: dict[str, Any] | bytes | None = self._answer
        if answer is None and self._encoder is not None:
            answer = self._encoder.final
        if answer is None and self._passes:
            answer = getattr(self._relay, "final", None)
        if isinstance(answer, bytes):
            try:
                answer = msgspec.json.decode(answer)
            except msgspec.DecodeError:
                return None
        if not isinstance(answer, dict) or answer.get("object") != "response" or not isinstance(answer.get("id"), str):
            return None
        return answer

    def failure_event(self, exc: GatewayError) -> bytes:
        """The end of a stream that failed after its commit point: `error`, then `response.failed`
        (on passthrough, built from the last response object and the items the upstream showed)."""
        if self._encoder is not None:
            return self._encoder.failure(_code(exc.error_type), exc.message)
        sequence = getattr(self._relay, "next_sequence", 0)
        data = {"type": "error", "sequence_number": sequence, "code": _code(exc.error_type), "message": exc.message}
        out = encode_event("error", _encode({**data, "param": None}))
        shown = getattr(self._relay, "response", None)
        if shown is None:
            return out
        failed = {**msgspec.json.decode(shown), "status": "failed", "incomplete_details": None}
        failed["output"] = [msgspec.json.decode(item) for item in getattr(self._relay, "items", ())]
        failed["error"] = {"code": _code(exc.error_type), "message": exc.message}
        event = {"type": "response.failed", "sequence_number": sequence + 1, "response": failed}
        return out + encode_event("response.failed", _encode(event))


class InputTokensExchange(ResponsesExchange):
    """`/v1/responses/input_tokens`: passed through where the upstream counts (OpenAI); elsewhere
    the provider's own counter, else the gateway's tokenizer, marked as such (as count_tokens)."""

    endpoint = "responses/input_tokens"

    def __init__(
        self, gw: Gateway, req: Request, body: bytes, raw: dict[str, Any], had_options: bool, *, keep: bool = False
    ) -> None:
        super().__init__(gw, req, body, raw, had_options)  # nothing to keep: a count is not a response
        self.stream = False

    def answer_usage(self, route: Route, provider: Provider, body: bytes) -> tuple[Usage | None, str | None]:
        return None, None

    async def translated(self, route: Route, provider: Provider) -> Whole | Streaming:
        if not isinstance(provider, TranslatingProvider):
            return await super().translated(route, provider)  # the pipeline's 502 naming it
        ir_request, _ = self.to_ir(route, provider)
        counted = await provider.count_tokens(ir_request, route.upstream_model)
        if counted is not None:
            header = (COUNT_HEADER.encode(), f"counted; provider={route.provider}".encode())
        else:
            count = await self._count(route)
            counted, (name, value) = count.input_tokens, count_header(count)
            header = (name.encode(), value.encode())
        body = _encode({"object": "response.input_tokens", "input_tokens": counted})
        return Whole(body, JSON, [*route_names(route), header])


def _code(error_type: str) -> str:
    return "rate_limit_exceeded" if error_type == "rate_limit_error" else "server_error"
