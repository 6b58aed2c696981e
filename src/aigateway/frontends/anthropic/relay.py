"""After the commit point: a stream relayed to the client as it arrives, and nothing else.

Invariants: the held bytes go first, then every completed event as soon as its last byte
arrives; a failure (upstream error, cut, the attempt's total timeout) becomes exactly one
`event: error` and the end of the body, never a silent stop; a client that leaves cancels the
upstream at once (the connection is dropped, not returned to the pool).
"""

from __future__ import annotations

import asyncio

from aigateway.asgi import SSE, Request
from aigateway.errors import UpstreamError, UpstreamUnavailable
from aigateway.frontends.anthropic.errors import stream_error_event
from aigateway.frontends.anthropic.upstream import Headers, Streaming
from aigateway.routing.catalog import Route

CLIENT_CLOSED = 499  # nginx's convention for "client closed request", used in the ledger only


class Ended:
    """How the relay ended, for the ledger."""

    def __init__(self) -> None:
        self.status = 200
        self.error_type: str | None = None
        self.client_gone = False


async def relay_stream(
    req: Request, route: Route, opened: Streaming, headers: Headers, deadline: float | None
) -> Ended:
    """`deadline`: loop time by which the attempt must be over (its total timeout), or None."""
    relay, ended = opened.relay, Ended()
    await req.start(200, [*headers, (b"cache-control", b"no-cache")], SSE)
    send = req.send

    async def pump() -> None:
        separator = b""
        try:
            if opened.held:
                await send({"type": "http.response.body", "body": opened.held, "more_body": True})
            async with asyncio.timeout_at(deadline):
                async for chunk in opened.chunks:
                    complete = relay.feed(chunk)
                    if complete:
                        await send({"type": "http.response.body", "body": complete, "more_body": True})
            rest = relay.finish()
            if rest:
                await send({"type": "http.response.body", "body": rest, "more_body": True})
                separator = b"\n\n"  # that last event had no blank line of its own
            if not relay.saw_stop and relay.error_type is None:
                raise UpstreamUnavailable(
                    f"Upstream provider '{route.provider}' ended the stream before message_stop",
                    provider=route.provider,
                )
        except (UpstreamError, TimeoutError) as exc:
            message = (
                exc.message
                if isinstance(exc, UpstreamError)
                else f"Upstream provider '{route.provider}' exceeded its total timeout"
            )
            relay.error_type = "api_error"
            ended.status = exc.status if isinstance(exc, UpstreamError) else 504
            event = stream_error_event("api_error", message, req.id)
            await send({"type": "http.response.body", "more_body": True, "body": separator + event})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    pump_task = asyncio.ensure_future(pump())
    gone = req.watch_disconnect()
    gone.add_done_callback(lambda _: pump_task.cancel())  # the client left: stop generating for nobody
    finished = False
    try:
        await pump_task
        finished = True
    except asyncio.CancelledError:
        ended.status, ended.error_type, ended.client_gone = CLIENT_CLOSED, "client_closed", True
        if not gone.done():
            raise  # we are being cancelled ourselves (shutdown), not the client leaving
    finally:
        gone.cancel()
        if finished:
            opened.upstream.release()
        else:
            opened.upstream.close()
        if relay.error_type and ended.error_type is None:
            ended.error_type = relay.error_type
    return ended
