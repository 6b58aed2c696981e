"""One attempt of a Chat Completions (or embeddings) request, up to its commit point.

`ChatCall.start(attempt)` calls the attempt's upstream in whichever protocol it speaks for that
model and returns, as the Messages door's `upstream.Call` does, a `Whole` answer or a
`Streaming` one held until its first content (the commit point); any failure before that raises
`UpstreamError`, so the attempt loop may retry or fall over. Each attempt may reach another
provider, so the translation is made per attempt (what Claude takes depends on the model).
- an upstream that speaks Chat Completions gets the client's bytes with only the model id
  swapped (passthrough.py says how stream usage is asked for and hidden);
- any other goes through the core: request.py, the provider's translation, then response.py or
  stream.py on the way back.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from aigateway.asgi import JSON, Request
from aigateway.errors import InvalidRequest, UpstreamError
from aigateway.frontends.anthropic import translate
from aigateway.frontends.anthropic.request import replace_model
from aigateway.frontends.anthropic.upstream import Streaming, Whole, _until_commit, route_headers, route_names
from aigateway.frontends.openai import passthrough, request, response
from aigateway.frontends.openai.stream import OpenAIChatStreamEncoder, encoded_chat_stream
from aigateway.ir.accumulate import MessageAccumulator
from aigateway.ir.messages import Message, MessagesRequest, new_message_id
from aigateway.ir.usage import Usage
from aigateway.providers.anthropic.models import has_structured_outputs
from aigateway.providers.base import PassthroughRequest, Provider, TranslatingProvider, UpstreamResponse
from aigateway.providers.gemini import embeddings
from aigateway.providers.gemini.client import GeminiProvider
from aigateway.providers.openai.client import OpenAIProvider
from aigateway.routing.catalog import Route
from aigateway.routing.plan import Attempt
from aigateway.tokens import COUNT_HEADER, get_encoding


class _Head(msgspec.Struct):
    """The model member, raw; the rest of the body is not decoded again."""

    model: msgspec.Raw = msgspec.Raw(b"null")


class ChatCall:
    """What every attempt of one client request shares: the body, decoded once."""

    def __init__(self, req: Request, body: bytes, raw: dict[str, Any], had_options: bool, endpoint: str):
        self.req, self.body, self.raw, self.endpoint = req, body, raw, endpoint
        self._had_options = had_options
        self.stream = endpoint == "chat/completions" and bool(raw.get("stream"))
        options = raw.get("stream_options")
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True

    async def start(self, attempt: Attempt) -> Whole | Streaming:
        provider = attempt.lane.provider
        if provider.wire_for(attempt.route.upstream_model) == "openai":
            return await self._passthrough(attempt.route, provider)
        if self.endpoint != "chat/completions":
            if isinstance(provider, GeminiProvider):
                return await self._gemini_embeddings(attempt.route, provider)
            raise InvalidRequest(f"model: provider '{attempt.route.provider}' offers no embeddings on this gateway")
        assert isinstance(provider, TranslatingProvider), f"{attempt.route.provider} cannot translate"
        return await self._translated(attempt.route, provider)

    # --- passthrough -----------------------------------------------------------------------------

    def _upstream_body(self, upstream_model: str) -> bytes:
        """The client's bytes with the model swapped; re-encoded only when `providerOptions` had
        to come out, or when stream usage must be asked for inside an existing `stream_options`."""
        hide_usage = self.stream and not self.include_usage
        options = self.raw.get("stream_options")
        if self._had_options or (hide_usage and options is not None):
            raw = {**self.raw, "model": upstream_model}
            if hide_usage:
                raw["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
            return msgspec.json.encode(raw)
        head = msgspec.json.decode(self.body, type=_Head)  # the model value's exact bytes, to splice
        body = replace_model(self.body, bytes(head.model), upstream_model)
        return passthrough.ask_for_usage(body) if hide_usage else body

    async def _passthrough(self, route: Route, provider: Provider) -> Whole | Streaming:
        started = time.monotonic()
        path = _openai_path(provider, route, self.endpoint)
        body = self._upstream_body(route.upstream_model)
        upstream = await provider.passthrough(PassthroughRequest(path, body, {}, stream=self.stream))
        try:
            if self.stream and upstream.status == 200 and translate.is_sse(upstream):
                tap = passthrough.ChatStreamTap(hide_usage=not self.include_usage)
                return await _until_commit(route, upstream, tap, route_headers(route, upstream), started)
            data = await upstream.read()
            if upstream.status >= 400:
                raise _upstream_error(provider, route, upstream, data)
            usage, stop_reason = passthrough.read_usage(data)
            content_type = upstream.headers.get("content-type", "application/json").encode("latin-1")
            return Whole(data, content_type, route_headers(route, upstream), usage, stop_reason)
        except BaseException:
            upstream.close()
            raise

    async def _gemini_embeddings(self, route: Route, provider: GeminiProvider) -> Whole:
        status, data, headers = await provider.embed(self.raw, route.upstream_model)
        if status >= 400:
            raise provider.error(status, data, headers)
        encoding = get_encoding("o200k_base")  # Gemini reports no usage here: our own count
        counted = sum(len(encoding.encode(text, disallowed_special=())) for text in embeddings.inputs_of(self.raw))
        answer = embeddings.from_gemini(
            _json_or_none(data),
            model=route.model,
            provider=route.provider,
            encoding=str(self.raw.get("encoding_format") or "float"),
            prompt_tokens=counted,
        )
        estimate = (COUNT_HEADER.encode(), b"estimate; tokenizer=o200k_base")
        return Whole(msgspec.json.encode(answer), JSON, [*route_names(route), estimate], Usage(input_tokens=counted))

    # --- through the core ------------------------------------------------------------------------

    async def _translated(self, route: Route, provider: TranslatingProvider) -> Whole | Streaming:
        started = time.monotonic()
        # Claude: structured outputs where the model has them, else (and for json_object) forced
        # tool use; any other upstream gets both formats through the core as they are.
        claude = provider.wire_for(route.upstream_model) == "anthropic"
        native = not claude or has_structured_outputs(route.upstream_model)
        ir_request, dropped = request.to_ir(self.raw, route.model, native_schema=native, json_mode=not claude)
        forced = request.json_tool_schema(self.raw, native_schema=native, json_mode=not claude) is not None
        json_tool = request.JSON_TOOL if forced else None
        prepared = translate.prepare(provider, ir_request, route, self.req)
        prepared.warnings = dropped + prepared.warnings
        upstream = await provider.send(prepared)
        try:
            if upstream.status >= 400:
                raise provider.error(upstream.status, await upstream.read(), upstream.headers)
            headers = route_headers(route, upstream) + translate.dropped_header(prepared)
            if not ir_request.stream:
                message, usage = await _read_message(provider, upstream, ir_request, route)
                body = response.from_ir(message, usage, model=route.model, json_tool=json_tool)
                return Whole(body, JSON, headers, usage, message.stop_reason)
            encoder = OpenAIChatStreamEncoder(
                completion_id=response.new_completion_id(),
                model=route.model,
                include_usage=self.include_usage,
                json_tool=json_tool,
            )
            decoder = translate.decoder_for(provider, upstream, ir_request, route.model, 0)
            relay = encoded_chat_stream(decoder, encoder, route.provider)
            return await _until_commit(route, upstream, relay, headers, started)
        except BaseException:
            upstream.close()
            raise


async def _read_message(
    provider: TranslatingProvider, upstream: UpstreamResponse, ir_request: MessagesRequest, route: Route
) -> tuple[Message, Usage]:
    """A whole answer; a server that streams although asked not to is folded into one."""
    body = await upstream.read()
    if not translate.is_sse(upstream):
        return provider.read_message(body, ir_request, route.model)
    decoder = provider.stream_decoder(ir_request, route.model, new_message_id(), 0)
    fold = MessageAccumulator()
    for event in decoder.feed(body) + decoder.finish():
        fold.add(event)
    if decoder.error is not None:
        raise UpstreamError(decoder.error.message, provider=route.provider, status=502)
    return fold.result(), decoder.usage or Usage()


def _json_or_none(data: bytes) -> Any:
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None


def _openai_path(provider: Provider, route: Route, endpoint: str) -> str:
    """OpenAI-family providers post relative to their base URL; Azure names the deployment."""
    if isinstance(provider, OpenAIProvider):
        return provider.path_for(route.upstream_model, endpoint)
    return endpoint


def _upstream_error(provider: Provider, route: Route, upstream: UpstreamResponse, data: bytes) -> UpstreamError:
    """The upstream's own error body goes back unchanged: the client speaks its protocol. Except
    a refused credential (401, 403): that is the gateway's key, not the client's, and OpenAI's
    wording quotes part of it, so the provider says what it means (a 502 naming itself)."""
    if upstream.status in (401, 403) and isinstance(provider, TranslatingProvider):
        return provider.error(upstream.status, data, upstream.headers)
    return UpstreamError(
        f"Upstream provider '{route.provider}' answered {upstream.status}",
        provider=route.provider,
        status=upstream.status,
        passthrough_body=data,
        headers={k.lower(): v for k, v in upstream.headers.items()},
    )
