"""One attempt of a `/v1/messages` (or count_tokens) request, up to its commit point.

`Call.start(attempt)` calls the attempt's upstream in whichever protocol it speaks for that
model (passthrough when it speaks Anthropic's, the translated path otherwise) and returns:
- `Whole`: a complete answer (JSON, or a count), ready to send;
- `Streaming`: an upstream stream held until its first content-bearing event (DESIGN.md's commit
  point), with the bytes produced so far; nothing has reached the client yet.
Any failure before that point raises `UpstreamError`, so the attempt loop may retry or fall
over; the upstream connection of a failed or abandoned attempt is always closed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from aigateway.asgi import JSON, Request
from aigateway.errors import UpstreamError, UpstreamUnavailable
from aigateway.frontends.anthropic import translate
from aigateway.frontends.anthropic.request import MessagesHead, replace_model
from aigateway.gateway import Gateway
from aigateway.ir.messages import MessagesRequest, parse_request
from aigateway.ir.usage import Usage
from aigateway.providers.anthropic.response import read_usage
from aigateway.providers.anthropic.stream import AnthropicStreamTap
from aigateway.providers.base import PassthroughRequest, TranslatingProvider, UpstreamResponse
from aigateway.routing.catalog import Route
from aigateway.routing.plan import Attempt
from aigateway.tokens import COUNT_HEADER, count_header

Headers = list[tuple[bytes, bytes]]
# Anthropic's in-stream error types and the status the same error has as a response (spec §6).
_ERROR_STATUS = {"overloaded_error": 529, "rate_limit_error": 429, "api_error": 500, "timeout_error": 504}


class StreamRelay(Protocol):
    """Upstream bytes in, client SSE bytes out, and what the ledger needs to know at the end."""

    saw_stop: bool
    error_type: str | None
    error_message: str | None  # a translated stream's own account of an upstream failure
    first_content_at: float | None

    @property
    def usage(self) -> Usage: ...

    @property
    def stop_reason(self) -> str | None: ...

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


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


class Call:
    """What every attempt of one client request shares: the body, parsed once, as needed."""

    def __init__(self, gw: Gateway, req: Request, body: bytes, head: Any, model: str, path: str):
        self.gw, self.req, self.body, self.head, self.model, self.path = gw, req, body, head, model, path
        self.messages = isinstance(head, MessagesHead)
        self.stream = self.messages and bool(head.stream)
        self._raw: dict[str, Any] | None = None
        self._request: MessagesRequest | None = None

    @property
    def raw(self) -> dict[str, Any]:
        if self._raw is None:
            self._raw = translate.decode_body(self.body)
        return self._raw

    @property
    def request(self) -> MessagesRequest:
        if self._request is None:
            self._request = parse_request(self.raw if self.messages else {**self.raw, "max_tokens": 1})
        return self._request

    async def start(self, attempt: Attempt) -> Whole | Streaming:
        provider = attempt.lane.provider
        if provider.wire_for(attempt.route.upstream_model) == "anthropic":
            return await self._passthrough(attempt)
        assert isinstance(provider, TranslatingProvider), f"{attempt.route.provider} speaks neither protocol"
        if not self.messages:
            return await self._count(attempt.route, provider)
        return await self._translated(attempt, provider)

    async def _passthrough(self, attempt: Attempt) -> Whole | Streaming:
        route, started = attempt.route, time.monotonic()
        request = PassthroughRequest(
            self.req.path + ("?" + self.req.query.decode("latin-1") if self.req.query else ""),
            replace_model(self.body, self.head.model, route.upstream_model),
            # every `anthropic-*` header, verbatim: versions and beta flags are not ours to filter
            {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in self.req.headers.items()
                if k.startswith(b"anthropic-")
            },
            stream=self.stream,
        )
        upstream = await attempt.lane.provider.passthrough(request)
        try:
            if not self.stream or upstream.status != 200:
                body = await upstream.read()
                if upstream.status >= 400:
                    raise attempt.lane.provider.passthrough_error(upstream.status, body, upstream.headers)
                usage, stop = _read_usage(route, body) if self.messages else (None, None)
                content_type = upstream.headers.get("content-type", "application/json").encode("latin-1")
                return Whole(body, content_type, route_headers(route, upstream), usage, stop)
            tap = AnthropicStreamTap()
            return await _until_commit(route, upstream, tap, route_headers(route, upstream), started)
        except BaseException:
            upstream.close()
            raise

    async def _count(self, route: Route, provider: TranslatingProvider) -> Whole:
        """count_tokens by the provider's own counter where it has one (Gemini's countTokens),
        else a real tokenizer; either way marked as such."""
        counted = await provider.count_tokens(self.request, route.upstream_model)  # validates as a message
        if counted is not None:
            by_provider = (COUNT_HEADER.encode(), f"counted; provider={route.provider}".encode())
            return Whole(b'{"input_tokens":%d}' % counted, JSON, [*route_names(route), by_provider])
        count = self.gw.token_counts.count(self.body, route.upstream_model, self.raw)
        name, value = count_header(count)
        body = b'{"input_tokens":%d}' % count.input_tokens
        return Whole(body, JSON, [*route_names(route), (name.encode(), value.encode())])

    async def _translated(self, attempt: Attempt, provider: TranslatingProvider) -> Whole | Streaming:
        route, request, started = attempt.route, self.request, time.monotonic()
        prepared = translate.prepare(provider, request, route, self.req)
        upstream = await provider.send(prepared)
        try:
            if upstream.status >= 400:
                raise provider.error(upstream.status, await upstream.read(), upstream.headers)
            headers = route_headers(route, upstream) + translate.dropped_header(prepared)
            if not request.stream:
                message, usage, stop = await translate.read_message(provider, upstream, request, route)
                return Whole(message, JSON, headers, usage, stop)
            counted = self.gw.token_counts.count(self.body, route.upstream_model, self.raw).input_tokens
            stream = translate.EncodedStream.open(provider, upstream, request, route, self.req.id, counted)
            return await _until_commit(route, upstream, stream, headers, started)
        except BaseException:
            upstream.close()
            raise


async def _until_commit(
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


def _read_usage(route: Route, body: bytes) -> tuple[Usage, str | None]:
    read = read_usage(body)
    if read is None:  # never hand a client half an answer; another try may do better
        raise UpstreamError(
            f"Upstream provider '{route.provider}' answered 200 with a body that is not JSON",
            provider=route.provider,
            status=502,
        )
    return read


def _stream_failure(route: Route, relay: StreamRelay) -> UpstreamError:
    error_type = relay.error_type or "api_error"
    body = relay.error_body if isinstance(relay, AnthropicStreamTap) else None
    message = relay.error_message or f"Upstream provider '{route.provider}' sent {error_type} before any content"
    return UpstreamError(
        message,
        provider=route.provider,
        status=_ERROR_STATUS.get(error_type, 502),
        error_type=error_type,
        passthrough_body=body,
    )
