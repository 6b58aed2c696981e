"""Anthropic Messages upstream (api.anthropic.com or anything that speaks it).

Passthrough only changes auth: the client's body and `anthropic-*` headers go through verbatim.
"""

from __future__ import annotations

from aigateway.providers.base import PassthroughRequest, Provider, UpstreamResponse

DEFAULT_VERSION = "2023-06-01"


class AnthropicProvider(Provider):
    wire = "anthropic"

    async def passthrough(self, request: PassthroughRequest) -> UpstreamResponse:
        headers = dict(request.headers)
        headers.setdefault("anthropic-version", DEFAULT_VERSION)
        headers["x-api-key"] = self.config.api_key or ""
        headers["content-type"] = "application/json"
        headers["accept"] = "text/event-stream" if request.stream else "application/json"
        return await self._post(request.path, request.body, headers)
