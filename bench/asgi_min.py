"""The smallest app for server_compare.py, as ASGI (`app`) and as RSGI (`rsgi_app`, granian's own).

It reads the request body whole, then answers `/sse` with a short Anthropic-shaped stream (12
events, one server message and one write per event, as the gateway relays) and anything else
with a small JSON body (content-length set). The ASGI app runs the lifespan protocol like the
gateway's. No dependencies: both servers import it as it is.
"""

from __future__ import annotations

from typing import Any

JSON = (
    b'{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":'
    b'[{"type":"text","text":"Hello! How can I help you today?"}],"stop_reason":"end_turn",'
    b'"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":12}}'
)
_START = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_bench","type":"message",'
    b'"role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":'
    b'{"input_tokens":12,"output_tokens":1}}}\n\n'
)
_DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"Hello there, "}}\n\n'
)
_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
EVENTS = [_START, *[_DELTA] * 10, _STOP]

_JSON_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(JSON)).encode())]
_SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]
_JSON_START = {"type": "http.response.start", "status": 200, "headers": _JSON_HEADERS}
_SSE_START = {"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if scope["path"] == "/sse":
        await send(_SSE_START)
        for event in EVENTS:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await send(_JSON_START)
    await send({"type": "http.response.body", "body": JSON})


_RSGI_JSON_HEADERS = [(k.decode(), v.decode()) for k, v in _JSON_HEADERS]
_RSGI_SSE_HEADERS = [(k.decode(), v.decode()) for k, v in _SSE_HEADERS]


class _RSGI:
    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        await protocol()  # the whole body
        if scope.path == "/sse":
            transport = protocol.response_stream(200, _RSGI_SSE_HEADERS)
            for event in EVENTS:
                await transport.send_bytes(event)
            return
        protocol.response_bytes(200, _RSGI_JSON_HEADERS, JSON)


rsgi_app = _RSGI()
