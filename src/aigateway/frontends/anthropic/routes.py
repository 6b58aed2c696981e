"""The Anthropic Messages door: `/v1/messages`, `/v1/messages/count_tokens`.

Invariants:
- every response carries `request-id`; every failure is Anthropic's error envelope;
- a request runs as a plan of attempts (routing/plan.py): providers, credentials and fallback
  models, retried and failed over (routing/fallback.py) until one reaches its commit point
  (pipeline/); the client sees only that attempt's answer;
- an upstream that speaks Anthropic gets the client's body with only the model id swapped, and
  its answer comes back unchanged; any other upstream goes through the typed core;
- once a stream has started, a failure becomes one `event: error` and the stream ends
  (pipeline/relay.py); accounting, admission and delivery are the pipeline's, as for every door.
"""

from __future__ import annotations

import msgspec

from aigateway.asgi import Request
from aigateway.frontends.anthropic.exchange import ENDING, CountTokensExchange, MessagesExchange
from aigateway.frontends.anthropic.request import CountTokensHead, MessagesHead, read_head
from aigateway.gateway import Gateway
from aigateway.observability.content import capture
from aigateway.pipeline.accounting import Outcome, accounted
from aigateway.pipeline.serve import serve
from aigateway.policy.keys import GatewayKey
from aigateway.routing.options import take_gateway_options
from aigateway.wire import document


async def messages(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with accounted(gw, req, key, "messages") as out:
        await _serve(gw, req, out, MessagesHead)


async def count_tokens(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with accounted(gw, req, key, "count_tokens") as out:
        await _serve(gw, req, out, CountTokensHead)


async def _serve(gw: Gateway, req: Request, out: Outcome, kind: type[CountTokensHead]) -> None:
    body = await req.body(gw.settings.server.max_body_bytes)
    head, model, members = read_head(body, kind)
    out.streamed = isinstance(head, MessagesHead) and bool(head.stream)
    options = None
    if len(head.provider_options):  # the gateway's own object never reaches an upstream
        raw = document.decode(body, gw.settings.server.max_json_depth)
        options = take_gateway_options(raw)
        body = msgspec.json.encode(raw)
        head, model, members = read_head(body, kind)
    if gw.settings.logging.content:  # after the gateway's options (BYOK keys) left the body
        out.content = capture(req, body, out.streamed)
    if isinstance(head, MessagesHead):
        exchange: MessagesExchange = MessagesExchange(gw, req, body, head, members)
        max_output: int | None = head.max_tokens
    else:
        exchange, max_output = CountTokensExchange(gw, req, body, head, members), None
    await serve(gw, req, out, exchange, model=model, requested=options, body=body, max_output=max_output, ending=ENDING)
