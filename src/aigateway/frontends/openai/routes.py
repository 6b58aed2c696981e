"""The Chat Completions door: `POST /v1/chat/completions`, `POST /v1/embeddings`.

Invariants:
- keys, the ledger and the log work as on the Messages door (`_accounted` from there): every
  authenticated request leaves exactly one ledger row with usage in Anthropic's buckets;
- every failure is OpenAI's error envelope; once a stream has started, a failure becomes one
  `data: {"error": ...}` chunk and the stream ends;
- an upstream that speaks Chat Completions (`wire_for(model) == "openai"`) gets the client's
  body with only the model id swapped (see passthrough.py for stream usage), and its answer
  comes back unchanged; any other upstream is reached through the core (request.py, then the
  provider's translation, then response.py or stream.py);
- `providerOptions` is taken out of the body before anything is forwarded (routing/options.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from aigateway.asgi import SSE, Request
from aigateway.errors import InvalidRequest, UpstreamError, UpstreamUnavailable
from aigateway.frontends.anthropic import translate
from aigateway.frontends.anthropic.request import replace_model
from aigateway.frontends.anthropic.routes import (
    CLIENT_CLOSED,
    _accounted,
    _Outcome,
    _route_headers,
    _StreamRelay,
)
from aigateway.frontends.openai import passthrough, request, response
from aigateway.frontends.openai.errors import stream_error_chunk
from aigateway.frontends.openai.stream import EncodedChatStream, OpenAIChatStreamEncoder
from aigateway.gateway import Gateway
from aigateway.ir.accumulate import MessageAccumulator
from aigateway.ir.messages import Message, MessagesRequest, new_message_id
from aigateway.ir.usage import Usage
from aigateway.providers.anthropic.models import has_structured_outputs
from aigateway.providers.base import PassthroughRequest, Provider, TranslatingProvider, UpstreamResponse
from aigateway.providers.openai.client import OpenAIProvider
from aigateway.routing.catalog import Route
from aigateway.routing.options import take_gateway_options
from aigateway.routing.plan import resolve_route


class _Head(msgspec.Struct):
    """The model member, raw; the rest of the body is not decoded again."""

    model: msgspec.Raw = msgspec.Raw(b"null")


def _decode(body: bytes) -> tuple[dict[str, Any], str]:
    """The decoded body and its model id."""
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidRequest("Request body must be a JSON object")
    model = raw.get("model")
    if not isinstance(model, str):
        raise InvalidRequest("model: Field required (a string of the form 'provider/model')")
    return raw, model


def _upstream_body(body: bytes, raw: dict[str, Any], had_options: bool, upstream_model: str) -> bytes:
    """The client's bytes with the model id swapped; re-encoded only when `providerOptions` had
    to come out (the gateway's own options never reach an upstream)."""
    if had_options:
        return msgspec.json.encode({**raw, "model": upstream_model})
    head = msgspec.json.decode(body, type=_Head)  # the model value's exact bytes, to splice
    return replace_model(body, bytes(head.model), upstream_model)


def _route(gw: Gateway, model: str, options: dict[str, Any] | None) -> Route:
    """One call, so the routing of G4 (attempt plans, fallbacks) can take its place; `options`
    is the request's `providerOptions.gateway`, which today's single route does not use yet."""
    return resolve_route(model, gw.providers, gw.catalog)


async def chat_completions(gw: Gateway, req: Request, key_id: str) -> None:
    with _accounted(gw, req, key_id, "chat_completions") as out:
        body = await req.body(gw.settings.server.max_body_bytes)
        raw, model = _decode(body)
        had_options = "providerOptions" in raw
        options = take_gateway_options(raw)  # kept beside the request for routing (G4)
        out.streamed = bool(raw.get("stream"))
        out.route = route = _route(gw, model, options)
        provider = gw.providers[route.provider]
        if provider.wire_for(route.upstream_model) == "openai":
            await _passthrough(
                req, route, provider, _upstream_body(body, raw, had_options, route.upstream_model), raw, out
            )
            return
        assert isinstance(provider, TranslatingProvider), f"{route.provider} cannot translate"
        await _translated(req, route, provider, raw, out)


async def _passthrough(
    req: Request, route: Route, provider: Provider, body: bytes, raw: dict[str, Any], out: _Outcome
) -> None:
    options = raw.get("stream_options")
    hide_usage = out.streamed and not (isinstance(options, dict) and options.get("include_usage") is True)
    if hide_usage and options is None:
        body = passthrough.ask_for_usage(body)
    elif hide_usage:  # stream_options without include_usage: the one case re-encoded
        options = {**options, "include_usage": True} if isinstance(options, dict) else options
        body = msgspec.json.encode({**raw, "model": route.upstream_model, "stream_options": options})
    path = _openai_path(provider, route, "chat/completions")
    upstream = await provider.passthrough(PassthroughRequest(path, body, {}, stream=out.streamed))
    if out.streamed and upstream.status == 200 and translate.is_sse(upstream):
        await _relay(req, route, upstream, out, passthrough.ChatStreamTap(hide_usage=hide_usage))
        return
    data = await upstream.read()
    if upstream.status >= 400:
        raise _upstream_error(provider, route, upstream, data)
    out.usage, out.stop_reason = passthrough.read_usage(data)
    content_type = upstream.headers.get("content-type", "application/json").encode("latin-1")
    await req.respond(upstream.status, data, _route_headers(route, upstream), content_type)


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
    headers = {k.lower(): v for k, v in upstream.headers.items()}
    return UpstreamError(
        f"Upstream provider '{route.provider}' answered {upstream.status}",
        provider=route.provider,
        status=upstream.status,
        passthrough_body=data,
        headers=headers,
    )


async def _translated(
    req: Request, route: Route, provider: TranslatingProvider, raw: dict[str, Any], out: _Outcome
) -> None:
    # Claude: structured outputs where the model has them, else (and for json_object) forced tool
    # use; any other upstream gets both formats through the core as they are.
    claude = provider.wire_for(route.upstream_model) == "anthropic"
    native = not claude or has_structured_outputs(route.upstream_model)
    ir_request, dropped = request.to_ir(raw, route.model, native_schema=native, json_mode=not claude)
    forced = request.json_tool_schema(raw, native_schema=native, json_mode=not claude) is not None
    json_tool = request.JSON_TOOL if forced else None
    prepared = translate.prepare(provider, ir_request, route, req)
    prepared.warnings = dropped + prepared.warnings
    upstream = await provider.send(prepared)
    if upstream.status >= 400:
        raise provider.error(upstream.status, await upstream.read(), upstream.headers)
    headers = _route_headers(route, upstream) + translate.dropped_header(prepared)
    if ir_request.stream:
        options = raw.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        encoder = OpenAIChatStreamEncoder(
            completion_id=response.new_completion_id(),
            model=route.model,
            include_usage=include_usage,
            json_tool=json_tool,
        )
        decoder = (
            provider.stream_decoder(ir_request, route.model, new_message_id(), 0)
            if translate.is_sse(upstream)
            else translate.WholeMessageDecoder(provider, ir_request, route.model)
        )
        await _relay(req, route, upstream, out, EncodedChatStream(decoder, encoder, route.provider), headers)
        return
    message, out.usage = await _read_message(provider, upstream, ir_request, route)
    out.stop_reason = message.stop_reason
    body = response.from_ir(message, out.usage, model=route.model, json_tool=json_tool)
    await req.respond(200, body, headers)


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


async def _relay(
    req: Request,
    route: Route,
    upstream: UpstreamResponse,
    out: _Outcome,
    tap: _StreamRelay,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """The Messages door's relay, with OpenAI's in-stream error chunk."""
    headers = headers if headers is not None else _route_headers(route, upstream)
    headers.append((b"cache-control", b"no-cache"))
    await req.start(200, headers, SSE)
    send = req.send

    async def pump() -> None:
        try:
            async for chunk in upstream.chunks():
                complete = tap.feed(chunk)
                if complete:
                    await send({"type": "http.response.body", "body": complete, "more_body": True})
            rest = tap.finish()
            if rest:
                await send({"type": "http.response.body", "body": rest, "more_body": True})
            if not (tap.saw_stop or tap.stop_reason) and tap.error_type is None:
                raise UpstreamUnavailable(
                    f"Upstream provider '{route.provider}' ended the stream before it finished",
                    provider=route.provider,
                )
        except UpstreamError as exc:
            tap.error_type = "api_error"
            out.status = exc.status
            await send({"type": "http.response.body", "more_body": True, "body": b"\n\n" + stream_error_chunk(exc)})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    await _pump(req, upstream, out, tap, pump)


async def _pump(req: Request, upstream: UpstreamResponse, out: _Outcome, tap: _StreamRelay, pump: Any) -> None:
    pump_task = asyncio.ensure_future(pump())
    gone = req.watch_disconnect()
    gone.add_done_callback(lambda _: pump_task.cancel())  # the client left: stop generating for nobody
    finished = False
    try:
        await pump_task
        finished = True
    except asyncio.CancelledError:
        out.status, out.error_type = CLIENT_CLOSED, "client_closed"
        if not gone.done():
            raise
    finally:
        gone.cancel()
        if finished:
            upstream.release()
        else:
            upstream.close()
        out.usage, out.stop_reason, out.ttft = tap.usage, tap.stop_reason, tap.first_content_at
        if tap.error_type and out.error_type is None:
            out.error_type = tap.error_type


async def embeddings(gw: Gateway, req: Request, key_id: str) -> None:
    """`POST /v1/embeddings`, passed through to OpenAI-family upstreams (model and auth changed)."""
    with _accounted(gw, req, key_id, "embeddings") as out:
        body = await req.body(gw.settings.server.max_body_bytes)
        raw, model = _decode(body)
        had_options = "providerOptions" in raw
        out.route = route = _route(gw, model, take_gateway_options(raw))
        provider = gw.providers[route.provider]
        if provider.wire_for(route.upstream_model) != "openai":
            raise InvalidRequest(f"model: provider '{route.provider}' offers no embeddings on this gateway")
        body = _upstream_body(body, raw, had_options, route.upstream_model)
        upstream = await provider.passthrough(
            PassthroughRequest(_openai_path(provider, route, "embeddings"), body, {}, stream=False)
        )
        data = await upstream.read()
        if upstream.status >= 400:
            raise _upstream_error(provider, route, upstream, data)
        usage, _ = passthrough.read_usage(data)
        out.usage = usage
        content_type = upstream.headers.get("content-type", "application/json").encode("latin-1")
        await req.respond(upstream.status, data, _route_headers(route, upstream), content_type)


_ANTHROPIC_HEADERS = (b"anthropic-version", b"x-api-key")


def is_openai_door(req: Request) -> bool:
    """True for the requests answered in OpenAI's shapes and envelope: this door's paths, and
    `/v1/models` asked without the headers only Anthropic clients send (see models.py)."""
    if req.path in ("/v1/chat/completions", "/v1/embeddings"):
        return True
    return req.path.startswith("/v1/models") and not any(h in req.headers for h in _ANTHROPIC_HEADERS)
