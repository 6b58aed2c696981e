"""What both front doors do around the protocol-specific parts of a request.

Invariants:
- every authenticated request leaves exactly one ledger row (and log line, metrics, span),
  whatever happened, with its cost; for an answer that reached the client the row is written
  before the answer's last byte leaves, so a killed process loses no finished request;
- admission (policy/admission.py) runs on the plan before any attempt: attempts the key may not
  make are dropped, rate limits are taken and the worst case of the plan is reserved; what it
  reserved is settled to the actual usage, at the price of the route that answered;
- a client that leaves cancels the request's upstream work at once, before and after the
  commit point (`_unless_gone`, relay.py);
- a history holding signed reasoning never falls back to another model (`signed_history`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from aigateway.asgi import ClientGone, Request
from aigateway.errors import GatewayError
from aigateway.frontends.anthropic.relay import ANTHROPIC, CLIENT_CLOSED, Ended, Ending, relay_stream
from aigateway.frontends.anthropic.request import CountTokensHead, MessagesHead
from aigateway.frontends.anthropic.upstream import Streaming, Whole
from aigateway.gateway import Gateway
from aigateway.ir.usage import Usage
from aigateway.observability.content import Capture
from aigateway.observability.logging import log_request
from aigateway.policy.admission import Ticket
from aigateway.policy.keys import GatewayKey
from aigateway.policy.ledger import LedgerRow
from aigateway.routing.catalog import Route
from aigateway.routing.fallback import Attempts, Tried
from aigateway.routing.options import GatewayOptions
from aigateway.routing.plan import Attempt

T = TypeVar("T")


class Outcome:
    """What the ledger and the log learn about one request as it runs."""

    __slots__ = (
        "content",
        "endpoint",
        "error_type",
        "key",
        "limit_headers",
        "options",
        "recorded",
        "route",
        "status",
        "stop_reason",
        "streamed",
        "ticket",
        "tried",
        "ttft",
        "usage",
    )

    def __init__(self, key: GatewayKey, endpoint: str = "messages") -> None:
        self.key = key
        self.endpoint = endpoint
        self.recorded = False
        self.ticket: Ticket | None = None
        self.limit_headers: list[tuple[bytes, bytes]] = []
        self.route: Route | None = None
        self.streamed = False
        self.status = 200
        self.error_type: str | None = None
        self.stop_reason: str | None = None
        self.usage: Usage | None = None
        self.ttft: float | None = None
        self.tried: list[Tried] = []
        self.options: GatewayOptions | None = None
        self.content: Capture | None = None  # only with logging.content


@contextlib.contextmanager
def accounted(gw: Gateway, req: Request, key: GatewayKey, endpoint: str) -> Iterator[Outcome]:
    """Yields the request's outcome, then settles and records it, whatever happens."""
    out = Outcome(key, endpoint)
    gw.metrics.in_flight += 1
    try:
        yield out
    except GatewayError as exc:
        out.status, out.error_type = exc.status, exc.error_type
        raise
    except ClientGone:
        out.status, out.error_type = CLIENT_CLOSED, "client_closed"
        raise
    finally:
        gw.metrics.in_flight -= 1
        _record(gw, req, out)


async def serve(
    gw: Gateway,
    req: Request,
    out: Outcome,
    plan: list[Attempt],
    start: Callable[[Attempt], Awaitable[Whole | Streaming]],
    ending: Ending = ANTHROPIC,
) -> None:
    """Runs the plan's attempts (each `start` reaching its commit point or failing), then
    delivers the one that succeeded; the client leaving cancels whatever is under way."""
    attempts: Attempts[Whole | Streaming] = Attempts(
        plan, gw.retry_policy, gw.health, req.started_mono, req.id, out.tried
    )

    async def tracked(attempt: Attempt) -> Whole | Streaming:
        out.route = attempt.route  # a failure is recorded against the last route tried
        return await start(attempt)

    attempt, opened = await _unless_gone(req, attempts.run(tracked))
    await _deliver(gw, req, out, attempt, opened, ending)


async def _deliver(
    gw: Gateway, req: Request, out: Outcome, attempt: Attempt, opened: Whole | Streaming, ending: Ending = ANTHROPIC
) -> None:
    """The answer of the attempt that reached its commit point, whole or relayed; the ledger row
    is written before the client has the answer's last byte."""
    headers = [(b"x-aigateway-attempts", str(len(out.tried)).encode()), *out.limit_headers]
    if isinstance(opened, Whole):
        out.usage, out.stop_reason = opened.usage, opened.stop_reason
        _measure(gw, attempt, out, first=None)
        if out.content is None:  # with content logging the row waits for the bytes it logs
            _record(gw, req, out)
        await req.respond(200, opened.body, opened.headers + headers, opened.content_type)
        return
    total = attempt.lane.provider.config.timeouts.total
    deadline = asyncio.get_running_loop().time() + total - (time.monotonic() - opened.started) if total else None
    on_end = functools.partial(_streamed, gw, req, out, opened)
    ended = await relay_stream(req, attempt.route, opened, opened.headers + headers, deadline, on_end, ending)
    _streamed(gw, req, out, opened, ended)
    _measure(gw, attempt, out, first=opened.relay.first_content_at, started=opened.started)
    if ended.client_gone:
        raise ClientGone


def _streamed(gw: Gateway, req: Request, out: Outcome, opened: Streaming, ended: Ended) -> None:
    """A relayed stream's outcome, recorded before its last byte leaves (or when it was cut)."""
    out.usage, out.stop_reason = opened.relay.usage, opened.relay.stop_reason
    out.ttft = opened.relay.first_content_at
    out.status, out.error_type = ended.status, ended.error_type
    _record(gw, req, out)


async def admit(gw: Gateway, plan: list[Attempt], body: bytes, head: CountTokensHead, out: Outcome) -> list[Attempt]:
    """The attempts this key may make; for messages, rate limits taken and the plan's worst case reserved."""
    if not plan:
        return plan
    out.route = plan[0].route  # a refusal is recorded against the route asked for
    messages = isinstance(head, MessagesHead)
    usable = gw.admission.usable(out.key, [a.route for a in plan], spends=messages)
    plan = [a for a, ok in zip(plan, usable, strict=True) if ok]
    if isinstance(head, MessagesHead):
        out.ticket = await gw.admission.admit(out.key, [a.route for a in plan], body, head.max_tokens)
        out.limit_headers = out.ticket.headers
    return plan


_SIGNATURE = re.compile(rb'"signature"\s*:\s*"[^"]')


def signed_history(body: bytes) -> bool:
    """Whether the history holds a non-empty reasoning signature (a cheap scan, no parse)."""
    return b'"signature"' in body and _SIGNATURE.search(body) is not None


async def _unless_gone(req: Request, work: Awaitable[T]) -> T:
    """Runs `work` in this task, cancelling it (and so its upstream call) the moment the client
    leaves. One watcher task, not a second task for the work: this runs on every request."""
    me = asyncio.current_task()
    assert me is not None
    watching = True

    def client_left(_: object) -> None:
        if watching:  # the callback may run after `work` is over: then it must do nothing
            me.cancel()

    gone = req.watch_disconnect()
    gone.add_done_callback(client_left)
    try:
        return await work
    except asyncio.CancelledError:
        if gone.done() and not gone.cancelled():
            me.uncancel()
            raise ClientGone from None
        raise
    finally:
        watching = False
        gone.cancel()


def _measure(gw: Gateway, attempt: Attempt, out: Outcome, *, first: float | None, started: float = 0.0) -> None:
    """Live speed of the (provider, model) that answered, for `sort: ttft | tps`."""
    if out.usage is None or not out.usage.output_tokens:
        return
    now = time.monotonic()
    ttft = first - started if first is not None else None
    generating = now - (first if first is not None else started or now)
    tps = out.usage.output_tokens / generating if generating > 0 else None
    gw.health.speed(attempt.route.provider, attempt.route.upstream_model).add(ttft, tps)


def _record(gw: Gateway, req: Request, out: Outcome) -> None:
    """The request's one ledger row (and log line); later calls do nothing."""
    if out.recorded:
        return
    out.recorded = True
    route, key_id, endpoint = out.route, out.key.id, out.endpoint
    cost = gw.admission.settle(out.ticket, route, out.usage) if out.ticket else gw.admission.cost(route, out.usage)
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
        attempts=len(out.tried),
        end_user=out.options.user if out.options else None,
        tags=out.options.tags if out.options else None,
    )
    gw.ledger.record(row)
    log_request(row, out.content.fields() if out.content is not None else None)
    gw.metrics.observe(row, out.tried)
    if gw.tracer is not None:
        gw.tracer.record(req, row, out.tried)
