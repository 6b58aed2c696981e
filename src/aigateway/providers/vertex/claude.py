"""Claude on Vertex AI: where its requests go, and the core's requests in its body.

- `.../publishers/anthropic/models/{model}:rawPredict` or `:streamRawPredict`, and
  `.../publishers/anthropic/models/count-tokens:rawPredict` for counting (`model` kept there);
- `VertexClaude` serves requests of the OpenAI doors through the core: Anthropic's body
  (providers/anthropic/request.py) with `model` left out and `anthropic_version:
  vertex-2023-10-16` added, as the passthrough sends a client's body; the answer (JSON, or SSE in
  Anthropic's format) read as the Anthropic provider reads it. Errors: Claude's own (Anthropic's
  envelope) keep their status, type and wording; Google's (Vertex refusing: IAM, quota, an
  unknown model) are mapped as Gemini's are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.messages import Message, MessagesRequest
from aigateway.ir.usage import Usage
from aigateway.providers.anthropic.errors import claude_error, error_type
from aigateway.providers.anthropic.models import ServesClaude
from aigateway.providers.anthropic.request import from_ir
from aigateway.providers.anthropic.response import to_ir
from aigateway.providers.anthropic.stream import AnthropicStreamDecoder
from aigateway.providers.base import PassthroughRequest, Prepared, Provider, StreamDecoder, UpstreamResponse
from aigateway.providers.gemini.errors import map_error
from aigateway.providers.vertex.auth import GoogleToken
from aigateway.providers.vertex.body import VERTEX_VERSION

CREDENTIAL = "credentials_file"  # the config key an operator fixes when Google refuses ours
# What Anthropic's count_tokens takes of a Messages body (MessageCountTokensParams)
_COUNTED = ("model", "messages", "system", "tools", "tool_choice", "thinking", "output_config")
_encode = msgspec.json.encode


def claude_path(prefix: str, model: str, stream: bool) -> str:
    """`prefix`: `projects/{project}/locations/{location}/publishers`."""
    method = "streamRawPredict" if stream else "rawPredict"
    return f"{prefix}/anthropic/models/{quote(model, safe='@')}:{method}"


def count_path(prefix: str) -> str:
    return f"{prefix}/anthropic/models/count-tokens:rawPredict"


def request_headers(stream: bool, auth: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """`extra`: the provider's configured headers, and what is forwarded from the client."""
    return {
        **extra,
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
        **auth,
    }


def count_body(request: MessagesRequest, upstream_model: str) -> bytes:
    body, _ = from_ir(request, upstream_model)
    return _encode({"anthropic_version": VERTEX_VERSION, **{k: body[k] for k in _COUNTED if k in body}})


class _Count(msgspec.Struct):
    input_tokens: int


_decode_count = msgspec.json.Decoder(_Count).decode


def read_count(answer: bytes, provider: str) -> int:
    """A count-tokens answer's `input_tokens`, or a 502 naming the provider."""
    try:
        return _decode_count(answer).input_tokens
    except msgspec.DecodeError:  # ValidationError too: a wrong shape is no count either
        what = f"Upstream provider '{provider}' answered count-tokens without input_tokens"
        raise UpstreamError(what, provider=provider, status=502) from None


def answer_error(provider: str, status: int, body: bytes, upstream_headers: Mapping[str, str]) -> UpstreamError:
    """An error answer to a translated request: Claude's own, or Google's."""
    if error_type(body) is not None:
        return claude_error(provider, status, body, upstream_headers, CREDENTIAL)
    lowered = {k.lower(): v for k, v in upstream_headers.items()}
    return map_error(provider, status, body, lowered, None, CREDENTIAL)


class VertexClaude(ServesClaude):
    """The Vertex provider's translator for Claude models (`VertexProvider.translator_for`): its
    name, settings, connection pool and Google token, Anthropic's body and answers."""

    wire = "anthropic"

    def __init__(self, vertex: Provider, token: GoogleToken, prefix: str) -> None:
        super().__init__(vertex.name, vertex.config)
        self._owner = vertex._owner or vertex  # the Vertex provider's connection pool
        self.byok = vertex.byok
        self._token, self._prefix = token, prefix

    def prepare(self, request: MessagesRequest, upstream_model: str) -> Prepared:
        body, warnings = from_ir(request, upstream_model)
        vertex: dict[str, Any] = {"anthropic_version": VERTEX_VERSION}
        vertex.update((k, v) for k, v in body.items() if k != "model")  # the model is in the URL
        return Prepared(upstream_model, _encode(vertex), request.stream, warnings)

    async def send(self, prepared: Prepared) -> UpstreamResponse:
        auth = {"authorization": "Bearer " + await self._token.token()}
        path = claude_path(self._prefix, prepared.upstream_model, prepared.stream)
        return await self._post(path, prepared.body, request_headers(prepared.stream, auth, self.config.headers))

    def read_message(self, body: bytes, request: MessagesRequest, model: str) -> tuple[Message, Usage]:
        return to_ir(body, model=model, provider=self.name)

    def stream_decoder(self, request: MessagesRequest, model: str, message_id: str, input_tokens: int) -> StreamDecoder:
        return AnthropicStreamDecoder(provider=self.name, model=model)

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        return answer_error(self.name, status, body, headers)

    async def passthrough(self, request: PassthroughRequest) -> UpstreamResponse:
        assert self._owner is not None
        return await self._owner.passthrough(request)  # the Vertex provider's own
