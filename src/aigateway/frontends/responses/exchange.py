"""A `/v1/responses` (or `/v1/responses/input_tokens`) request, as the pipeline's `Exchange`
(pipeline/exchange.py).

- an upstream that serves the Responses API for the model (`Provider.speaks("responses", ...)`:
  OpenAI, Azure OpenAI) gets the client's bytes with only the model id swapped; its answer comes
  back byte for byte, tapped by the provider for usage (`response.completed`) and errors;
- any other goes through the core: request.py per attempt, the provider's translation, then
  response.py or stream.py on the way back;
- a stream that fails after its commit point ends with an `error` event numbered after the
  last event the client had (`failure_event`), then `response.failed` (on passthrough, from the
  last response object and the finished items the upstream showed).
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.asgi import JSON, Request
from aigateway.errors import GatewayError
from aigateway.frontends.request_openai import JSON_TOOL, with_model
from aigateway.frontends.responses import request, response
from aigateway.frontends.responses.response import Shaper
from aigateway.frontends.responses.sealing import sealer_for
from aigateway.frontends.responses.stream import ResponsesStreamEncoder
from aigateway.gateway import Gateway
from aigateway.ir.events import StreamError
from aigateway.ir.messages import Message, MessagesRequest
from aigateway.ir.usage import Usage
from aigateway.pipeline.attempt import Streaming, Whole, route_names
from aigateway.pipeline.exchange import Exchange
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
from aigateway.tokens import COUNT_HEADER, TokenCount, count_header
from aigateway.wire.sse import encode_event

_encode = msgspec.json.encode


class ResponsesExchange(Exchange):
    protocol = "responses"
    endpoint = "responses"

    def __init__(self, gw: Gateway, req: Request, body: bytes, raw: dict[str, Any], had_options: bool) -> None:
        super().__init__(req)
        self.gw, self.body, self.raw, self._had_options = gw, body, raw, had_options
        self.stream = bool(raw.get("stream"))
        self.sealer = sealer_for(gw.settings.admin_key, gw.settings.data_dir)
        self._shaper: Shaper | None = None  # set by `to_ir` for the attempt under way
        self._encoder: ResponsesStreamEncoder | None = None
        self._relay: StreamRelay | None = None
        self._ir: MessagesRequest | None = None

    async def start(self, attempt: Attempt) -> Whole | Streaming:
        self._encoder, self._relay = None, None
        opened = await super().start(attempt)
        if isinstance(opened, Streaming):
            self._relay = opened.relay  # for `failure_event`
        return opened

    # --- passthrough -----------------------------------------------------------------------------

    def passthrough_request(self, route: Route, provider: Provider) -> PassthroughRequest:
        path = provider.path_for(route.upstream_model, self.endpoint)
        if self._had_options:  # the gateway's own options came out of the body
            body = _encode({**self.raw, "model": route.upstream_model})
        else:
            body = with_model(self.body, route.upstream_model)
        return PassthroughRequest(path, body, {}, stream=self.stream)

    def streams(self, upstream: UpstreamResponse) -> bool:
        return is_sse(upstream)

    # --- through the core ------------------------------------------------------------------------

    def to_ir(self, route: Route, provider: TranslatingProvider) -> tuple[MessagesRequest, list[str]]:
        # Claude: structured outputs where the model has them, else (and for json_object) a forced
        # tool; any other upstream gets both formats through the core as they are.
        json_mode = provider.wire_for(route.upstream_model) != "anthropic"
        native = provider.structured_outputs(route.upstream_model)
        t = request.to_ir(
            self.raw, route.model, route.upstream_model, self.sealer, json_mode=json_mode, native_schema=native
        )
        self._shaper = Shaper(route.model, route.upstream_model, self.raw, t.box, self.sealer, t.seal, t.summary)
        self._shaper.json_tool = JSON_TOOL if t.json_tool else None
        self._ir = t.request
        return t.request, t.dropped

    def render(self, message: Message, usage: Usage, route: Route) -> bytes:
        assert self._shaper is not None
        return response.from_ir(message, usage, self._shaper)

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

    def __init__(self, gw: Gateway, req: Request, body: bytes, raw: dict[str, Any], had_options: bool) -> None:
        super().__init__(gw, req, body, raw, had_options)
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
