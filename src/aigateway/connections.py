"""Client connections: how long a client may take, how much it may hold, how many it may open.

uvicorn's httptools protocol, with the limits it lacks (server.* settings, README: Limits):
- headers: a connection must deliver a request's line and headers within `header_timeout` of
  opening (or of that request's first byte), and in at most `max_header_bytes`; else a 408 or
  431 and the connection is closed. uvicorn arms no timer on a new connection and disarms its
  keep-alive timer on any byte, so a silent or trickling client was held forever;
- body: once it has started, a body must arrive whole within `body_timeout`. The timer is armed
  only when a body spans several reads (a small request arrives whole and costs nothing); on
  expiry the request is marked (`BODY_TIMEOUT` in its scope) and ends, and the door answers 408
  in its own envelope (asgi.py), the connection closed after it;
- connections: past `max_connections` open ones, a new connection gets a 503 and is closed at
  once, so file descriptors are left for the upstreams, the store and /health;
- idle keep-alive connections are closed after `keep_alive_timeout` (uvicorn's own timer).
Per request: the header timer is armed only when a request's headers span reads (at the end
of the read that brought its first bytes, so the limit still runs from them): a request whose
headers arrive in one read, nearly all of them, arms no timer (arming and cancelling one cost
2.3 µs). What is left is an overridden method per parser callback and a comparison per read:
bench/server_compare.py measured 0-5 µs of CPU per request over plain uvicorn, within its
noise on the shared machine (3-8 µs with the per-request timer; bench/README.md, G12).
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from aigateway.asgi import BODY_TIMEOUT, GONE, Watch
from aigateway.observability.logging import log
from aigateway.settings import ServerConfig


def _plain(status: bytes, message: bytes) -> bytes:
    body = b'{"type":"error","error":{"type":"invalid_request_error","message":"' + message + b'"}}'
    head = b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\nconnection: close\r\n"
    return head + b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body


_HEADERS_LATE = _plain(b"408 Request Timeout", b"The request headers did not arrive in time")
_HEADERS_BIG = _plain(b"431 Request Header Fields Too Large", b"The request headers are too large")
_TOO_MANY = _plain(b"503 Service Unavailable", b"Too many open connections").replace(
    b"invalid_request_error", b"overloaded_error"
)


class GuardedProtocol(HttpToolsProtocol):
    limits: ServerConfig  # set on the subclass `protocol_for` makes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._in_headers = True  # between requests, or in the middle of a request's headers
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(_TOO_MANY)
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            watch = cycle.scope.get(GONE)
            if isinstance(watch, Watch):  # the request watches for its client leaving (asgi.Request.when_gone)
                watch.fire()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_headers:  # counted after parsing: a read may hold a request's start and more
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse(_HEADERS_BIG)
            elif self._header_timer is None:  # a request's headers span reads: now they are timed
                self._arm_header_timer()
        elif self._body_timer is None and self.cycle is not None and self.cycle.more_body and not self._in_headers:
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_late)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers, self._header_bytes = True, 0  # timed only if they span reads (data_received)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        self.scope[GONE] = None  # type: ignore[literal-required]  # connection_lost tells the request
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._in_headers, self._header_bytes = True, 0  # uvicorn's keep-alive timer runs now

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.limits.header_timeout, self._headers_late)

    def _headers_late(self) -> None:
        self._header_timer = None
        if self._in_headers and (self.cycle is None or self.cycle.response_complete):
            self._refuse(_HEADERS_LATE)

    def _body_late(self) -> None:
        """Ends the body where it is; the door reads the mark and answers 408, then the
        connection closes (the rest of the body is never read)."""
        self._body_timer = None
        cycle = self.cycle
        if cycle is None or not cycle.more_body or cycle.response_complete:
            return
        cycle.scope[BODY_TIMEOUT] = True  # type: ignore[literal-required]
        cycle.more_body, cycle.keep_alive = False, False
        cycle.message_event.set()
        self.flow.pause_reading()

    def _refuse(self, response: bytes) -> None:
        self._cancel_timers()
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()

    def _cancel_timers(self) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None


def protocol_for(limits: ServerConfig) -> type[GuardedProtocol]:
    return type("GatewayProtocol", (GuardedProtocol,), {"limits": limits})


def raise_fd_limit(limits: ServerConfig) -> None:
    """Raises the soft file-descriptor limit to the hard one (the usual default soft limit, 1024,
    is below `max_connections`), and says so when even that leaves too few for the upstreams."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft < limits.max_connections + 1024:
        fields = {"fd_limit": soft, "max_connections": limits.max_connections}
        log.warning("file-descriptor limit leaves little room beside server.max_connections", extra={"fields": fields})
