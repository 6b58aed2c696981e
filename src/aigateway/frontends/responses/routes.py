"""The Responses API door: `POST /v1/responses`, `POST /v1/responses/input_tokens`.

Invariants:
- keys, admission (model permissions, rate limits, budgets), routing (`providerOptions.gateway`,
  attempt plans, retries, fallbacks), the ledger (endpoint `responses`), metrics and traces come
  from the same pipeline as every door (`accounted`, `serve`);
- every failure is OpenAI's error envelope (frontends/envelope_openai.py); once a stream has
  started, a failure is one `error` event, then `response.failed`, and the stream ends;
- each attempt goes to its upstream in the protocol it speaks (exchange.py): passthrough where
  the upstream serves the Responses API, through the core elsewhere;
- with the gateway's store on (settings `stored_responses`), `store` (true unless false) keeps
  each finished response for its key once it has been answered (history.py, store/responses.py),
  and `previous_response_id` continues a kept conversation on any model; the stored responses
  themselves are read, listed and deleted by retrieve.py; `background: true` runs the response
  in the gateway, detached from its client (background.py);
- the WebSocket mode is websocket.py; with it off (`server.responses_websocket: false`) an
  upgrade on `/v1/responses` is refused with 426 (`refuse_websocket`): Codex then uses HTTP at
  once (a 404 or 405 costs it seven attempts and seconds of backoff).
"""

from __future__ import annotations

from typing import Any

from aigateway.asgi import Receive, Request, Scope, Send
from aigateway.errors import InvalidRequest, NotFound
from aigateway.frontends.request_openai import decode_body
from aigateway.frontends.responses import background, retrieve
from aigateway.frontends.responses.exchange import InputTokensExchange, ResponsesExchange
from aigateway.frontends.responses.history import load_previous
from aigateway.gateway import Gateway
from aigateway.pipeline.accounting import Outcome, accounted
from aigateway.pipeline.serve import serve
from aigateway.policy.keys import GatewayKey
from aigateway.routing.options import take_gateway_options

PATHS = ("/v1/responses", "/v1/responses/input_tokens")
STORED = "/v1/responses/"  # /v1/responses/{id}[/input_items | /cancel]: retrieve.py


async def responses(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with accounted(gw, req, key, "responses") as out:
        await _serve(gw, req, out, ResponsesExchange)


async def stored(gw: Gateway, req: Request, key: GatewayKey) -> None:
    """`/v1/responses/{id}` and `/v1/responses/{id}/{action}` (retrieve.py)."""
    response_id, _, action = req.path[len(STORED) :].partition("/")
    if not response_id:
        raise NotFound(f"No route for {req.method} {req.path}")
    await retrieve.dispatch(gw, req, key, response_id, action)


async def input_tokens(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with accounted(gw, req, key, "responses_input_tokens") as out:
        await _serve(gw, req, out, InputTokensExchange)


async def _serve(gw: Gateway, req: Request, out: Outcome, kind: type[ResponsesExchange]) -> None:
    body = await req.body(gw.settings.server.max_body_bytes)
    raw, model = decode_body(body, gw.settings.server.max_json_depth)
    had_options = "providerOptions" in raw
    requested = take_gateway_options(raw)
    store = gw.responses
    keep = store is not None and kind is ResponsesExchange and _flag(raw, "store") is not False
    previous = None
    if store is not None and raw.get("previous_response_id") is not None:
        previous = await load_previous(store, out.key.id, raw["previous_response_id"])
    if kind is ResponsesExchange and _flag(raw, "background"):
        out.streamed = bool(raw.get("stream"))
        await background.create(
            gw, req, out, body, raw, model=model, had_options=had_options, requested=requested, previous=previous
        )
        return
    exchange = kind(gw, req, body, raw, had_options, keep=keep)
    exchange.previous = previous
    out.streamed = exchange.stream
    max_output = None if kind is InputTokensExchange else exchange.max_output()
    body, ending = exchange.admission_body(), exchange.ending()
    await serve(
        gw, req, out, exchange, model=model, requested=requested, body=body, max_output=max_output, ending=ending
    )
    kept = exchange.kept(out.key.id)  # the answer has been delivered: what the store keeps of it
    if kept is not None and store is not None:
        store.save(kept)


def _flag(raw: dict[str, Any], name: str) -> bool | None:
    value = raw.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidRequest(f"{name}: must be a boolean")
    return value


def is_responses_door(req: Request) -> bool:
    return req.path in PATHS or req.path.startswith(STORED)


async def refuse_http_upgrade(gw: Gateway, req: Request) -> None:
    """A WebSocket upgrade that reached us as HTTP (a server without a WebSocket library): 426."""
    await req.respond(426, b"Upgrade Required: use HTTP", [(b"upgrade", b"websocket")], b"text/plain")


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
