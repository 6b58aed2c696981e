"""A WebSocket as the gateway serves it (ASGI): refused or accepted on its upgrade request, its
messages read as they arrive, and each message served as an HTTP request the doors already serve.

Invariants:
- the app decides before anything is sent: `refuse` answers the upgrade with an HTTP response
  (ASGI's WebSocket Denial Response; a plain close where the server has none), `accept` completes it;
- messages are read in the background whatever a turn is doing, so a close is seen at once
  (`gone`); at most `BACKLOG` messages wait, past that the socket is closed (1008);
- `request(body, respond)` is one message as an `asgi.Request`: its body is `body`, its client
  leaving is the socket closing (so the pipeline cancels the upstream call, as for HTTP), and
  what the handler sends goes to `respond`, which writes it as frames;
- nothing is sent once the socket is closed, as uvicorn drops the body of an HTTP client that left.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aigateway.asgi import Message, Receive, Request, Scope, Send

BACKLOG = 16  # messages received while a turn runs, waiting for their turn


class Socket:
    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._receive, self._send = receive, send
        self._http: dict[str, Any] = {  # the scope of the HTTP requests its messages stand for
            "type": "http",
            "method": "POST",
            "path": scope["path"],
            "query_string": scope.get("query_string", b""),
            "headers": scope["headers"],
        }
        self._denials = "websocket.http.response" in scope.get("extensions", {})
        self._messages: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self.gone = asyncio.Event()  # the client closed the socket (or the server is shutting down)
        self._closed = False

    async def connected(self) -> bool:
        """Waits for the upgrade request; False if the client left first."""
        message = await self._receive()
        return bool(message["type"] == "websocket.connect")

    async def refuse(self, status: int, body: bytes, content_type: bytes) -> None:
        if not self._denials:
            await self._send({"type": "websocket.close", "code": 1008})
            return
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await self._send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await self._send({"type": "websocket.http.response.body", "body": body})

    async def accept(self) -> None:
        await self._send({"type": "websocket.accept"})
        self._reader = asyncio.create_task(self._read(), name="websocket-reader")

    async def next(self) -> bytes | None:
        """The next message, or None once the socket is closed."""
        if self.gone.is_set():
            return None
        return await self._messages.get()

    async def send_text(self, text: str) -> None:
        if self.gone.is_set() or self._closed:
            return
        try:
            await self._send({"type": "websocket.send", "text": text})
        except OSError:  # uvicorn's ClientDisconnected: the client is gone
            self._left()

    async def close(self, code: int = 1000) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self._close(code)

    async def _close(self, code: int) -> None:
        if not (self.gone.is_set() or self._closed):
            self._closed = True
            with contextlib.suppress(OSError):  # the client left first
                await self._send({"type": "websocket.close", "code": code})
        self._left()

    def request(self, body: bytes, respond: Send) -> Request:
        """One message as an HTTP request whose answer goes to `respond`."""
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await self.gone.wait()
            return {"type": "http.disconnect"}

        return Request(self._http, receive, respond)

    async def _read(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "websocket.disconnect":
                self._left()
                return
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode()
            if self._messages.qsize() >= BACKLOG:
                await self._close(1008)
                return
            self._messages.put_nowait(data)

    def _left(self) -> None:
        if not self.gone.is_set():
            self.gone.set()
            self._messages.put_nowait(None)
