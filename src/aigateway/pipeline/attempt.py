"""One attempt of a client request, up to its commit point, for any door.

A door parses its client's body into an `Exchange` (exchange.py), whose `start(attempt)` returns:
- `Whole`: a complete answer (JSON, or a count), ready to send;
- `Streaming`: an upstream stream held until its first content-bearing event (DESIGN.md's commit
  point), with the bytes produced so far; nothing has reached the client yet.
Any failure before that point raises `UpstreamError`, so the attempt loop may retry or fall
over; the upstream connection of a failed or abandoned attempt is always closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aigateway.errors import UpstreamError, UpstreamUnavailable
from aigateway.ir.usage import Usage
from aigateway.providers.base import StreamRelay, UpstreamResponse
from aigateway.routing.catalog import Route

Headers = list[tuple[bytes, bytes]]
# Anthropic's in-stream error types and the status the same error has as a response (spec §6).
_ERROR_STATUS = {"overloaded_error": 529, "rate_limit_error": 429, "api_error": 500, "timeout_error": 504}


@dataclass
class Whole:
    body: bytes
    content_type: bytes | None
    headers: Headers
    usage: Usage | None = None
    stop_reason: str | None = None


@dataclass
class Streaming:
    upstream: UpstreamResponse
    relay: StreamRelay
    chunks: AsyncIterator[bytes]
    held: bytes  # everything produced before (and including) the first content
    headers: Headers
    started: float  # monotonic time the attempt began


def route_names(route: Route) -> Headers:
    return [
        (b"x-aigateway-provider", route.provider.encode()),
        (b"x-aigateway-upstream-model", route.upstream_model.encode()),
    ]


def route_headers(route: Route, upstream: UpstreamResponse) -> Headers:
    headers = route_names(route)
    upstream_id = upstream.headers.get("request-id") or upstream.headers.get("x-amzn-requestid")  # AWS: Bedrock
    if upstream_id:  # what the provider's support will ask for
        headers.append((b"x-upstream-request-id", upstream_id.encode("latin-1")))
    return headers


async def until_commit(
    route: Route, upstream: UpstreamResponse, relay: StreamRelay, headers: Headers, started: float
) -> Streaming:
    """Reads the stream until its first content-bearing event; an error or an end before it is
    an ordinary failure of this attempt."""
    chunks = upstream.chunks().__aiter__()
    held: list[bytes] = []
    while relay.first_content_at is None and relay.error_type is None:
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            held.append(relay.finish())
            if relay.saw_stop or relay.error_type is not None:
                break  # a whole stream without content (a refusal can be one)
            raise UpstreamUnavailable(
                f"Upstream provider '{route.provider}' ended the stream before any content", provider=route.provider
            ) from None
        held.append(relay.feed(chunk))
    if relay.error_type is not None and relay.first_content_at is None:
        raise _stream_failure(route, relay)
    return Streaming(upstream, relay, chunks, b"".join(held), headers, started)


def stream_error_status(error_type: str) -> int:
    """The status of the response an in-stream error of this type stands for."""
    return _ERROR_STATUS.get(error_type, 502)


def _stream_failure(route: Route, relay: StreamRelay) -> UpstreamError:
    error_type = relay.error_type or "api_error"
    message = relay.error_message or f"Upstream provider '{route.provider}' sent {error_type} before any content"
    return UpstreamError(
        message,
        provider=route.provider,
        status=stream_error_status(error_type),
        error_type=error_type,
        passthrough_body=relay.error_body,
    )
