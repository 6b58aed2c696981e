"""The Chat Completions door: `POST /v1/chat/completions`, `POST /v1/embeddings`.

Invariants:
- keys, admission (model permissions, rate limits, budgets), routing (attempt plans, retries,
  fallbacks), the ledger and the log work as on the Messages door, from the same pieces
  (`_accounted`, `_admit`, `gw.plan`, `Attempts`): every authenticated request leaves exactly
  one ledger row with usage in Anthropic's buckets and its cost;
- every failure is OpenAI's error envelope; once a stream has started, a failure becomes one
  `data: {"error": ...}` chunk and the stream ends without `[DONE]`; a client that leaves
  cancels the upstream at once;
- each attempt goes to its upstream in the protocol it speaks (call.py): passthrough to Chat
  Completions servers, through the core to any other;
- `providerOptions` is taken out of the body before anything is forwarded (routing/options.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import msgspec

from aigateway.asgi import SSE, ClientGone, Request
from aigateway.errors import InvalidRequest, UpstreamError, UpstreamUnavailable
from aigateway.frontends.anthropic.relay import CLIENT_CLOSED, Ended
from aigateway.frontends.anthropic.request import CountTokensHead, MessagesHead
from aigateway.frontends.anthropic.routes import _accounted, _admit, _measure, _Outcome, _signed, _unless_gone
from aigateway.frontends.anthropic.upstream import Streaming, Whole
from aigateway.frontends.openai.call import ChatCall
from aigateway.frontends.openai.errors import stream_error_chunk
from aigateway.frontends.openai.request import DEFAULT_MAX_TOKENS
from aigateway.gateway import Gateway
from aigateway.policy.keys import GatewayKey
from aigateway.routing.catalog import Route
from aigateway.routing.fallback import Attempts
from aigateway.routing.options import take_gateway_options
from aigateway.routing.plan import Attempt


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


def _head(raw: dict[str, Any], endpoint: str) -> CountTokensHead:
    """What admission (the Messages door's `_admit`) reads of a request: whether it generates,
    and at most how many tokens (Chat Completions makes the limit optional: the default then).
    Embeddings generate nothing, so they take limits and model permissions but reserve no spend."""
    if endpoint != "chat/completions":
        return CountTokensHead(model=msgspec.Raw(b"null"), messages=[])
    limit = raw.get("max_completion_tokens") or raw.get("max_tokens")
    max_tokens = limit if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_TOKENS
    return MessagesHead(model=msgspec.Raw(b"null"), messages=[], max_tokens=max_tokens)


async def chat_completions(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with _accounted(gw, req, key, "chat_completions") as out:
        await _serve(gw, req, key, out, "chat/completions")


async def embeddings(gw: Gateway, req: Request, key: GatewayKey) -> None:
    """Passed through to OpenAI-family upstreams (model and auth changed); others answer 400."""
    with _accounted(gw, req, key, "embeddings") as out:
        await _serve(gw, req, key, out, "embeddings")


async def _serve(gw: Gateway, req: Request, key: GatewayKey, out: _Outcome, endpoint: str) -> None:
    body = await req.body(gw.settings.server.max_body_bytes)
    raw, model = _decode(body)
    had_options = "providerOptions" in raw
    requested = take_gateway_options(raw)
    call = ChatCall(req, body, raw, had_options, endpoint)
    out.streamed = call.stream
    out.options = options = gw.routing_options(model, key.name, requested)
    # Signed reasoning (OpenRouter's reasoning_details, on passthrough) stays with its model.
    plan = await _admit(gw, gw.plan(model, options, signed_history=_signed(body)), body, _head(raw, endpoint), out)
    attempts: Attempts[Whole | Streaming] = Attempts(
        plan, gw.retry_policy, gw.health, req.started_mono, req.id, out.tried
    )

    async def start(attempt: Attempt) -> Whole | Streaming:
        out.route = attempt.route  # a failure is recorded against the last route tried
        return await call.start(attempt)

    attempt, opened = await _unless_gone(req, attempts.run(start))
    headers = [(b"x-aigateway-attempts", str(len(out.tried)).encode()), *out.limit_headers]
    if isinstance(opened, Whole):
        out.usage, out.stop_reason = opened.usage, opened.stop_reason
        _measure(gw, attempt, out, first=None)
        await req.respond(200, opened.body, opened.headers + headers, opened.content_type)
        return
    total = attempt.lane.provider.config.timeouts.total
    deadline = asyncio.get_running_loop().time() + total - (time.monotonic() - opened.started) if total else None
    ended = await _relay(req, attempt.route, opened, opened.headers + headers, deadline)
    out.usage, out.stop_reason = opened.relay.usage, opened.relay.stop_reason
    out.ttft = opened.relay.first_content_at
    out.status, out.error_type = ended.status, ended.error_type
    _measure(gw, attempt, out, first=opened.relay.first_content_at, started=opened.started)
    if ended.client_gone:
        raise ClientGone


async def _relay(
    req: Request, route: Route, opened: Streaming, headers: list[tuple[bytes, bytes]], deadline: float | None
) -> Ended:
    """The Messages door's relay (frontends/anthropic/relay.py), ending in OpenAI's error chunk."""
    relay, ended = opened.relay, Ended()
    await req.start(200, [*headers, (b"cache-control", b"no-cache")], SSE)
    send = req.send

    async def pump() -> None:
        try:
            if opened.held:
                await send({"type": "http.response.body", "body": opened.held, "more_body": True})
            async with asyncio.timeout_at(deadline):
                async for chunk in opened.chunks:
                    complete = relay.feed(chunk)
                    if complete:
                        await send({"type": "http.response.body", "body": complete, "more_body": True})
            rest = relay.finish()
            if rest:
                await send({"type": "http.response.body", "body": rest, "more_body": True})
            if not (relay.saw_stop or relay.stop_reason) and relay.error_type is None:
                raise UpstreamUnavailable(
                    f"Upstream provider '{route.provider}' ended the stream before it finished", provider=route.provider
                )
        except (UpstreamError, TimeoutError) as exc:
            if not isinstance(exc, UpstreamError):
                what = f"Upstream provider '{route.provider}' exceeded its total timeout"
                exc = UpstreamUnavailable(what, provider=route.provider, status=504)
            relay.error_type = "api_error"
            ended.status = exc.status
            await send({"type": "http.response.body", "more_body": True, "body": b"\n\n" + stream_error_chunk(exc)})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    await _until_done_or_gone(req, opened, ended, pump())
    return ended


async def _until_done_or_gone(req: Request, opened: Streaming, ended: Ended, pump: Awaitable[None]) -> None:
    relay = opened.relay
    pump_task = asyncio.ensure_future(pump)
    gone = req.watch_disconnect()
    gone.add_done_callback(lambda _: pump_task.cancel())  # the client left: stop generating for nobody
    finished = False
    try:
        await pump_task
        finished = True
    except asyncio.CancelledError:
        ended.status, ended.error_type, ended.client_gone = CLIENT_CLOSED, "client_closed", True
        if not gone.done():
            raise  # we are being cancelled ourselves (shutdown), not the client leaving
    finally:
        gone.cancel()
        if finished:
            opened.upstream.release()
        else:
            opened.upstream.close()
        if relay.error_type and ended.error_type is None:
            ended.error_type = relay.error_type


_ANTHROPIC_HEADERS = (b"anthropic-version", b"x-api-key")


def is_openai_door(req: Request) -> bool:
    """True for the requests answered in OpenAI's shapes and envelope: this door's paths, and
    `/v1/models` asked without the headers only Anthropic clients send (see models.py)."""
    if req.path in ("/v1/chat/completions", "/v1/embeddings"):
        return True
    return req.path.startswith("/v1/models") and not any(h in req.headers for h in _ANTHROPIC_HEADERS)
