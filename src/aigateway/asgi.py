"""Small pure-ASGI helpers: read the request, send a whole response, watch for disconnects.

No framework sits between uvicorn and our handlers: every microsecond here is paid on every
request, and nothing may buffer a streaming body.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from aigateway.errors import InvalidRequest, Overloaded, RequestTimeout, RequestTooLarge
from aigateway.memory import LARGE_BODY, give_back

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"
SSE = b"text/event-stream; charset=utf-8"
BODY_TIMEOUT = "aigateway.body_timeout"  # scope key: the server cut the body off (connections.py)
# Scope key set by the server's protocol (connections.py), which calls the `Watch` stored under it
# when the connection is lost; absent under any other server, where a task watches `receive`.
GONE = "aigateway.gone"


class InFlight:
    """Request body bytes this process holds at once (server.max_inflight_body_bytes): a body is
    held from its first byte until its request is over (retries and fallbacks resend it)."""

    limit = 256 * 1024 * 1024
    held = 0


class _Ids:
    """Request ids: "req_" and 24 hex digits, a random 64-bit prefix per process (drawn again in a
    forked child, and when the counter wraps) and a 32-bit counter: unique across processes and
    restarts without a system call per request."""

    prefix = ""
    counter: itertools.count[int] = itertools.count()

    @classmethod
    def reseed(cls) -> None:
        cls.prefix = "req_" + os.urandom(8).hex()
        cls.counter = itertools.count()


_Ids.reseed()
os.register_at_fork(after_in_child=_Ids.reseed)


def new_request_id() -> str:
    n = next(_Ids.counter)
    if n > 0xFFFFFFFF:
        _Ids.reseed()
        n = next(_Ids.counter)
    return f"{_Ids.prefix}{n:08x}"


class Watch:
    """Calls `callback` once when the client disconnects, until `stop`; `left` tells whether it
    did. Under the gateway's own server the protocol calls it from `connection_lost` (no task, no
    wake-up per request); under any other server a task reads `receive` until the disconnect."""

    __slots__ = ("_callback", "_task", "left", "stopped")

    def __init__(self, callback: Callable[[], object]):
        self._callback = callback
        self._task: asyncio.Task[None] | None = None
        self.left = False
        self.stopped = False

    def fire(self) -> None:
        if not self.stopped and not self.left:
            self.left = True
            self._callback()

    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is None:
            self.fire()

    def stop(self) -> None:
        self.stopped = True
        if self._task is not None:
            self._task.cancel()


class Request:
    """One HTTP exchange: the parts of the scope handlers need, read once."""

    __slots__ = (
        "_receive",
        "_scope",
        "headers",
        "held",
        "id",
        "method",
        "path",
        "query",
        "responded",
        "send",
        "started",
        "started_mono",
    )

    def __init__(self, scope: Scope, receive: Receive, send: Send):
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query: bytes = scope.get("query_string", b"")
        # Header names arrive lower-cased (ASGI); the last value of a repeated header wins,
        # except that callers needing all values can read scope themselves.
        self.headers: dict[bytes, bytes] = dict(scope["headers"])
        self._receive = receive
        self._scope = scope
        self.held = 0  # body bytes counted in InFlight.held, given back by app.py when it is over
        self.send = send
        self.responded = False  # http.response.start sent (`start` is its only sender)
        self.id = new_request_id()
        self.started = time.time()
        self.started_mono = time.monotonic()

    async def body(self, limit: int) -> bytes:
        declared = self.headers.get(b"content-length")
        if declared is not None:
            try:
                expected = int(declared)
            except ValueError:
                raise InvalidRequest("content-length header is not a number") from None
            if expected > limit:
                raise RequestTooLarge(f"Request body exceeds the limit of {limit} bytes")
            self._hold(expected)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise RequestTooLarge(f"Request body exceeds the limit of {limit} bytes")
                if size > self.held:  # no (or a wrong) content-length: held as it arrives
                    self._hold(size - self.held)
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        if BODY_TIMEOUT in self._scope:
            raise RequestTimeout("The request body did not arrive in time (server.body_timeout)")
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _hold(self, size: int) -> None:
        if InFlight.held + size > InFlight.limit and size:
            raise Overloaded("The gateway holds too many request bodies right now; retry shortly")
        InFlight.held += size
        self.held += size

    def release(self) -> None:
        """The request is over: its body no longer counts. The last large body to go hands the
        memory bodies took back to the system (memory.py)."""
        InFlight.held -= self.held
        if self.held >= LARGE_BODY and InFlight.held < LARGE_BODY:
            give_back()
        self.held = 0

    async def wait_disconnect(self) -> None:
        """Returns when the client goes away. Only call once the body has been read."""
        while (await self._receive())["type"] != "http.disconnect":
            pass

    def when_gone(self, callback: Callable[[], object]) -> Watch:
        """Calls `callback` if the client disconnects before the returned watch is stopped.
        Only call once the body has been read; one watch at a time per request."""
        watch = Watch(callback)
        scope = self._scope
        if GONE in scope:
            scope[GONE] = watch
        else:
            watch._task = task = asyncio.get_running_loop().create_task(self.wait_disconnect())
            task.add_done_callback(watch._done)
        return watch

    async def start(self, status: int, headers: list[tuple[bytes, bytes]], content_type: bytes | None) -> None:
        """Sends status and headers; every response carries our `request-id`."""
        headers.insert(0, (b"request-id", self.id.encode()))
        if content_type is not None:
            headers.append((b"content-type", content_type))
        self.responded = True
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def respond(
        self,
        status: int,
        body: bytes,
        headers: list[tuple[bytes, bytes]] | None = None,
        content_type: bytes | None = JSON,
    ) -> None:
        """A whole response in one go."""
        headers = headers if headers is not None else []
        headers.append((b"content-length", str(len(body)).encode()))
        await self.start(status, headers, content_type)
        await self.send({"type": "http.response.body", "body": body, "more_body": False})


class ClientGone(Exception):
    """The client disconnected before we could answer."""
