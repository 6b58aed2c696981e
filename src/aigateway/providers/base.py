"""The Provider interface and the upstream HTTP plumbing every provider shares.

Nothing here is provider-specific. A provider owns one keep-alive pool for its upstream (the
gateway's own HTTP/1.1 client, http.py: a fraction of aiohttp's CPU, see bench/README.md), and
turns transport failures into `UpstreamUnavailable` naming itself, so no caller ever sees a raw
client error. Error messages never carry a header, hence never a credential.
"""

from __future__ import annotations

import abc
import asyncio
import copy
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Self

import msgspec

from aigateway.errors import (
    InvalidRequest,
    UpstreamError,
    UpstreamUnavailable,
    anthropic_error_for,
    credential_refused,
)
from aigateway.ir.events import Event, StreamError
from aigateway.ir.messages import Message, MessagesRequest
from aigateway.ir.usage import Usage
from aigateway.providers import http
from aigateway.routing.catalog import ListedModel, Route
from aigateway.settings import ProviderConfig

PromptCache = Literal["blocks", "automatic"]


@dataclass(slots=True)
class PassthroughRequest:
    """A request in the client's own protocol, to be forwarded with model and auth changed."""

    path: str  # e.g. "/v1/messages"
    body: bytes
    headers: dict[str, str]  # protocol headers from the client (e.g. anthropic-version, anthropic-beta)
    stream: bool
    hide_usage: bool = False  # stream usage was asked for by the gateway, not the client: the tap drops it


class UpstreamResponse:
    """An open upstream response; the caller must `close()` it (or read it to the end)."""

    __slots__ = ("_provider", "_resp", "headers", "status")

    def __init__(self, resp: http.Response, provider: str):
        self._resp = resp
        self._provider = provider
        self.status = resp.status
        self.headers: Mapping[str, str] = resp.headers  # lower-case names

    async def read(self) -> bytes:
        """The whole body; the connection goes back to the pool (or is closed on failure)."""
        try:
            return await self._resp.read()
        except (OSError, TimeoutError) as exc:
            raise _unavailable(self._provider, exc) from None

    async def chunks(self) -> AsyncIterator[bytes]:
        """Bytes as they arrive from the socket: no re-chunking, no waiting for more."""
        try:
            async for chunk in self._resp.chunks():
                yield chunk
        except (OSError, TimeoutError) as exc:
            raise _unavailable(self._provider, exc) from None

    def close(self) -> None:
        """Drop the connection (not back to the pool): used when a stream is abandoned."""
        self._resp.close()

    def release(self) -> None:
        self._resp.release()


def json_object(body: bytes, provider: str) -> dict[str, Any]:
    """An upstream's answer as a JSON object, or a 502 naming the provider: never half an answer."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        data = None
    if not isinstance(data, dict):
        raise UpstreamError(
            f"Upstream provider '{provider}' answered with a body that is not JSON", provider=provider, status=502
        )
    return data


def _unavailable(provider: str, exc: BaseException) -> UpstreamUnavailable:
    """A transport failure: a timeout (504), no connection (move on to the next upstream), or a
    connection that failed under the request. http.py's messages name no header or body."""
    if isinstance(exc, TimeoutError):
        return UpstreamUnavailable(f"Upstream provider '{provider}' timed out", provider=provider, status=504)
    if isinstance(exc, http.ConnectError):
        return UpstreamUnavailable(
            f"Upstream provider '{provider}' is unreachable: {exc.reason}", provider=provider, move_on=True
        )
    what = str(exc) if isinstance(exc, http.H1Error) else type(exc).__name__
    return UpstreamUnavailable(f"Upstream provider '{provider}' failed: {what}", provider=provider)


def decoded(resp: http.Response, provider: str) -> http.Response:
    """The answer, unless its body is in an encoding the gateway cannot read: the client asks for
    none and decompresses gzip and deflate itself, so anything else is a 502 naming the provider."""
    encoding = resp.headers.get("content-encoding")
    if encoding is None or encoding.strip().lower() == "identity":
        return resp
    resp.close()
    raise UpstreamError(
        f"Upstream provider '{provider}' answered in an encoding the gateway does not decode "
        f"(content-encoding: {encoding[:40]})",
        provider=provider,
        status=502,
    )


class _ErrorDetail(msgspec.Struct):
    type: str | None = None


class _ErrorBody(msgspec.Struct):
    error: _ErrorDetail | None = None


_decode_error = msgspec.json.Decoder(_ErrorBody).decode


def _upstream_error_type(body: bytes, status: int) -> str:
    """The error type an Anthropic-shaped error body names (any spacing or key order), else the
    one its status stands for: the ledger records what the client got."""
    try:
        named = _decode_error(body).error
    except msgspec.DecodeError:  # not JSON, or not the shape: ValidationError is a DecodeError
        named = None
    if named is not None and named.type and len(named.type) < 64:
        return named.type
    return anthropic_error_for(status)[1]


class Provider(abc.ABC):
    """One configured upstream. `wire` names the protocol it speaks natively."""

    wire: str

    def __init__(self, name: str, config: ProviderConfig):
        self.name = name
        self.config = config
        self._session: http.Client | None = None
        self._owner: Provider | None = None  # set on credential copies, which share its pool
        self.byok = False  # the credential is the client's own (a request's `byok`), not the gateway's

    def with_api_key(self, api_key: str, *, byok: bool = False) -> Self:
        """This upstream with another credential (a weighted key, a request's own key), sharing
        the connection pool: credentials change headers, not connections."""
        clone = copy.copy(self)
        clone.config = self.config.model_copy(update={"api_key": api_key, "api_keys": []})
        clone.byok = byok
        clone._owner = self._owner or self
        clone._session = None
        clone._credential_changed()
        return clone

    def _credential_changed(self) -> None:  # noqa: B027 -- a hook, most providers need nothing
        """Providers that precompute auth headers refresh them here."""

    @property
    def session(self) -> http.Client:
        """The upstream's connection pool (a credential copy's is its owner's). No User-Agent;
        `accept-encoding: identity`: upstreams are a data-centre hop away, so relaying costs no
        decompression (CPU is what a gateway spends)."""
        if self._owner is not None:
            return self._owner.session
        if self._session is None:
            t = self.config.timeouts
            self._session = http.Client(
                self.config.base_url,
                max_connections=self.config.max_connections,
                connect_timeout=t.connect,
                read_timeout=t.read,
            )
        return self._session

    async def _request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> http.Response:
        """`path` relative to the base URL; an answer in an encoding the gateway reads."""
        try:
            resp = await self.session.request(method, "/" + path.lstrip("/"), body, headers)
        except (OSError, TimeoutError) as exc:
            raise _unavailable(self.name, exc) from None
        return decoded(resp, self.name)

    async def _post(self, path: str, body: bytes, headers: dict[str, str]) -> UpstreamResponse:
        return UpstreamResponse(await self._request("POST", path, body, headers), self.name)

    async def _get(self, path: str, headers: dict[str, str], timeout: float) -> bytes:
        """A GET answered 200 within `timeout` seconds, or UpstreamError/UpstreamUnavailable
        naming this provider."""
        try:
            async with asyncio.timeout(timeout):
                resp = await self._request("GET", path, b"", headers)
                body = await resp.read()
        except (OSError, TimeoutError) as exc:
            raise _unavailable(self.name, exc) from None
        if resp.status != 200:
            raise UpstreamError(
                f"Upstream provider '{self.name}' answered {resp.status}", provider=self.name, status=502
            )
        return body

    async def list_models(self, timeout: float) -> list[ListedModel]:
        """The models this upstream says it serves, read from its own listing endpoint; an
        upstream without one lists nothing. Called in the background only (routing/listings.py)."""
        return []

    def wire_for(self, upstream_model: str) -> str:
        """The protocol this upstream speaks for `upstream_model` (one endpoint may serve Claude in
        Anthropic's format and other models in its own, as Bedrock and Vertex do)."""
        return self.wire

    def speaks(self, protocol: str, upstream_model: str) -> bool:
        """Whether this upstream serves `protocol` for `upstream_model` natively, so a request in
        it can pass through (its own wire, or a second one it also serves, as OpenAI serves both
        Chat Completions and the Responses API)."""
        return self.wire_for(upstream_model) == protocol

    @abc.abstractmethod
    async def passthrough(self, request: PassthroughRequest) -> UpstreamResponse:
        """Forward a request already in this provider's wire protocol."""

    def path_for(self, upstream_model: str, endpoint: str) -> str:
        """Where a passthrough `endpoint` (e.g. `chat/completions`, `embeddings`) is for this model."""
        return endpoint

    def structured_outputs(self, upstream_model: str) -> bool:
        """Whether the model takes a JSON schema for its output (the core's `output_config.format`)."""
        return True

    def web_search(self, upstream_model: str) -> str | None:
        """The `type` of the Anthropic web search server tool (the core's `server_tools`) this
        upstream runs for the model itself; None: it has no search of its own."""
        return None

    def prompt_cache(self, upstream_model: str) -> PromptCache | None:
        """How the model takes Anthropic's prompt-cache breakpoints: `cache_control` on blocks
        ("blocks"), those and the request's top-level automatic one ("automatic"), or not at all
        (None: an upstream that caches by itself, or not at all)."""
        return None

    async def count_tokens(self, request: MessagesRequest, upstream_model: str) -> int | None:
        """The upstream's own count of the request's input tokens; None: it has no counter."""
        return None

    async def embed(self, raw: dict[str, Any], route: Route) -> Embedded:
        """An OpenAI embeddings body, answered by a provider that does not speak OpenAI's protocol."""
        raise InvalidRequest(f"model: provider '{self.name}' offers no embeddings on this gateway")

    def passthrough_tap(self, request: PassthroughRequest) -> StreamRelay:
        """Reads a passthrough stream in this upstream's own protocol as it is relayed unchanged:
        the commit point, usage, stop reason, errors."""
        raise NotImplementedError(f"{type(self).__name__} passes no stream through")

    def passthrough_usage(self, body: bytes) -> tuple[Usage | None, str | None]:
        """Usage and stop reason of a whole passthrough answer."""
        raise NotImplementedError(f"{type(self).__name__} passes no answer through")

    def passthrough_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        """An error answer to a passthrough request. By default the upstream's own body goes back
        unchanged (clients match on Anthropic's wording); an upstream whose errors are not in the
        client's protocol (Bedrock) maps them instead. A refused credential is the client's own
        only with BYOK; the gateway's is the operator's to fix, never passed off as the client's 401."""
        if status in (401, 403) and not self.byok:
            return credential_refused(self.name, status)
        return UpstreamError(
            f"Upstream provider '{self.name}' answered {status}",
            provider=self.name,
            status=status,
            error_type=_upstream_error_type(body, status),
            passthrough_body=body,
            headers={k.lower(): v for k, v in headers.items()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class StreamRelay(Protocol):
    """Upstream stream bytes in, client SSE bytes out, and what the ledger needs at the end: a
    passthrough tap (bytes unchanged) or a translated stream (pipeline/translate.py)."""

    saw_stop: bool
    error_type: str | None
    error_message: str | None  # a translated stream's own account of an upstream failure
    error_body: bytes | None  # a passthrough stream's error event, in the client's protocol
    first_content_at: float | None

    @property
    def usage(self) -> Usage: ...

    @property
    def stop_reason(self) -> str | None: ...

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class StreamDecoder(Protocol):
    """Upstream stream bytes to Anthropic events; pure, one per stream (DESIGN.md)."""

    usage: Usage | None
    stop_reason: str | None
    error: StreamError | None

    def feed(self, chunk: bytes) -> list[Event | StreamError]: ...

    def finish(self) -> list[Event | StreamError]: ...


@dataclass(slots=True)
class Embedded:
    """An embeddings answer in OpenAI's shape, its usage, and headers saying how it was counted."""

    body: bytes
    usage: Usage
    headers: list[tuple[bytes, bytes]]


@dataclass(slots=True)
class Prepared:
    """A translated request: the upstream body, and what the translation had to leave out."""

    upstream_model: str
    body: bytes
    stream: bool
    warnings: list[str]


class TranslatingProvider(Provider):
    """An upstream that speaks another protocol: requests and answers go through the core (ir)."""

    def translator_for(self, upstream_model: str) -> TranslatingProvider:
        """What translates a request for `upstream_model` (prepare, send, read, decode, errors):
        this provider, unless it serves that model in another protocol than its own through the
        core (Vertex: Claude in Anthropic's body, every other model in Gemini's)."""
        return self

    @abc.abstractmethod
    def prepare(self, request: MessagesRequest, upstream_model: str) -> Prepared:
        """ir request to the upstream's body; raises InvalidRequest for what it cannot carry."""

    @abc.abstractmethod
    async def send(self, prepared: Prepared) -> UpstreamResponse: ...

    @abc.abstractmethod
    def read_message(self, body: bytes, request: MessagesRequest, model: str) -> tuple[Message, Usage]:
        """A whole upstream answer to a Message (with `model` as the client named it) and its usage."""

    @abc.abstractmethod
    def stream_decoder(
        self, request: MessagesRequest, model: str, message_id: str, input_tokens: int
    ) -> StreamDecoder: ...

    @abc.abstractmethod
    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        """An upstream error response in the gateway's error tree."""
