"""What every door does with an error before its own envelope: the headers clients act on.

- An upstream error that carries the upstream's own body (`passthrough_body`) goes back as it
  came, with its content type and only the upstream's retry advice (`forwarded_headers`).
- Any other error gets `x-should-retry`, which the Anthropic and OpenAI SDKs obey over their own
  status rules (spec §6.3): 4xx validation errors will not get better on retry.
"""

from __future__ import annotations

from aigateway.asgi import Request
from aigateway.errors import GatewayError, UpstreamError, is_retryable_status

Headers = list[tuple[bytes, bytes]]

# Headers of an upstream error response that clients act on; everything else stays behind.
_FORWARDED = frozenset({"retry-after", "retry-after-ms", "x-should-retry"})


def forwarded_headers(exc: UpstreamError) -> Headers:
    return [(name.encode(), value.encode("latin-1")) for name, value in exc.headers.items() if name in _FORWARDED]


async def send_passthrough(req: Request, exc: UpstreamError, body: bytes, headers: Headers) -> None:
    """The upstream's own error `body`, unchanged (clients match on its wording)."""
    content_type = exc.headers.get("content-type", "application/json").encode("latin-1")
    await req.respond(exc.status, body, headers, content_type)


def error_headers(exc: GatewayError, upstream: Headers) -> Headers:
    """`x-should-retry`, then the `upstream` headers the door passes on, then the gateway's own
    (retry-after and the limit headers of a refused request)."""
    retryable = exc.retryable if isinstance(exc, UpstreamError) else is_retryable_status(exc.status)
    return [(b"x-should-retry", b"true" if retryable else b"false"), *upstream, *exc.response_headers]
