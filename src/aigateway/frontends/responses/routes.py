"""The Responses API door: `POST /v1/responses`, `POST /v1/responses/input_tokens`.

Invariants:
- keys, admission (model permissions, rate limits, budgets), routing (`providerOptions.gateway`,
  attempt plans, retries, fallbacks), the ledger (endpoint `responses`), metrics and traces come
  from the same pipeline as every door (`accounted`, `serve`);
- every failure is OpenAI's error envelope (frontends/envelope_openai.py); once a stream has
  started, a failure is one `error` event, then `response.failed`, and the stream ends;
- each attempt goes to its upstream in the protocol it speaks (exchange.py): passthrough where
  the upstream serves the Responses API, through the core elsewhere;
- the WebSocket mode is websocket.py; with it off (`server.responses_websocket: false`) an
  upgrade on `/v1/responses` is refused with 426 (`refuse_websocket`): Codex then uses HTTP at
  once (a 404 or 405 costs it seven attempts and seconds of backoff).
"""

from __future__ import annotations

from typing import Any

from aigateway.asgi import Receive, Request, Scope, Send
from aigateway.frontends.request_openai import decode_body
from aigateway.frontends.responses.exchange import InputTokensExchange, ResponsesExchange
from aigateway.frontends.responses.request import DEFAULT_MAX_OUTPUT
from aigateway.gateway import Gateway
from aigateway.pipeline.accounting import Outcome, accounted
from aigateway.pipeline.relay import Ending
from aigateway.pipeline.serve import serve
from aigateway.policy.keys import GatewayKey
from aigateway.routing.options import take_gateway_options

PATHS = ("/v1/responses", "/v1/responses/input_tokens")


async def responses(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with accounted(gw, req, key, "responses") as out:
        await _serve(gw, req, out, ResponsesExchange)


async def input_tokens(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with accounted(gw, req, key, "responses_input_tokens") as out:
        await _serve(gw, req, out, InputTokensExchange)


async def _serve(gw: Gateway, req: Request, out: Outcome, kind: type[ResponsesExchange]) -> None:
    body = await req.body(gw.settings.server.max_body_bytes)
    raw, model = decode_body(body, gw.settings.server.max_json_depth)
    had_options = "providerOptions" in raw
    requested = take_gateway_options(raw)
    exchange = kind(gw, req, body, raw, had_options)
    out.streamed = exchange.stream
    max_output = None if kind is InputTokensExchange else _max_output(raw)
    ending = Ending(
        finished=lambda relay: relay.saw_stop,
        unfinished="response.completed",
        error=lambda exc, _request_id, sep: sep + exchange.failure_event(exc),
    )
    await serve(
        gw, req, out, exchange, model=model, requested=requested, body=body, max_output=max_output, ending=ending
    )


def is_responses_door(req: Request) -> bool:
    return req.path in PATHS


async def refuse_http_upgrade(gw: Gateway, req: Request) -> None:
    """A WebSocket upgrade that reached us as HTTP (a server without a WebSocket library): 426."""
    await req.respond(426, b"Upgrade Required: use HTTP", [(b"upgrade", b"websocket")], b"text/plain")


def _max_output(raw: dict[str, Any]) -> int:
    limit = raw.get("max_output_tokens")
    return limit if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_OUTPUT


async def refuse_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """A WebSocket upgrade not served: 426 on `/v1/responses` (the WebSocket mode is off), 404
    elsewhere, as ASGI's WebSocket Denial Response says (or a plain close where the server has
    no denial responses)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    status, text = (426, b"Upgrade Required: use HTTP") if scope.get("path") in PATHS else (404, b"Not Found")
    if "websocket.http.response" in scope.get("extensions", {}):
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode())]
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": text})
    else:
        await send({"type": "websocket.close", "code": 1008})
