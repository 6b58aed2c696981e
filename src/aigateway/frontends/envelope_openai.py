"""OpenAI's error envelope, shared by the doors that answer in OpenAI's protocols (Chat
Completions, the Responses API): `{"error": {"message", "type", "param", "code"}}` with OpenAI's
statuses (openai-python `_exceptions.py` maps status to exception class; the body's `type`/`code`
follow the API's own errors, e.g. `invalid_api_key`, `model_not_found`, `rate_limit_exceeded`).
Anthropic's 529 becomes 503, the status OpenAI uses for an overloaded engine. An OpenAI-speaking
upstream's own error body (passthrough) reaches the client unchanged.
"""

from __future__ import annotations

import re

import msgspec

from aigateway.asgi import Request
from aigateway.errors import GatewayError, UpstreamError
from aigateway.pipeline.errors import error_headers, forwarded_headers, send_passthrough

_encode = msgspec.json.encode
_PARAM = re.compile(r"^([A-Za-z_][\w.\[\]]*): ")

# Anthropic error type -> (status override or None, OpenAI type, OpenAI code)
_TYPES: dict[str, tuple[int | None, str, str | None]] = {
    "invalid_request_error": (None, "invalid_request_error", None),
    "authentication_error": (None, "invalid_request_error", "invalid_api_key"),
    "permission_error": (None, "invalid_request_error", "permission_denied"),
    "billing_error": (None, "insufficient_quota", "insufficient_quota"),  # OpenAI's word for a spent budget
    "not_found_error": (None, "invalid_request_error", "not_found"),
    "request_too_large": (None, "invalid_request_error", "request_too_large"),
    "rate_limit_error": (None, "requests", "rate_limit_exceeded"),
    "overloaded_error": (503, "server_error", "overloaded"),
    "api_error": (None, "server_error", None),
}


def openai_error(exc: GatewayError) -> tuple[int, bytes]:
    status, kind, code = _TYPES.get(exc.error_type, (None, _fallback_type(exc.status), exc.error_type))
    status = status or (503 if exc.status == 529 else exc.status)
    if exc.status == 404 and exc.message.startswith("model:"):
        code = "model_not_found"
    return status, error_body(exc.message, kind, code, _param(exc))


def error_body(message: str, kind: str, code: str | None, param: str | None = None) -> bytes:
    return _encode({"error": {"message": message, "type": kind, "param": param, "code": code}})


def _fallback_type(status: int) -> str:
    return "server_error" if status >= 500 else "invalid_request_error"


def _param(exc: GatewayError) -> str | None:
    if exc.status != 400 or isinstance(exc, UpstreamError):
        return None
    m = _PARAM.match(exc.message)
    return m.group(1) if m else None


async def send_error(req: Request, exc: GatewayError) -> None:
    if isinstance(exc, UpstreamError) and exc.passthrough_body is not None:
        await send_passthrough(req, exc, exc.passthrough_body, forwarded_headers(exc))
        return
    upstream = forwarded_headers(exc) if isinstance(exc, UpstreamError) else []
    status, body = openai_error(exc)
    await req.respond(status, body, error_headers(exc, upstream))
