"""The Chat Completions door: `POST /v1/chat/completions`, `POST /v1/embeddings`.

Invariants:
- keys, admission (model permissions, rate limits, budgets), routing (attempt plans, retries,
  fallbacks), the ledger and the log work as on the Messages door, from the same pipeline
  (`accounted`, `serve`): every authenticated request leaves exactly
  one ledger row with usage in Anthropic's buckets and its cost;
- every failure is OpenAI's error envelope; once a stream has started, a failure becomes one
  `data: {"error": ...}` chunk and the stream ends without `[DONE]`; a client that leaves
  cancels the upstream at once;
- each attempt goes to its upstream in the protocol it speaks (exchange.py): passthrough to
  Chat Completions servers, through the core to any other;
- `providerOptions` is taken out of the body before anything is forwarded (routing/options.py).
"""

from __future__ import annotations

from typing import Any

from aigateway.asgi import Request
from aigateway.frontends.openai.errors import stream_error_chunk
from aigateway.frontends.openai.exchange import ChatExchange, EmbeddingsExchange
from aigateway.frontends.openai.request import max_output_tokens
from aigateway.frontends.request_openai import decode_body
from aigateway.gateway import Gateway
from aigateway.pipeline.accounting import Outcome, accounted
from aigateway.pipeline.relay import Ending
from aigateway.pipeline.serve import serve
from aigateway.policy.keys import GatewayKey
from aigateway.routing.options import take_gateway_options


def _max_output(raw: dict[str, Any], endpoint: str) -> int | None:
    """At most how many tokens the request generates (Chat Completions makes the limit optional:
    the default then; a bad one is a 400 before any upstream). Embeddings generate nothing, so
    they take model permissions but reserve no spend."""
    if endpoint != "chat/completions":
        return None
    return max_output_tokens(raw)


async def chat_completions(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with accounted(gw, req, key, "chat_completions") as out:
        await _serve(gw, req, out, "chat/completions")


async def embeddings(gw: Gateway, req: Request, key: GatewayKey) -> None:
    """Passed through to OpenAI-family upstreams (model and auth changed); elsewhere the provider's own."""
    with accounted(gw, req, key, "embeddings") as out:
        await _serve(gw, req, out, "embeddings")


async def _serve(gw: Gateway, req: Request, out: Outcome, endpoint: str) -> None:
    body = await req.body(gw.settings.server.max_body_bytes)
    raw, model = decode_body(body, gw.settings.server.max_json_depth)
    had_options = "providerOptions" in raw
    requested = take_gateway_options(raw)
    kind = ChatExchange if endpoint == "chat/completions" else EmbeddingsExchange
    exchange = kind(req, body, raw, had_options, endpoint)
    out.streamed = exchange.stream
    max_output = _max_output(raw, endpoint)
    # Signed reasoning (OpenRouter's reasoning_details, on passthrough) stays with its model: `serve`.
    await serve(gw, req, out, exchange, model=model, requested=requested, body=body, max_output=max_output, ending=CHAT)


# A stream is finished once its finish reason came (passthrough streams have no message_stop);
# a failure after the commit point is one error chunk.
CHAT = Ending(
    finished=lambda relay: relay.saw_stop or relay.stop_reason is not None,
    unfinished="it finished",
    error=lambda exc, _request_id, _sep: b"\n\n" + stream_error_chunk(exc),
)


_ANTHROPIC_HEADERS = (b"anthropic-version", b"x-api-key")


def is_openai_door(req: Request) -> bool:
    """True for the requests answered in OpenAI's shapes and envelope: this door's paths, and
    `/v1/models` asked without the headers only Anthropic clients send (see models.py)."""
    if req.path in ("/v1/chat/completions", "/v1/embeddings"):
        return True
    return req.path.startswith("/v1/models") and not any(h in req.headers for h in _ANTHROPIC_HEADERS)
