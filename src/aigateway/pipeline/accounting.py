"""Accounting: what the ledger, the log, metrics and traces learn about one request.

Invariant: every authenticated request leaves exactly one ledger row (and log line, metrics,
span), whatever happened, with its cost; `record` may be called early (before an answer's last
byte leaves, so a killed process loses no finished request), and later calls do nothing. The
row's status and error type are the client's answer: the error it got, 500 for a failure of the
gateway itself; a stream that ended in an error event records that error's type and the status
the same error has as a response (529 for `overloaded_error`, 502 for a cut stream).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from aigateway.asgi import ClientGone, Request
from aigateway.errors import GatewayError
from aigateway.gateway import Gateway
from aigateway.ir.usage import Usage
from aigateway.observability.content import Capture
from aigateway.observability.logging import log_request
from aigateway.policy.admission import Ticket
from aigateway.policy.keys import GatewayKey
from aigateway.routing.catalog import Route
from aigateway.routing.fallback import Tried
from aigateway.routing.options import GatewayOptions
from aigateway.store.rows import LedgerRow

CLIENT_CLOSED = 499  # nginx's convention for "client closed request", used in the ledger only
SHUT_DOWN = 503, "shutdown"  # cut by the server's shutdown timeout (server.shutdown_timeout)
SHUTTING_DOWN = "The gateway is shutting down; retry"


class Outcome:
    """What the ledger and the log learn about one request as it runs."""

    __slots__ = (
        "cache_hit",
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
        self.cache_hit = False  # answered from the response cache: no upstream call, zero cost


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
    except asyncio.CancelledError:  # the server cut it at shutdown: a client leaving is ClientGone
        out.status, out.error_type = SHUT_DOWN
        raise
    except Exception:  # a bug: the client gets app.py's 500, and the row must say so
        out.status, out.error_type = 500, "api_error"
        raise
    finally:
        gw.metrics.in_flight -= 1
        record(gw, req, out)


def hand_over(out: Outcome) -> None:
    """The request's row is written by the work it handed over to (a detached run under the
    same request id, pipeline/detached.py), not by this request."""
    out.recorded = True


def record(gw: Gateway, req: Request, out: Outcome) -> None:
    """The request's one ledger row (and log line); later calls do nothing."""
    if out.recorded:
        return
    out.recorded = True
    route, key_id, endpoint = out.route, out.key.id, out.endpoint
    if out.cache_hit:
        cost: int | None = 0
    elif out.ticket:
        cost = gw.admission.settle(out.ticket, route, out.usage)
    else:
        cost = gw.admission.cost(route, out.usage)
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
        cache_hit=out.cache_hit,
    )
    gw.ledger.record(row)
    log_request(row, out.content.fields() if out.content is not None else None)
    gw.metrics.observe(row, out.tried)
    if gw.tracer is not None:
        gw.tracer.record(req, row, out.tried)
