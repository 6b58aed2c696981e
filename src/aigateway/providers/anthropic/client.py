"""Anthropic Messages upstream (api.anthropic.com or anything that speaks it).

Passthrough only changes auth: the client's body and `anthropic-*` headers go through verbatim.
For clients of another protocol (the Chat Completions door) it also translates: the core request
is encoded back to a Messages body (request.py) and the answer typed (response.py, stream.py).
Its `wire` stays `anthropic`, so the Messages door keeps passing bodies through byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.messages import Message, MessagesRequest
from aigateway.ir.usage import Usage
from aigateway.providers.anthropic import wire
from aigateway.providers.anthropic.errors import claude_error
from aigateway.providers.anthropic.models import WEB_SEARCH_TOOL, ServesClaude, has_web_search
from aigateway.providers.anthropic.request import from_ir
from aigateway.providers.anthropic.response import to_ir
from aigateway.providers.anthropic.stream import AnthropicStreamDecoder
from aigateway.providers.base import PassthroughRequest, Prepared, PromptCache, StreamDecoder, UpstreamResponse
from aigateway.routing.catalog import ListedModel

DEFAULT_VERSION = "2023-06-01"
_MAX_PAGES = 20  # of 1,000 models each


class AnthropicProvider(ServesClaude):
    wire = "anthropic"

    def _headers(self, stream: bool) -> dict[str, str]:
        return {
            "x-api-key": self.config.api_key or "",
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
        }

    async def list_models(self, timeout: float) -> list[ListedModel]:
        """`GET /v1/models`, page after page (`after_id`)."""
        headers = {"x-api-key": self.config.api_key or "", "anthropic-version": DEFAULT_VERSION, **self.config.headers}
        models: list[ListedModel] = []
        after = ""
        for _ in range(_MAX_PAGES):
            page = wire.decode_model_page(await self._get(f"v1/models?limit=1000{after}", headers, timeout))
            models += [
                ListedModel(m.id, m.display_name, m.created_at, m.max_input_tokens, m.max_tokens) for m in page.data
            ]
            if not page.has_more or not page.last_id:
                break
            after = f"&after_id={page.last_id}"
        return models

    def prompt_cache(self, upstream_model: str) -> PromptCache | None:
        return "automatic"

    def web_search(self, upstream_model: str) -> str | None:
        return WEB_SEARCH_TOOL if has_web_search(upstream_model) else None

    async def passthrough(self, request: PassthroughRequest) -> UpstreamResponse:
        headers = dict(request.headers)
        headers.setdefault("anthropic-version", DEFAULT_VERSION)
        headers.update(self._headers(request.stream))
        return await self._post(request.path, request.body, headers)

    def prepare(self, request: MessagesRequest, upstream_model: str) -> Prepared:
        body, warnings = from_ir(request, upstream_model)
        return Prepared(upstream_model, msgspec.json.encode(body), request.stream, warnings)

    async def send(self, prepared: Prepared) -> UpstreamResponse:
        headers = {"anthropic-version": DEFAULT_VERSION, **self._headers(prepared.stream)}
        return await self._post("/v1/messages", prepared.body, headers)

    def read_message(self, body: bytes, request: MessagesRequest, model: str) -> tuple[Message, Usage]:
        return to_ir(body, model=model, provider=self.name)

    def stream_decoder(self, request: MessagesRequest, model: str, message_id: str, input_tokens: int) -> StreamDecoder:
        return AnthropicStreamDecoder(provider=self.name, model=model)

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        """Status, type and wording kept (a client of the Messages door never gets here: its errors
        pass through unchanged)."""
        return claude_error(self.name, status, body, headers, "api_key")
