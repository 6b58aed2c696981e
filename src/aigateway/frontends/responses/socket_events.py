"""A turn's answer on the WebSocket: the events of the door's SSE stream, one JSON event per text
frame, and errors as the Responses API's WebSocket `error` event.

- `Frames` is the `send` of a turn's request (websocket.py `Socket.request`): the SSE body the
  pipeline relays (the door's own stream encoder, or an upstream's passthrough stream) is cut
  into its events and each event's data sent as one frame; the terminal event's response is
  kept (`final`) for the socket's history. A whole JSON answer (an upstream that ignored
  `stream`) is sent as its terminal event;
- `error_event`: `{"type": "error", "status", "error": {"type", "code", "message", "param"}}`
  with OpenAI's envelope (envelope_openai.py), or the upstream's own error object on
  passthrough; the headers a client acts on (`retry-after`, rate limits) under `headers`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.asgi import Message
from aigateway.errors import GatewayError, UpstreamError
from aigateway.frontends.envelope_openai import openai_error
from aigateway.pipeline.errors import error_headers, forwarded_headers
from aigateway.websocket import Socket
from aigateway.wire.sse import ServerSentEvent, SSEDecoder

TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_encode = msgspec.json.encode
_decode = msgspec.json.decode


class Frames:
    def __init__(self, socket: Socket) -> None:
        self._socket = socket
        self._sse: SSEDecoder | None = None
        self._whole: list[bytes] = []
        self._status = 200
        self.final: dict[str, Any] | None = None  # the response object of the terminal event

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
            content_type = dict(message.get("headers", ())).get(b"content-type", b"")
            self._sse = SSEDecoder() if content_type.startswith(b"text/event-stream") else None
            return
        if message["type"] != "http.response.body":
            return
        body, more = message.get("body", b""), message.get("more_body", False)
        if self._sse is None:
            self._whole.append(body)
            if not more:
                await self._answer(b"".join(self._whole))
            return
        events = self._sse.feed(body)[1] if body else []
        if not more:
            events += self._sse.finish()[1]
        for event in events:
            await self._event(event)

    async def _event(self, event: ServerSentEvent) -> None:
        if not event.data or event.data == "[DONE]":
            return
        if event.event is None or event.event in TERMINAL:
            doc = _json(event.data)
            if isinstance(doc, dict) and doc.get("type") in TERMINAL and isinstance(doc.get("response"), dict):
                self.final = doc["response"]
        await self._socket.send_text(event.data)

    async def _answer(self, body: bytes) -> None:
        """A whole JSON answer: a response object, or an error envelope."""
        doc = _json(body)
        if self._status != 200 or not isinstance(doc, dict):
            error = doc.get("error") if isinstance(doc, dict) else None
            await self._socket.send_text(_text({"type": "error", "status": self._status, "error": error}))
            return
        kind = f"response.{doc.get('status')}"
        self.final = doc
        event = {"type": kind if kind in TERMINAL else "response.completed", "sequence_number": 0, "response": doc}
        await self._socket.send_text(_text(event))


def error_event(exc: GatewayError) -> str:
    upstream = forwarded_headers(exc) if isinstance(exc, UpstreamError) else []
    headers = {name.decode(): value.decode("latin-1") for name, value in error_headers(exc, upstream)}
    if isinstance(exc, UpstreamError) and exc.passthrough_body is not None:
        status, body = exc.status, exc.passthrough_body
    else:
        status, body = openai_error(exc)
    doc = _json(body)
    error = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(error, dict):
        error = {"type": "server_error", "code": None, "message": exc.message, "param": None}
    return _text({"type": "error", "status": status, "error": error, "headers": headers})


def _json(data: bytes | str) -> Any:
    try:
        return _decode(data)
    except msgspec.DecodeError:
        return None


def _text(event: dict[str, Any]) -> str:
    return _encode(event).decode()
