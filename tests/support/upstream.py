"""A fake upstream that replays recorded provider responses, run in a thread of the test process.

Tests queue what it answers next (`expect`), then read what it received (`received`). Recorded
bodies are sent byte for byte, SSE split into small chunks so that relays must reassemble them.
It is also the fault-injection harness: per reply it can reset the connection, answer any status
(529 N times is N replies), stall before the first byte, hold or pause mid-stream, and send any
body (malformed JSON, a truncated stream, an error event mid-stream).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from tests.support.fixtures import Exchange
from tests.support.google import TOKEN_PATH, TokenEndpoint

_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding", "date", "server"}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunk_size: int | None = None  # send the body in pieces of this size, flushing each
    hold_after: int | None = None  # after this many chunks, wait for `release` (or the peer to leave)
    release: threading.Event = field(default_factory=threading.Event)
    stall: float = 0.0  # seconds to wait before answering at all
    reset: bool = False  # drop the connection instead of answering (a reset, as a crashed upstream)
    pause_after: int | None = None  # after this many chunks, go silent for `pause` seconds
    pause: float = 0.0
    answer: Callable[[Received], Reply] | None = None  # the reply, computed from the request

    @classmethod
    def replay(cls, ex: Exchange, *, chunk_size: int | None = None) -> Reply:
        headers = {k: v for k, v in ex.response_headers.items() if k not in _HOP_HEADERS}
        headers["content-type"] = ex.content_type
        if chunk_size is None and ex.stream and ex.status == 200:
            chunk_size = 37  # arbitrary, so chunks split lines and events
        return cls(status=ex.status, body=ex.response_bytes(), headers=headers, chunk_size=chunk_size)


@dataclass
class Received:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes
    raw_path: str = ""  # the request target exactly as sent (percent-encoding kept)


@dataclass
class Served:
    reply: Reply
    peer_closed_at: float | None = None
    finished: threading.Event = field(default_factory=threading.Event)


class FakeUpstream:
    def __init__(self) -> None:
        self._queue: deque[Served] = deque()
        self.received: list[Received] = []
        self.tokens = TokenEndpoint()  # Google's OAuth token endpoint, outside the reply queue
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    # -- test API
    def expect(self, *replies: Reply) -> list[Served]:
        served = [Served(r) for r in replies]
        self._queue.extend(served)
        return served

    def reset(self) -> None:
        self._queue.clear()
        self.received.clear()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- server
    def start(self) -> FakeUpstream:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(TOKEN_PATH, self._token)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _token(self, request: web.Request) -> web.StreamResponse:
        status, body = self.tokens.grant(await request.read())
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.method, request.path_qs, dict(request.headers), body, request.raw_path))
        if not self._queue:
            return web.json_response(
                {"type": "error", "error": {"type": "api_error", "message": "fake upstream: no reply queued"}},
                status=500,
            )
        served = self._queue.popleft()
        if served.reply.answer is not None:
            served.reply = served.reply.answer(self.received[-1])
        try:
            return await self._answer(request, served)
        finally:
            served.finished.set()

    async def _answer(self, request: web.Request, served: Served) -> web.StreamResponse:
        reply = served.reply
        if reply.stall:
            await asyncio.sleep(reply.stall)
        if reply.reset:
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        if reply.chunk_size is None:
            return web.Response(status=reply.status, body=reply.body, headers=reply.headers)
        resp = web.StreamResponse(status=reply.status, headers=reply.headers)
        await resp.prepare(request)
        body, size = reply.body, reply.chunk_size
        for n, start in enumerate(range(0, len(body), size)):
            if n == reply.hold_after and not await self._hold(request, served):
                return resp
            if n == reply.pause_after:
                await asyncio.sleep(reply.pause)
            try:
                await resp.write(body[start : start + size])
            except ConnectionError:
                served.peer_closed_at = time.monotonic()
                return resp
        await resp.write_eof()
        return resp

    async def _hold(self, request: web.Request, served: Served) -> bool:
        """Waits for the test to release the rest; False if the peer went away first."""
        while not served.reply.release.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                served.peer_closed_at = time.monotonic()
                return False
            await asyncio.sleep(0.005)
        return True
