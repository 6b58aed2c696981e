"""Google's Gemini API (generativelanguage.googleapis.com): `models/{model}:generateContent` and
`:streamGenerateContent?alt=sse`, with the key in the `x-goog-api-key` header (never in the URL,
where proxies and logs would keep it).

`GeminiProvider` is also the base of Vertex AI's Gemini models (vertex/client.py), which differ
only in the URL and in how a request is authenticated (`_path`, `_auth_headers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import msgspec

from aigateway.errors import InvalidRequest, UpstreamError
from aigateway.ir.messages import Message, MessagesRequest
from aigateway.ir.usage import Usage
from aigateway.providers.base import (
    Embedded,
    PassthroughRequest,
    Prepared,
    StreamDecoder,
    TranslatingProvider,
    UpstreamResponse,
)
from aigateway.providers.gemini import embeddings, wire
from aigateway.providers.gemini.errors import map_error
from aigateway.providers.gemini.request import from_ir
from aigateway.providers.gemini.response import to_ir
from aigateway.providers.gemini.stream import GeminiStreamDecoder
from aigateway.providers.gemini.usage import total_tokens
from aigateway.routing.catalog import ListedModel, Route
from aigateway.tokens import COUNT_HEADER, load_encoding

_encode = msgspec.json.encode
_COUNTED = ("contents", "systemInstruction", "tools", "toolConfig")  # what makes up the prompt


class GeminiProvider(TranslatingProvider):
    wire = "gemini"
    credential = "api_key"  # the config key an operator fixes when Google refuses ours

    def _path(self, upstream_model: str, stream: bool) -> str:
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"models/{quote(upstream_model, safe='')}:{method}"

    async def _auth_headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.config.api_key or ""}

    async def list_models(self, timeout: float) -> list[ListedModel]:
        """`GET models`, page after page, keeping the models that generate content."""
        headers = {**self.config.headers, **await self._auth_headers()}
        models: list[ListedModel] = []
        token = ""
        for _ in range(20):
            page = wire.decode_model_page(await self._get(f"models?pageSize=1000{token}", headers, timeout))
            for m in page.models:
                if "generateContent" in m.supported_generation_methods:
                    name = m.name.removeprefix("models/")
                    models.append(ListedModel(name, m.display_name, None, m.input_token_limit, m.output_token_limit))
            if not page.next_page_token:
                break
            token = f"&pageToken={quote(page.next_page_token, safe='')}"
        return models

    def prepare(self, request: MessagesRequest, upstream_model: str) -> Prepared:
        body, warnings = from_ir(request, upstream_model, self.name)
        return Prepared(upstream_model, _encode(body), request.stream, warnings)

    async def send(self, prepared: Prepared) -> UpstreamResponse:
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if prepared.stream else "application/json",
            **self.config.headers,
            **await self._auth_headers(),
        }
        return await self._post(self._path(prepared.upstream_model, prepared.stream), prepared.body, headers)

    async def passthrough(self, request: PassthroughRequest) -> UpstreamResponse:
        """A body already in Gemini's format, forwarded with only auth added."""
        headers = {"content-type": "application/json", **request.headers, **await self._auth_headers()}
        return await self._post(request.path, request.body, headers)

    def _embed_path(self, upstream_model: str) -> str | None:
        """Where batch embeddings are, or None where this API has no such method."""
        return f"models/{quote(upstream_model, safe='')}:batchEmbedContents"

    async def embed(self, raw: dict[str, Any], route: Route) -> Embedded:
        """An OpenAI embeddings body to batchEmbedContents and back; the inputs counted by the
        gateway (Gemini reports no usage here)."""
        path = self._embed_path(route.upstream_model)
        if path is None:
            raise InvalidRequest(f"model: provider '{self.name}' offers no embeddings on this gateway")
        headers = {"content-type": "application/json", **self.config.headers, **await self._auth_headers()}
        upstream = await self._post(path, _encode(embeddings.to_gemini(raw, route.upstream_model)), headers)
        data = await upstream.read()
        if upstream.status >= 400:
            raise self.error(upstream.status, data, upstream.headers)
        encoding = await load_encoding("o200k_base")
        counted = sum(len(encoding.encode(text, disallowed_special=())) for text in embeddings.inputs_of(raw))
        answer = embeddings.from_gemini(
            data,
            model=route.model,
            provider=route.provider,
            encoding=str(raw.get("encoding_format") or "float"),
            prompt_tokens=counted,
        )
        estimate = (COUNT_HEADER.encode(), b"estimate; tokenizer=o200k_base")
        return Embedded(_encode(answer), Usage(input_tokens=counted), [estimate])

    def _count_path(self, upstream_model: str) -> str:
        return f"models/{quote(upstream_model, safe='')}:countTokens"

    def _count_body(self, body: dict[str, Any], upstream_model: str) -> dict[str, Any]:
        """Gemini API: the whole request under `generateContentRequest`, so system instruction
        and tools are counted too (CountTokensRequest)."""
        request = {k: body[k] for k in _COUNTED if k in body}
        return {"generateContentRequest": {"model": f"models/{upstream_model}", **request}}

    async def count_tokens(self, request: MessagesRequest, upstream_model: str) -> int:
        """Gemini's own counter (`:countTokens`); its `totalTokens` is the prompt's input tokens."""
        body, _ = from_ir(request, upstream_model, self.name)
        headers = {"content-type": "application/json", **self.config.headers, **await self._auth_headers()}
        payload = _encode(self._count_body(body, upstream_model))
        upstream = await self._post(self._count_path(upstream_model), payload, headers)
        answer = await upstream.read()
        if upstream.status >= 400:
            raise self.error(upstream.status, answer, upstream.headers)
        return total_tokens(answer, self.name)

    def read_message(self, body: bytes, request: MessagesRequest, model: str) -> tuple[Message, Usage]:
        return to_ir(body, model=model, provider=self.name)

    def stream_decoder(self, request: MessagesRequest, model: str, message_id: str, input_tokens: int) -> StreamDecoder:
        return GeminiStreamDecoder(provider=self.name, message_id=message_id, model=model, input_tokens=input_tokens)

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        lowered = {k.lower(): v for k, v in headers.items()}
        return map_error(self.name, status, body, lowered, self.config.api_key, self.credential, byok=self.byok)
