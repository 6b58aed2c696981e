"""The Chat Completions door: `POST /v1/chat/completions`, `POST /v1/embeddings`.

Invariants:
- keys, admission (model permissions, rate limits, budgets), routing (attempt plans, retries,
  fallbacks), the ledger and the log work as on the Messages door, from the same pieces
  (`accounted`, `admit`, `gw.plan`, `Attempts`): every authenticated request leaves exactly
  one ledger row with usage in Anthropic's buckets and its cost;
- every failure is OpenAI's error envelope; once a stream has started, a failure becomes one
  `data: {"error": ...}` chunk and the stream ends without `[DONE]`; a client that leaves
  cancels the upstream at once;
- each attempt goes to its upstream in the protocol it speaks (call.py): passthrough to Chat
  Completions servers, through the core to any other;
- `providerOptions` is taken out of the body before anything is forwarded (routing/options.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.asgi import Request
from aigateway.errors import InvalidRequest
from aigateway.frontends.anthropic.relay import Ending
from aigateway.frontends.anthropic.request import CountTokensHead, MessagesHead
from aigateway.frontends.openai.call import ChatCall
from aigateway.frontends.openai.errors import stream_error_chunk
from aigateway.frontends.openai.request import DEFAULT_MAX_TOKENS
from aigateway.frontends.serving import Outcome, accounted, admit, serve, signed_history
from aigateway.gateway import Gateway
from aigateway.policy.keys import GatewayKey
from aigateway.routing.options import take_gateway_options


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
    """What admission (the Messages door's `admit`) reads of a request: whether it generates,
    and at most how many tokens (Chat Completions makes the limit optional: the default then).
    Embeddings generate nothing, so they take limits and model permissions but reserve no spend."""
    if endpoint != "chat/completions":
        return CountTokensHead(model=msgspec.Raw(b"null"), messages=[])
    limit = raw.get("max_completion_tokens") or raw.get("max_tokens")
    max_tokens = limit if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_TOKENS
    return MessagesHead(model=msgspec.Raw(b"null"), messages=[], max_tokens=max_tokens)


async def chat_completions(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with accounted(gw, req, key, "chat_completions") as out:
        await _serve(gw, req, key, out, "chat/completions")


async def embeddings(gw: Gateway, req: Request, key: GatewayKey) -> None:
    """Passed through to OpenAI-family upstreams (model and auth changed); others answer 400."""
    with accounted(gw, req, key, "embeddings") as out:
        await _serve(gw, req, key, out, "embeddings")


async def _serve(gw: Gateway, req: Request, key: GatewayKey, out: Outcome, endpoint: str) -> None:
    body = await req.body(gw.settings.server.max_body_bytes)
    raw, model = _decode(body)
    had_options = "providerOptions" in raw
    requested = take_gateway_options(raw)
    call = ChatCall(req, body, raw, had_options, endpoint)
    out.streamed = call.stream
    out.options = options = gw.routing_options(model, key.name, requested)
    # Signed reasoning (OpenRouter's reasoning_details, on passthrough) stays with its model.
    plan = await admit(
        gw, gw.plan(model, options, signed_history=signed_history(body)), body, _head(raw, endpoint), out
    )
    await serve(gw, req, out, plan, call.start, _CHAT)


# The Messages door's relay, ending the Chat Completions way: a stream is finished once its
# finish reason came (passthrough streams have no message_stop), a failure is one error chunk.
_CHAT = Ending(
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
