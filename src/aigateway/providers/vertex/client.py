"""Vertex AI: Gemini models translated like the Gemini API's, Claude models passed through, or
translated in Anthropic's body for clients of other protocols.

URLs (all under `https://{location}-aiplatform.googleapis.com/v1`, or `aiplatform.googleapis.com`
for the `global` location):
- Gemini: `projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent`
  or `:streamGenerateContent?alt=sse`, with the same request and answer mapping as the Gemini API;
- Claude: `.../publishers/anthropic/models/{model}:rawPredict` or `:streamRawPredict` (claude.py);
  passed through, the body is the client's Anthropic body with `model` removed and
  `anthropic_version` added (body.py), the `anthropic-beta` header forwarded, and the answer (JSON,
  or SSE in Anthropic's format) relayed as is; through the core (the OpenAI doors), the same body
  is built from the core's request (`translator_for` gives `claude.VertexClaude`); count_tokens
  goes to `.../publishers/anthropic/models/count-tokens:rawPredict` with `model` kept, as Vertex
  documents for Claude.
Every request carries `Authorization: Bearer <token>` from google-auth (auth.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.messages import MessagesRequest
from aigateway.providers.anthropic.errors import error_type
from aigateway.providers.anthropic.models import ServesClaude
from aigateway.providers.base import PassthroughRequest, TranslatingProvider, UpstreamResponse
from aigateway.providers.gemini.client import GeminiProvider
from aigateway.providers.gemini.errors import map_error
from aigateway.providers.vertex import claude
from aigateway.providers.vertex.auth import GoogleToken
from aigateway.providers.vertex.body import to_vertex
from aigateway.providers.vertex.config import VertexConfig
from aigateway.wire.body import read_members

_FORWARDED = ("anthropic-beta",)


def is_claude(upstream_model: str) -> bool:
    return upstream_model.startswith("claude")


class VertexProvider(GeminiProvider, ServesClaude):
    credential = claude.CREDENTIAL

    def __init__(self, name: str, config: VertexConfig):
        location = config.location or "global"
        host = "" if location == "global" else f"{location}-"
        base_url = config.base_url.replace("{location}-", host).replace("{location}", location)
        super().__init__(name, config.model_copy(update={"base_url": base_url}))
        project = quote(config.project or "", safe="")
        self._prefix = f"projects/{project}/locations/{quote(location, safe='')}/publishers"
        self._token = GoogleToken(name, config.credentials_file)

    def wire_for(self, upstream_model: str) -> str:
        return "anthropic" if is_claude(upstream_model) else self.wire

    def translator_for(self, upstream_model: str) -> TranslatingProvider:
        return claude.VertexClaude(self, self._token, self._prefix) if is_claude(upstream_model) else self

    def _path(self, upstream_model: str, stream: bool) -> str:
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{self._prefix}/google/models/{quote(upstream_model, safe='@')}:{method}"

    def _embed_path(self, upstream_model: str) -> str | None:
        return None  # Vertex embeds through `:predict` with its own instance format: not wired

    def _count_path(self, upstream_model: str) -> str:
        return f"{self._prefix}/google/models/{quote(upstream_model, safe='@')}:countTokens"

    def _count_body(self, body: dict[str, Any], upstream_model: str) -> dict[str, Any]:
        """Vertex's CountTokensRequest takes contents, systemInstruction and tools at the top."""
        return {k: body[k] for k in ("contents", "systemInstruction", "tools") if k in body}

    async def count_tokens(self, request: MessagesRequest, upstream_model: str) -> int:
        """Gemini's counter, or for Claude Vertex's count-tokens with Anthropic's body."""
        if not is_claude(upstream_model):
            return await super().count_tokens(request, upstream_model)
        headers = claude.request_headers(False, await self._auth_headers(), self.config.headers)
        upstream = await self._post(
            claude.count_path(self._prefix), claude.count_body(request, upstream_model), headers
        )
        answer = await upstream.read()
        if upstream.status >= 400:
            raise claude.answer_error(self.name, upstream.status, answer, upstream.headers)
        return claude.read_count(answer, self.name)

    async def _auth_headers(self) -> dict[str, str]:
        return {"authorization": "Bearer " + await self._token.token()}

    async def passthrough(self, request: PassthroughRequest) -> UpstreamResponse:
        """Claude: the Anthropic body, edited for Vertex, to rawPredict / streamRawPredict."""
        counting = request.path.split("?", 1)[0].endswith("/count_tokens")
        model = _model_of(request.body)
        path = claude.count_path(self._prefix) if counting else claude.claude_path(self._prefix, model, request.stream)
        forwarded = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED}
        headers = claude.request_headers(
            request.stream, await self._auth_headers(), {**forwarded, **self.config.headers}
        )
        upstream = await self._post(path, to_vertex(request.body, keep_model=counting), headers)
        if upstream.status >= 400:
            body = await upstream.read()
            kind = error_type(body)
            if kind is not None:  # Claude's own error body: the route relays it unchanged
                raise UpstreamError(
                    f"Upstream provider '{self.name}' answered {upstream.status}",
                    provider=self.name,
                    status=upstream.status,
                    error_type=kind,
                    passthrough_body=body,
                    headers={k.lower(): v for k, v in upstream.headers.items()},
                )
            # Google's envelope: Vertex itself refused (IAM, quota, unknown model)
            raise map_error(self.name, upstream.status, body, upstream.headers, None, self.credential)
        return upstream


def _model_of(body: bytes) -> str:
    model = read_members(body).get("model")
    value = msgspec.json.decode(model) if model is not None else ""
    return value if isinstance(value, str) else ""
