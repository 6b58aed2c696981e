"""The Anthropic Messages door: `/v1/messages`, `/v1/messages/count_tokens`, `/v1/models`.

Invariants:
- every response carries `request-id`; every failure is Anthropic's error envelope;
- an upstream that speaks Anthropic gets the client's body with only the model id swapped, and
  its answer comes back unchanged: JSON whole, SSE relayed event by event as it arrives;
- once a stream has started, a failure becomes one `event: error` and the stream ends; a stream
  never just stops, and a client that leaves cancels the upstream request at once;
- every authenticated request leaves exactly one ledger row, whatever happened, with its cost;
- admission (policy/admission.py) runs after routing and before the upstream call; what it
  reserved is settled to the actual usage in `_accounted`, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

from aigateway.asgi import SSE, ClientGone, Request
from aigateway.errors import GatewayError, UpstreamError, UpstreamUnavailable
from aigateway.frontends.anthropic import translate
from aigateway.frontends.anthropic.errors import stream_error_event
from aigateway.frontends.anthropic.request import CountTokensHead, MessagesHead, parse_head, replace_model
from aigateway.gateway import Gateway
from aigateway.ir.messages import parse_request
from aigateway.ir.usage import Usage
from aigateway.observability.logging import log_request
from aigateway.policy.admission import Ticket
from aigateway.policy.keys import GatewayKey
from aigateway.policy.ledger import LedgerRow
from aigateway.providers.anthropic.response import read_usage
from aigateway.providers.anthropic.stream import AnthropicStreamTap
from aigateway.providers.base import PassthroughRequest, TranslatingProvider, UpstreamResponse
from aigateway.routing.catalog import Route
from aigateway.routing.plan import resolve_route
from aigateway.tokens import count_header

CLIENT_CLOSED = 499  # nginx's convention for "client closed request", used in the ledger only


class _Outcome:
    """What the ledger and the log learn about one request as it runs."""

    __slots__ = (
        "error_type",
        "key",
        "limit_headers",
        "route",
        "status",
        "stop_reason",
        "streamed",
        "ticket",
        "ttft",
        "usage",
    )

    def __init__(self, key: GatewayKey) -> None:
        self.key = key
        self.ticket: Ticket | None = None
        self.limit_headers: list[tuple[bytes, bytes]] = []
        self.route: Route | None = None
        self.streamed = False
        self.status = 200
        self.error_type: str | None = None
        self.stop_reason: str | None = None
        self.usage: Usage | None = None
        self.ttft: float | None = None


def _forward_headers(req: Request) -> dict[str, str]:
    """Every `anthropic-*` header, verbatim: versions and beta flags are not ours to filter."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in req.headers.items() if k.startswith(b"anthropic-")}


def _with_query(path: str, req: Request) -> str:
    """Keeps the client's query (Claude Code's `?beta=true`) so the upstream sees the same call."""
    return path + "?" + req.query.decode("latin-1") if req.query else path


def _route_names(route: Route) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-aigateway-provider", route.provider.encode()),
        (b"x-aigateway-upstream-model", route.upstream_model.encode()),
    ]


def _route_headers(route: Route, upstream: UpstreamResponse) -> list[tuple[bytes, bytes]]:
    headers = _route_names(route)
    upstream_id = upstream.headers.get("request-id")
    if upstream_id:  # what the provider's support will ask for
        headers.append((b"x-upstream-request-id", upstream_id.encode("latin-1")))
    return headers


@contextlib.contextmanager
def _accounted(gw: Gateway, req: Request, key: GatewayKey, endpoint: str) -> Iterator[_Outcome]:
    """Yields the request's outcome, then settles and records it, whatever happens."""
    out = _Outcome(key)
    try:
        yield out
    except GatewayError as exc:
        out.status, out.error_type = exc.status, exc.error_type
        raise
    except ClientGone:
        out.status, out.error_type = CLIENT_CLOSED, "client_closed"
        raise
    finally:
        _record(gw, req, key.id, endpoint, out)


async def _admit(gw: Gateway, route: Route, body: bytes, head: CountTokensHead, out: _Outcome) -> None:
    """Policy, rate limits and budget for this key and route; raises before anything is sent."""
    if isinstance(head, MessagesHead):
        out.ticket = await gw.admission.admit(out.key, route, body, head.max_tokens)
        out.limit_headers = out.ticket.headers
    else:
        gw.admission.check_access(out.key, route)


async def messages(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with _accounted(gw, req, key, "messages") as out:
        await _passthrough(gw, req, out, "/v1/messages", MessagesHead)


async def count_tokens(gw: Gateway, req: Request, key: GatewayKey) -> None:
    with _accounted(gw, req, key, "count_tokens") as out:
        await _passthrough(gw, req, out, "/v1/messages/count_tokens", CountTokensHead)


async def _passthrough(gw: Gateway, req: Request, out: _Outcome, path: str, kind: type[CountTokensHead]) -> None:
    body = await req.body(gw.settings.server.max_body_bytes)
    head, model = parse_head(body, kind)
    out.streamed = isinstance(head, MessagesHead) and bool(head.stream)
    out.route = route = resolve_route(model, gw.providers, gw.catalog)
    await _admit(gw, route, body, head, out)
    provider = gw.providers[route.provider]
    if provider.wire_for(route.upstream_model) != "anthropic":  # not the client's protocol: translate
        assert isinstance(provider, TranslatingProvider), f"{route.provider} speaks neither protocol"
        raw = translate.decode_body(body)
        if kind is MessagesHead:
            await _translated(gw, req, route, provider, body, raw, out)
        else:
            await _count_locally(gw, req, route, body, raw)
        return
    upstream = await provider.passthrough(
        PassthroughRequest(
            _with_query(path, req),
            replace_model(body, head.model, route.upstream_model),
            _forward_headers(req),
            stream=out.streamed,
        )
    )
    if out.streamed and upstream.status == 200:
        await _relay_stream(req, route, upstream, out, AnthropicStreamTap())
    else:
        await _relay_whole(req, route, upstream, out, with_usage=kind is MessagesHead)


async def _count_locally(gw: Gateway, req: Request, route: Route, body: bytes, raw: dict[str, Any]) -> None:
    """count_tokens for a provider without a counter: a real tokenizer, marked as such."""
    parse_request({**raw, "max_tokens": 1})  # the same validation a message gets
    count = gw.token_counts.count(body, route.upstream_model, raw)
    name, value = count_header(count)
    headers = [*_route_names(route), (name.encode(), value.encode())]
    await req.respond(200, b'{"input_tokens":%d}' % count.input_tokens, headers)


async def _translated(
    gw: Gateway,
    req: Request,
    route: Route,
    provider: TranslatingProvider,
    body: bytes,
    raw: dict[str, Any],
    out: _Outcome,
) -> None:
    request = parse_request(raw)
    prepared = translate.prepare(provider, request, route, req)
    upstream = await provider.send(prepared)
    if upstream.status >= 400:
        raise provider.error(upstream.status, await upstream.read(), upstream.headers)
    headers = _route_headers(route, upstream) + translate.dropped_header(prepared)
    if request.stream:
        counted = gw.token_counts.count(body, route.upstream_model, raw).input_tokens
        stream = translate.EncodedStream.open(provider, upstream, request, route, req.id, counted)
        await _relay_stream(req, route, upstream, out, stream, headers)
        return
    message, out.usage, out.stop_reason = await translate.read_message(provider, upstream, request, route)
    await req.respond(200, message, headers + out.limit_headers)


async def _relay_whole(
    req: Request, route: Route, upstream: UpstreamResponse, out: _Outcome, *, with_usage: bool
) -> None:
    body = await upstream.read()
    if upstream.status >= 400:
        raise UpstreamError(
            f"Upstream provider '{route.provider}' answered {upstream.status}",
            provider=route.provider,
            status=upstream.status,
            error_type=_upstream_error_type(body),
            passthrough_body=body,
            headers={k.lower(): v for k, v in upstream.headers.items()},
        )
    if with_usage:
        out.usage, out.stop_reason = read_usage(body)
    out.status = upstream.status
    content_type = upstream.headers.get("content-type", "application/json").encode("latin-1")
    await req.respond(upstream.status, body, _route_headers(route, upstream) + out.limit_headers, content_type)


def _upstream_error_type(body: bytes) -> str:
    _, _, rest = body.partition(b'"error":{"type":"')
    end = rest.find(b'"')
    return rest[:end].decode("utf-8", "replace") if 0 < end < 64 else "api_error"


class _StreamRelay(Protocol):
    """Upstream bytes in, client SSE bytes out, and what the ledger needs to know at the end."""

    saw_stop: bool
    error_type: str | None
    first_content_at: float | None

    @property
    def usage(self) -> Usage: ...

    @property
    def stop_reason(self) -> str | None: ...

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


async def _relay_stream(
    req: Request,
    route: Route,
    upstream: UpstreamResponse,
    out: _Outcome,
    tap: _StreamRelay,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = (headers if headers is not None else _route_headers(route, upstream)) + out.limit_headers
    headers.append((b"cache-control", b"no-cache"))
    await req.start(200, headers, SSE)
    send = req.send

    async def pump() -> None:
        separator = b""
        try:
            async for chunk in upstream.chunks():
                complete = tap.feed(chunk)
                if complete:
                    await send({"type": "http.response.body", "body": complete, "more_body": True})
            rest = tap.finish()
            if rest:
                await send({"type": "http.response.body", "body": rest, "more_body": True})
                separator = b"\n\n"  # that last event had no blank line of its own
            if not tap.saw_stop and tap.error_type is None:
                raise UpstreamUnavailable(
                    f"Upstream provider '{route.provider}' ended the stream before message_stop",
                    provider=route.provider,
                )
        except UpstreamError as exc:
            # After the commit point the only honest answer is an in-stream error event.
            tap.error_type = "api_error"
            out.status = exc.status
            await send(
                {
                    "type": "http.response.body",
                    "more_body": True,
                    "body": separator + stream_error_event("api_error", exc.message, req.id),
                }
            )
        await send({"type": "http.response.body", "body": b"", "more_body": False})

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
            raise  # we are being cancelled ourselves (shutdown), not the client leaving
    finally:
        gone.cancel()
        if finished:
            upstream.release()
        else:
            upstream.close()
        out.usage, out.stop_reason, out.ttft = tap.usage, tap.stop_reason, tap.first_content_at
        if tap.error_type and out.error_type is None:
            out.error_type = tap.error_type


def _record(gw: Gateway, req: Request, key_id: str, endpoint: str, out: _Outcome) -> None:
    route = out.route
    cost = gw.admission.settle(out.ticket, out.usage) if out.ticket else gw.admission.cost(route, out.usage)
    row = LedgerRow.build(
        request_id=req.id,
        started=req.started,
        started_mono=req.started_mono,
        key_id=key_id,
        endpoint=endpoint,
        model=route.model if route else None,
        provider=route.provider if route else None,
        upstream_model=route.upstream_model if route else None,
        streamed=out.streamed,
        status=out.status,
        error_type=out.error_type,
        stop_reason=out.stop_reason,
        usage=out.usage,
        ttft=out.ttft,
        cost=cost,
    )
    gw.ledger.record(row)
    log_request(row)
