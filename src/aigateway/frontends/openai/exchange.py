"""A Chat Completions (or embeddings) request, as the pipeline's `Exchange` (pipeline/exchange.py).

- an upstream that speaks Chat Completions gets the client's bytes with only the model id
  swapped, and stream usage asked for (hidden again from a client that did not ask for it);
- any other goes through the core: request.py per attempt (what Claude takes depends on the
  model), the provider's translation, then response.py or stream.py on the way back;
- embeddings elsewhere than an OpenAI-family upstream are the provider's own (`Provider.embed`).
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.asgi import JSON, Request
from aigateway.errors import UpstreamError
from aigateway.frontends.openai import request, response
from aigateway.frontends.openai.errors import stream_error_chunk
from aigateway.frontends.openai.stream import OpenAIChatStreamEncoder
from aigateway.frontends.request_openai import JSON_TOOL, with_model
from aigateway.ir.events import StreamError
from aigateway.ir.messages import Message, MessagesRequest
from aigateway.ir.usage import Usage
from aigateway.pipeline import response_cache
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


class ChatExchange(Exchange):
    protocol = "openai"

    def __init__(self, req: Request, body: bytes, raw: dict[str, Any], had_options: bool, endpoint: str):
        super().__init__(req)
        self.body, self.raw, self.endpoint = body, raw, endpoint
        self._had_options = had_options
        self.stream = endpoint == "chat/completions" and bool(raw.get("stream"))
        options = raw.get("stream_options")
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True
        self._hide_usage = self.stream and not self.include_usage  # stream usage asked for by us
        self._json_tool: str | None = None  # set by `to_ir` for the attempt under way

    def cache_material(self, body: bytes) -> bytes:
        return response_cache.from_values(self.raw)  # decoded already: not read again

    # --- passthrough -----------------------------------------------------------------------------

    def passthrough_request(self, route: Route, provider: Provider) -> PassthroughRequest:
        path = provider.path_for(route.upstream_model, self.endpoint)
        body = self._upstream_body(route.upstream_model)
        return PassthroughRequest(path, body, {}, stream=self.stream, hide_usage=self._hide_usage)

    def _upstream_body(self, upstream_model: str) -> bytes:
        """The client's bytes with the model swapped; re-encoded only when `providerOptions` had
        to come out, or when stream usage must be asked for inside an existing `stream_options`."""
        options = self.raw.get("stream_options")
        if self._had_options or (self._hide_usage and options is not None):
            raw = {**self.raw, "model": upstream_model}
            if self._hide_usage:
                raw["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
            return msgspec.json.encode(raw)
        body = with_model(self.body, upstream_model)
        return _ask_for_usage(body) if self._hide_usage else body

    def streams(self, upstream: UpstreamResponse) -> bool:
        return is_sse(upstream)

    # --- through the core ------------------------------------------------------------------------

    def to_ir(self, route: Route, provider: TranslatingProvider) -> tuple[MessagesRequest, list[str]]:
        # Claude: structured outputs where the model has them, else (and for json_object) forced
        # tool use; any other upstream gets both formats through the core as they are.
        json_mode = provider.wire_for(route.upstream_model) != "anthropic"
        native = provider.structured_outputs(route.upstream_model)
        ir_request, dropped = request.to_ir(self.raw, route.model, native_schema=native, json_mode=json_mode)
        forced = request.json_tool_schema(self.raw, native_schema=native, json_mode=json_mode) is not None
        self._json_tool = JSON_TOOL if forced else None
        return ir_request, dropped

    def render(self, message: Message, usage: Usage, route: Route) -> bytes:
        return response.from_ir(message, usage, model=route.model, json_tool=self._json_tool)

    def encode(self, decoder: StreamDecoder, route: Route, input_tokens: int) -> StreamRelay:
        encoder = OpenAIChatStreamEncoder(
            completion_id=response.new_completion_id(),
            model=route.model,
            include_usage=self.include_usage,
            json_tool=self._json_tool,
        )

        def error(event: StreamError) -> bytes:
            failure = UpstreamError(event.message, provider=route.provider, status=502, error_type=event.error_type)
            return stream_error_chunk(failure)

        return EncodedStream(decoder, encoder.encode, error, input_tokens)


class EmbeddingsExchange(ChatExchange):
    """`/v1/embeddings`: passed through to OpenAI-family upstreams; elsewhere the provider's own
    embeddings method, where it has one (a 400 naming the provider where it has none)."""

    async def translated(self, route: Route, provider: Provider) -> Whole | Streaming:
        embedded = await provider.embed(self.raw, route)
        return Whole(embedded.body, JSON, [*route_names(route), *embedded.headers], embedded.usage)


def _ask_for_usage(body: bytes) -> bytes:
    """`body` (a JSON object without `stream_options.include_usage`) asking for stream usage.

    Called only when the decoded body has no `stream_options` member at all, so appending one
    cannot make a duplicate key."""
    end = body.rstrip().rfind(b"}")
    inside = body[:end].rstrip()
    separator = b"" if inside.endswith(b"{") else b","
    return inside + separator + b'"stream_options":{"include_usage":true}' + body[end:]
