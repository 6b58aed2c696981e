"""The Anthropic Messages door: `/v1/messages`, `/v1/messages/count_tokens`.

Invariants:
- every response carries `request-id`; every failure is Anthropic's error envelope;
- a request runs as a plan of attempts (routing/plan.py): providers, credentials and fallback
  models, retried and failed over (routing/fallback.py) until one reaches its commit point
  (upstream.py); the client sees only that attempt's answer;
- an upstream that speaks Anthropic gets the client's body with only the model id swapped, and
  its answer comes back unchanged; any other upstream goes through the typed core;
- once a stream has started, a failure becomes one `event: error` and the stream ends
  (relay.py); accounting, admission and delivery are shared with the OpenAI door (serving.py).
"""

from __future__ import annotations

import msgspec

from aigateway.asgi import Request
from aigateway.frontends.anthropic.request import CountTokensHead, MessagesHead, parse_head
from aigateway.frontends.anthropic.upstream import Call
from aigateway.frontends.serving import Outcome, accounted, admit, serve, signed_history
from aigateway.gateway import Gateway
from aigateway.observability.content import capture
from aigateway.policy.keys import GatewayKey
from aigateway.routing.options import take_gateway_options


async def messages(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with accounted(gw, req, key, "messages") as out:
        await _passthrough(gw, req, out, key, MessagesHead)


async def count_tokens(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with accounted(gw, req, key, "count_tokens") as out:
        await _passthrough(gw, req, out, key, CountTokensHead)


async def _passthrough(gw: Gateway, req: Request, out: Outcome, key: GatewayKey, kind: type[CountTokensHead]) -> None:
    body = await req.body(gw.settings.server.max_body_bytes)
    head, model = parse_head(body, kind)
    out.streamed = isinstance(head, MessagesHead) and bool(head.stream)
    options = None
    if len(head.provider_options):  # the gateway's own object never reaches an upstream
        raw = msgspec.json.decode(body)
        options = take_gateway_options(raw)
        body = msgspec.json.encode(raw)
        head, model = parse_head(body, kind)
    if gw.settings.logging.content:  # after the gateway's options (BYOK keys) left the body
        out.content = capture(req, body, out.streamed)
    out.options = options = gw.routing_options(model, key.name, options)
    plan = await admit(gw, gw.plan(model, options, signed_history=signed_history(body)), body, head, out)
    await serve(gw, req, out, plan, Call(gw, req, body, head, model, req.path).start)
