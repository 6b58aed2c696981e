"""Renders the error tree into Anthropic's envelope (spec §6.1) on the Messages door."""

from __future__ import annotations

import msgspec

from aigateway.asgi import Request
from aigateway.errors import GatewayError, UpstreamError, is_retryable_status
from aigateway.wire.sse import encode_event

_encode = msgspec.json.encode

# Headers of an upstream error response that clients act on; everything else stays behind.
_FORWARDED_ERROR_HEADERS = ("retry-after", "retry-after-ms", "x-should-retry")


def error_body(error_type: str, message: str, request_id: str) -> bytes:
    return _encode({"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id})


async def send_error(req: Request, exc: GatewayError) -> None:
    if isinstance(exc, UpstreamError) and exc.passthrough_body is not None:
        # The upstream's own wording reaches the client unchanged (clients match on it).
        headers = [
            (name.encode(), exc.headers[name].encode("latin-1"))
            for name in _FORWARDED_ERROR_HEADERS
            if name in exc.headers
        ]
        if "request-id" in exc.headers:
            headers.append((b"x-upstream-request-id", exc.headers["request-id"].encode("latin-1")))
        content_type = exc.headers.get("content-type", "application/json").encode("latin-1")
        await req.respond(exc.status, exc.passthrough_body, headers, content_type)
        return
    # 4xx validation errors will not get better on retry; tell the SDKs so (spec §6.3).
    retryable = exc.retryable if isinstance(exc, UpstreamError) else is_retryable_status(exc.status)
    headers = [(b"x-should-retry", b"true" if retryable else b"false")]
    if isinstance(exc, UpstreamError):
        headers += [(name.encode(), value.encode("latin-1")) for name, value in exc.headers.items()]
    headers += exc.response_headers
    await req.respond(exc.status, error_body(exc.error_type, exc.message, req.id), headers)


def stream_error_event(error_type: str, message: str, request_id: str) -> bytes:
    return encode_event("error", error_body(error_type, message, request_id))
