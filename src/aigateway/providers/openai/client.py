"""Chat Completions upstreams: OpenAI, Azure OpenAI and every compatible server, one adapter.

What differs between them is a `Profile` (profiles.py). Azure addresses a deployment by URL
(`/openai/deployments/{deployment}/chat/completions?api-version=...`) with an `api-key` header;
every other kind posts to `{base_url}/chat/completions` with a bearer token, if it has a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.messages import Message, MessagesRequest
from aigateway.ir.usage import Usage
from aigateway.providers.base import (
    PassthroughRequest,
    Prepared,
    StreamDecoder,
    StreamRelay,
    TranslatingProvider,
    UpstreamResponse,
)
from aigateway.providers.openai.config import AzureConfig
from aigateway.providers.openai.errors import map_error
from aigateway.providers.openai.listing import read_models
from aigateway.providers.openai.profiles import PROFILES
from aigateway.providers.openai.request import from_ir
from aigateway.providers.openai.response import read, to_ir
from aigateway.providers.openai.responses_tap import ResponsesStreamTap, is_response_object, read_response_usage
from aigateway.providers.openai.stream import OpenAIChatStreamDecoder
from aigateway.providers.openai.tap import ChatStreamTap, read_usage
from aigateway.routing.catalog import ListedModel
from aigateway.settings import ProviderConfig

_encode = msgspec.json.encode


class OpenAIProvider(TranslatingProvider):
    wire = "openai"

    def __init__(self, name: str, config: ProviderConfig, kind: str):
        super().__init__(name, config)
        self.kind = kind
        self.profile = PROFILES[kind]
        self._api_version = config.api_version if isinstance(config, AzureConfig) else None
        self._credential_changed()

    def _credential_changed(self) -> None:
        headers = {"content-type": "application/json", **self.profile.extra_headers, **self.config.headers}
        key = self.config.api_key
        if key:
            if self.profile.auth == "api-key":
                headers["api-key"] = key
            else:
                headers["authorization"] = "Bearer " + key
        self._headers = headers

    async def list_models(self, timeout: float) -> list[ListedModel]:
        """`GET /models`: OpenAI's, and every compatible server's (a local Ollama's pulled models)."""
        headers = {k: v for k, v in self._headers.items() if k != "content-type"}
        return read_models(await self._get("models", headers, timeout))

    def speaks(self, protocol: str, upstream_model: str) -> bool:
        """Chat Completions always; the Responses API where the profile says the server has it."""
        return super().speaks(protocol, upstream_model) or (protocol == "responses" and self.profile.responses)

    def _path(self, upstream_model: str) -> str:
        return self.path_for(upstream_model, "chat/completions")

    def path_for(self, upstream_model: str, endpoint: str) -> str:
        """Azure names the deployment in the path; every other kind posts relative to its base URL."""
        if self.kind == "azure" and endpoint.startswith("responses"):
            return f"openai/v1/{endpoint}"  # Azure's v1 API: the deployment is the body's model
        if self.kind == "azure":
            deployment = quote(upstream_model, safe="")
            return f"openai/deployments/{deployment}/{endpoint}?api-version={self._api_version}"
        return endpoint

    def prepare(self, request: MessagesRequest, upstream_model: str) -> Prepared:
        body, warnings = from_ir(request, upstream_model, self.profile, self.kind)
        return Prepared(upstream_model, _encode(body), request.stream, warnings)

    async def send(self, prepared: Prepared) -> UpstreamResponse:
        headers = {**self._headers, "accept": "text/event-stream" if prepared.stream else "application/json"}
        return await self._post(self._path(prepared.upstream_model), prepared.body, headers)

    async def passthrough(self, request: PassthroughRequest) -> UpstreamResponse:
        """A body from an OpenAI client (chat or embeddings), forwarded with only auth changed."""
        return await self._post(request.path, request.body, {**self._headers, **request.headers})

    def read_message(self, body: bytes, request: MessagesRequest, model: str) -> tuple[Message, Usage]:
        data = read(body, self.name)
        return to_ir(data, model=model, provider=self.name, profile=self.profile, stop_sequences=request.stop_sequences)

    def stream_decoder(self, request: MessagesRequest, model: str, message_id: str, input_tokens: int) -> StreamDecoder:
        return OpenAIChatStreamDecoder(
            provider=self.name,
            message_id=message_id,
            model=model,
            input_tokens=input_tokens,
            profile=self.profile,
            stop_sequences=request.stop_sequences,
        )

    def passthrough_tap(self, request: PassthroughRequest) -> StreamRelay:
        if _is_responses(request.path):
            return ResponsesStreamTap()
        return ChatStreamTap(hide_usage=request.hide_usage)

    def passthrough_usage(self, body: bytes) -> tuple[Usage | None, str | None]:
        """A `chat.completion`, or a Responses API `response` (the object says which)."""
        return read_response_usage(body) if is_response_object(body) else read_usage(body)

    def passthrough_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        """The upstream's own error body goes back unchanged (the client speaks its protocol),
        except a refused credential (401, 403): that is the gateway's key, not the client's, and
        OpenAI's wording quotes part of it, so the provider says what it means (a 502 naming itself)."""
        if status in (401, 403) and not self.byok:
            return self.error(status, body, headers)
        return super().passthrough_error(status, body, headers)

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        lowered = {k.lower(): v for k, v in headers.items()}
        return map_error(self.name, status, body, lowered, self.config.api_key, byok=self.byok)


def _is_responses(path: str) -> bool:
    return path.split("?", 1)[0].rstrip("/").endswith("/responses") or path.startswith("responses")
