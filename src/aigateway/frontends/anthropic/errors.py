"""Renders the error tree into Anthropic's envelope (spec §6.1) on the Messages door."""

from __future__ import annotations

import msgspec

from aigateway.asgi import Request
from aigateway.errors import GatewayError, UpstreamError
from aigateway.pipeline.errors import error_headers, forwarded_headers, send_passthrough
from aigateway.wire.sse import encode_event

_encode = msgspec.json.encode


def error_body(error_type: str, message: str, request_id: str) -> bytes:
    return _encode({"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id})


async def send_error(req: Request, exc: GatewayError) -> None:
    if isinstance(exc, UpstreamError) and exc.passthrough_body is not None:
        headers = forwarded_headers(exc)
        if "request-id" in exc.headers:
            headers.append((b"x-upstream-request-id", exc.headers["request-id"].encode("latin-1")))
        await send_passthrough(req, exc, exc.passthrough_body, headers)
        return
    upstream = []
    if isinstance(exc, UpstreamError):  # what its provider chose to pass on
        upstream = [(name.encode(), value.encode("latin-1")) for name, value in exc.headers.items()]
    await req.respond(exc.status, error_body(exc.error_type, exc.message, req.id), error_headers(exc, upstream))


def stream_error_event(error_type: str, message: str, request_id: str) -> bytes:
    return encode_event("error", error_body(error_type, message, request_id))
