"""After the commit point: a stream relayed to the client as it arrives, and nothing else.

Invariants: the held bytes go first, then every completed event as soon as its last byte
arrives; a failure (upstream error, cut, the attempt's total timeout) becomes exactly one
`event: error` and the end of the body, never a silent stop; a client that leaves cancels the
upstream at once (the connection is dropped, not returned to the pool).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from aigateway.asgi import SSE, Request
from aigateway.errors import UpstreamError, UpstreamUnavailable
from aigateway.pipeline.accounting import CLIENT_CLOSED, SHUT_DOWN, SHUTTING_DOWN
from aigateway.pipeline.attempt import Headers, Streaming, stream_error_status
from aigateway.providers.base import StreamRelay
from aigateway.routing.catalog import Route


@dataclass(frozen=True)
class Ending:
    """How a door's stream ends: what counts as finished, and how it says a failure."""

    finished: Callable[[StreamRelay], bool]
    unfinished: str  # completes "Upstream provider 'x' ended the stream before ..."
    error: Callable[[UpstreamError, str, bytes], bytes]  # (error, request id, separator) -> bytes


class Ended:
    """How the relay ended, for the ledger."""

    def __init__(self, keep: bool = False) -> None:
        self.status = 200
        self.error_type: str | None = None
        self.client_gone = False
        self.sent: list[bytes] | None = [] if keep else None  # the body's bytes, for the response cache

    def note(self, relay_error: str | None) -> None:
        """An error the stream itself carried, unless something else ended it first: the status
        is the one that error has as a response, as before the commit point."""
        if relay_error and self.error_type is None:
            self.error_type = relay_error
            if self.status == 200:
                self.status = stream_error_status(relay_error)


async def relay_stream(
    req: Request,
    route: Route,
    opened: Streaming,
    headers: Headers,
    deadline: float | None,
    ending: Ending,
    before_end: Callable[[Ended], None] | None = None,
    keep: bool = False,
) -> Ended:
    """`deadline`: loop time by which the attempt must be over (its total timeout), or None.
    `before_end` runs just before the body's last message, so the ledger row exists before the
    client can consider the answer complete. `ending` is the door's way of ending a stream.
    `keep`: the bytes sent are kept in `Ended.sent`."""
    ended = Ended(keep)
    await req.start(200, [*headers, (b"cache-control", b"no-cache")], SSE)
    pump_task = asyncio.ensure_future(_pump(req, route, opened, ended, deadline, before_end, ending))
    gone = req.when_gone(pump_task.cancel)  # the client left: stop generating for nobody
    finished = False
    try:
        await pump_task
        finished = True
    except asyncio.CancelledError:
        if not gone.left:  # we are being cancelled ourselves (shutdown), not the client leaving
            ended.status, ended.error_type = SHUT_DOWN
            if before_end is not None:  # the row, with the usage the stream showed so far
                before_end(ended)
            cut = UpstreamUnavailable(SHUTTING_DOWN, provider=route.provider, status=SHUT_DOWN[0])
            with contextlib.suppress(Exception):  # the client is told in its protocol, if it is still there
                await req.send(
                    {"type": "http.response.body", "body": ending.error(cut, req.id, b""), "more_body": True}
                )
                await req.send({"type": "http.response.body", "body": b"", "more_body": False})
            raise
        ended.status, ended.error_type, ended.client_gone = CLIENT_CLOSED, "client_closed", True
    finally:
        gone.stop()
        if finished:
            opened.upstream.release()
        else:
            opened.upstream.close()
        ended.note(opened.relay.error_type)
    return ended


async def _pump(
    req: Request,
    route: Route,
    opened: Streaming,
    ended: Ended,
    deadline: float | None,
    before_end: Callable[[Ended], None] | None,
    ending: Ending,
) -> None:
    relay, separator, sent = opened.relay, b"", ended.sent

    async def send(body: bytes) -> None:
        if sent is not None:
            sent.append(body)
        await req.send({"type": "http.response.body", "body": body, "more_body": True})

    try:
        if opened.held:
            await send(opened.held)
        async with asyncio.timeout_at(deadline):
            async for chunk in opened.chunks:
                complete = relay.feed(chunk)
                if complete:
                    await send(complete)
        rest = relay.finish()
        if rest:
            await send(rest)
            separator = b"\n\n"  # that last event had no blank line of its own
        if not ending.finished(relay) and relay.error_type is None:
            raise UpstreamUnavailable(
                f"Upstream provider '{route.provider}' ended the stream before {ending.unfinished}",
                provider=route.provider,
            )
    except (UpstreamError, TimeoutError) as exc:
        if not isinstance(exc, UpstreamError):
            what = f"Upstream provider '{route.provider}' exceeded its total timeout"
            exc = UpstreamUnavailable(what, provider=route.provider, status=504)
        relay.error_type, ended.status = "api_error", exc.status
        await send(ending.error(exc, req.id, separator))
    if before_end is not None:
        ended.note(relay.error_type)
        before_end(ended)
    await req.send({"type": "http.response.body", "body": b"", "more_body": False})
