"""The door-neutral flow of one request: plan, admission, attempts, delivery.

Invariants:
- every authenticated request leaves exactly one ledger row (accounting.py); for an answer that
  reached the client the row is written before the answer's last byte leaves;
- admission (policy/admission.py) runs on the plan before any attempt: attempts the key may not
  make are dropped, rate limits are taken and the worst case of the plan is reserved; what it
  reserved is settled to the actual usage, at the price of the route that answered;
- a client that leaves cancels the request's upstream work at once, before and after the
  commit point (`_unless_gone`, relay.py);
- a history holding signed reasoning never falls back to another model (`signed_history`);
- a model the operator redirects is planned as its target; lifecycle headers and the successor
  of a retired model are added on the way out (lifecycle.py);
- with `responseCache`, a hit is answered before admission and without any upstream call (model
  permissions still apply, one ledger row marked as a hit, cost zero); only a complete answer is
  stored: a JSON answer, or a stream that ended normally (response_cache.py).
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Awaitable
from typing import NamedTuple, TypeVar

from aigateway.asgi import SSE, ClientGone, Request
from aigateway.errors import UpstreamError
from aigateway.gateway import Gateway
from aigateway.pipeline.accounting import Outcome, record
from aigateway.pipeline.attempt import Streaming, Whole
from aigateway.pipeline.exchange import Exchange
from aigateway.pipeline.lifecycle import answer_headers, with_successor
from aigateway.pipeline.relay import Ended, Ending, relay_stream
from aigateway.pipeline.response_cache import Entry
from aigateway.routing.fallback import Attempts
from aigateway.routing.options import GatewayOptions
from aigateway.routing.plan import Attempt

T = TypeVar("T")


class Cached(NamedTuple):
    """The response cache's entry for this request, and how long an answer stays in it."""

    key: bytes
    ttl: float


async def serve(
    gw: Gateway,
    req: Request,
    out: Outcome,
    exchange: Exchange,
    *,
    model: str,
    requested: GatewayOptions | None,
    body: bytes,
    max_output: int | None,
    ending: Ending,
) -> None:
    """Plans the request, admits it, runs its attempts (each reaching its commit point or
    failing) and delivers the one that succeeded; the client leaving cancels whatever is under
    way. `max_output`: the most tokens the request may generate, None for one that generates
    nothing (count_tokens, embeddings: model permissions only, no spend reserved)."""
    asked, model = model, gw.redirect(model)
    out.options = options = gw.routing_options(model, out.key.name, requested)
    exchange.caching = options.caching
    plan = gw.plan(model, options, signed_history=signed_history(body))
    cached = None
    if options.response_cache is not None and max_output is not None:  # generations only
        material, shareable = exchange.cache_material(body), exchange.shares_cache
        key = gw.response_cache.key(out.key.id, out.endpoint, model, out.streamed, material, shareable=shareable)
        cached = Cached(key, options.response_cache.ttl)
        if await _from_cache(gw, req, out, plan, cached, body):
            return
    plan = await admit(gw, plan, out, body, max_output)
    attempts: Attempts[Whole | Streaming] = Attempts(
        plan, gw.retry_policy, gw.health, req.started_mono, req.id, out.tried
    )

    async def tracked(attempt: Attempt) -> Whole | Streaming:
        out.route = attempt.route  # a failure is recorded against the last route tried
        return await exchange.start(attempt)

    try:
        attempt, opened = await _unless_gone(req, attempts.run(tracked))
    except UpstreamError as exc:
        raise with_successor(gw, exc, out.route) from None
    notices = answer_headers(gw, attempt.route, asked)
    if cached is not None:
        notices.append((b"x-aigateway-cache", b"miss"))
    await _deliver(gw, req, out, attempt, opened, ending, notices, cached)


async def _deliver(
    gw: Gateway,
    req: Request,
    out: Outcome,
    attempt: Attempt,
    opened: Whole | Streaming,
    ending: Ending,
    notices: list[tuple[bytes, bytes]],
    cached: Cached | None,
) -> None:
    """The answer of the attempt that reached its commit point, whole or relayed; the ledger row
    is written before the client has the answer's last byte. A complete answer is then stored
    in the response cache, when the request asked for it."""
    headers = [(b"x-aigateway-attempts", str(len(out.tried)).encode()), *out.limit_headers, *notices]
    if isinstance(opened, Whole):
        out.usage, out.stop_reason = opened.usage, opened.stop_reason
        _measure(gw, attempt, out, first=None)
        if out.content is None:  # with content logging the row waits for the bytes it logs
            record(gw, req, out)
        await req.respond(200, opened.body, opened.headers + headers, opened.content_type)
        if cached is not None:
            entry = Entry(opened.body, False, opened.content_type, opened.stop_reason)
            await gw.response_cache.put(cached.key, entry, cached.ttl)
        return
    total = attempt.lane.provider.config.timeouts.total
    deadline = asyncio.get_running_loop().time() + total - (time.monotonic() - opened.started) if total else None
    on_end = functools.partial(_streamed, gw, req, out, opened)
    keep = cached is not None
    ended = await relay_stream(req, attempt.route, opened, opened.headers + headers, deadline, ending, on_end, keep)
    _streamed(gw, req, out, opened, ended)
    _measure(gw, attempt, out, first=opened.relay.first_content_at, started=opened.started)
    if ended.client_gone:
        raise ClientGone
    if cached is not None and ended.sent is not None and _complete(ended, opened, ending):
        entry = Entry(b"".join(ended.sent), True, None, opened.relay.stop_reason)
        await gw.response_cache.put(cached.key, entry, cached.ttl)


def _complete(ended: Ended, opened: Streaming, ending: Ending) -> bool:
    """A stream that ended normally: no error event, no cut, the door's own end seen."""
    return ended.status == 200 and ended.error_type is None and ending.finished(opened.relay)


async def _from_cache(
    gw: Gateway, req: Request, out: Outcome, plan: list[Attempt], cached: Cached, body: bytes
) -> bool:
    """Answers from the response cache if it holds this request and the key may use the model;
    no spend is reserved and no upstream is called. False: answer it the ordinary way."""
    entry = await gw.response_cache.get(cached.key)
    if entry is None or not await admit(gw, plan, out, body, None):  # None: permissions only
        return False
    out.cache_hit, out.stop_reason = True, entry.stop_reason
    headers = [(b"x-aigateway-cache", b"hit"), (b"x-aigateway-attempts", b"0")]
    if out.content is None:  # with content logging the row waits for the bytes it logs
        record(gw, req, out)
    if not entry.stream:
        await req.respond(200, entry.body, headers, entry.content_type)
        return True
    await req.start(200, [*headers, (b"cache-control", b"no-cache")], SSE)
    await req.send({"type": "http.response.body", "body": entry.body, "more_body": True})
    await req.send({"type": "http.response.body", "body": b"", "more_body": False})
    return True


def _streamed(gw: Gateway, req: Request, out: Outcome, opened: Streaming, ended: Ended) -> None:
    """A relayed stream's outcome, recorded before its last byte leaves (or when it was cut)."""
    out.usage, out.stop_reason = opened.relay.usage, opened.relay.stop_reason
    out.ttft = opened.relay.first_content_at
    out.status, out.error_type = ended.status, ended.error_type
    record(gw, req, out)


async def permit(gw: Gateway, out: Outcome, *, model: str, requested: GatewayOptions | None) -> None:
    """A request answered without any upstream call (a Responses API prewarm): the routing options
    and the key's model permissions apply as in `serve`, and its row names the route asked for;
    no rate limit is taken and nothing is reserved."""
    model = gw.redirect(model)
    out.options = options = gw.routing_options(model, out.key.name, requested)
    await admit(gw, gw.plan(model, options), out, b"", None)


async def admit(gw: Gateway, plan: list[Attempt], out: Outcome, body: bytes, max_output: int | None) -> list[Attempt]:
    """The attempts this key may make; for a generation, rate limits taken and the plan's worst
    case (input estimated from `body`, `max_output` tokens out) reserved."""
    if not plan:
        return plan
    out.route = plan[0].route  # a refusal is recorded against the route asked for
    usable = gw.admission.usable(out.key, [a.route for a in plan], spends=max_output is not None)
    plan = [a for a, ok in zip(plan, usable, strict=True) if ok]
    if max_output is not None:
        out.ticket = await gw.admission.admit(out.key, [a.route for a in plan], body, max_output)
        out.limit_headers = out.ticket.headers
    return plan


_SIGNATURE = re.compile(rb'"signature"\s*:\s*"[^"]')


def signed_history(body: bytes) -> bool:
    """Whether the history holds a non-empty reasoning signature (a cheap scan, no parse)."""
    return b'"signature"' in body and _SIGNATURE.search(body) is not None


async def _unless_gone(req: Request, work: Awaitable[T]) -> T:
    """Runs `work` in this task, cancelling it (and so its upstream call) the moment the client
    leaves. No second task for the work, and under the gateway's server no watcher task either
    (`Request.when_gone`): this runs on every request."""
    me = asyncio.current_task()
    assert me is not None
    gone = req.when_gone(me.cancel)
    try:
        return await work
    except asyncio.CancelledError:
        if gone.left:
            me.uncancel()
            raise ClientGone from None
        raise
    finally:
        gone.stop()


def _measure(gw: Gateway, attempt: Attempt, out: Outcome, *, first: float | None, started: float = 0.0) -> None:
    """Live speed of the (provider, model) that answered, for `sort: ttft | tps`."""
    if out.usage is None or not out.usage.output_tokens:
        return
    now = time.monotonic()
    ttft = first - started if first is not None else None
    generating = now - (first if first is not None else started or now)
    tps = out.usage.output_tokens / generating if generating > 0 else None
    gw.health.speed(attempt.route.provider, attempt.route.upstream_model).add(ttft, tps)
