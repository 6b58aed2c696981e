"""AWS Bedrock Runtime: Claude by InvokeModel (the Anthropic body passes through), every other
model by Converse (translated through the core). See models.py for which is which.

Invariants:
- every request is authenticated by auth.py (SigV4 by botocore, or a Bedrock API key) for the
  exact URL and body sent; the path goes on the request line byte for byte as signed (already
  percent-encoded, never re-encoded), so the path signed is the path AWS sees;
- the base URL is `https://bedrock-runtime.{region}.amazonaws.com` unless the provider block
  sets `base_url` (which may contain `{region}`);
- no Bedrock error body reaches a client: both paths map them with errors.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.messages import Message, MessagesRequest
from aigateway.ir.usage import Usage
from aigateway.observability.logging import log
from aigateway.providers import http
from aigateway.providers.anthropic.models import ServesClaude
from aigateway.providers.base import (
    PassthroughRequest,
    Prepared,
    PromptCache,
    StreamDecoder,
    UpstreamResponse,
)
from aigateway.providers.bedrock import betas, models
from aigateway.providers.bedrock.auth import BedrockAuth, resolve_region
from aigateway.providers.bedrock.config import BedrockConfig
from aigateway.providers.bedrock.errors import map_error
from aigateway.providers.bedrock.invoke import count_tokens_answer, count_tokens_body, invoke_body
from aigateway.providers.bedrock.invoke_stream import InvokeEvents
from aigateway.providers.bedrock.request import from_ir
from aigateway.providers.bedrock.response import to_ir
from aigateway.providers.bedrock.stream import ConverseStreamDecoder

DEFAULT_BASE_URL = "https://bedrock-runtime.{region}.amazonaws.com"
EVENT_STREAM = "application/vnd.amazon.eventstream"
_encode = msgspec.json.encode


class BedrockProvider(ServesClaude):
    wire = "bedrock"

    def __init__(self, name: str, config: BedrockConfig):
        region = resolve_region(config.region)
        base = (config.base_url or DEFAULT_BASE_URL).replace("{region}", region or "")
        super().__init__(name, config.model_copy(update={"base_url": base.rstrip("/")}))
        self.region = region
        self._auth = BedrockAuth(name, region, config.api_key) if region else None

    def wire_for(self, upstream_model: str) -> str:
        return "anthropic" if models.is_invoke(upstream_model) else self.wire

    def prompt_cache(self, upstream_model: str) -> PromptCache | None:
        """Claude by InvokeModel or by Converse (`cache_control` becomes a `cachePoint`)."""
        return "blocks" if models.is_invoke(upstream_model) or models.is_claude(upstream_model) else None

    async def _send(self, path: str, body: bytes, accept: str) -> http.Response:
        if self._auth is None:
            raise UpstreamError(
                f"Provider '{self.name}' has no AWS region: set providers.{self.name}.region or AWS_REGION",
                provider=self.name,
                status=502,
                retryable=False,
            )
        url = f"{self.config.base_url}/{path}"
        headers = {"content-type": "application/json", "accept": accept, **self.config.headers}
        headers = await self._auth.headers(url, body, headers)
        return await self._request("POST", path, body, headers)  # the base URL's path, then `path`: `url`'s

    # -- Claude: InvokeModel with the client's Anthropic body

    async def passthrough(self, request: PassthroughRequest) -> UpstreamResponse:
        beta = request.headers.get("anthropic-beta")
        if request.path.startswith("/v1/messages/count_tokens"):
            model, body = count_tokens_body(request.body, beta)
            path = models.model_path(models.foundation_id(model), "count-tokens")
            return CountTokensResponse(await self._send(path, body, "application/json"), self.name)
        tries = betas.attempts(beta)
        for n, flags in enumerate(tries):
            stream, resp = await self._invoke(request.body, flags)
            if n + 1 == len(tries) or resp.status != 400 or betas.REFUSED not in await resp.read():
                break
            resp.release()
            left_out = sorted(set((flags or "").split(",")) - set((tries[n + 1] or "").split(",")) - {""})
            log.warning("beta flags refused", extra={"fields": {"provider": self.name, "dropped": left_out}})
        return (InvokeStreamResponse if stream else UpstreamResponse)(resp, self.name)

    async def _invoke(self, body: bytes, beta: str | None) -> tuple[bool, http.Response]:
        invoke = invoke_body(body, beta)
        if invoke.stream:
            path = models.model_path(invoke.model, "invoke-with-response-stream")
            return True, await self._send(path, invoke.body, EVENT_STREAM)
        return False, await self._send(models.model_path(invoke.model, "invoke"), invoke.body, "application/json")

    def passthrough_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        return map_error(self.name, status, body, headers)

    # -- every other model: Converse

    def prepare(self, request: MessagesRequest, upstream_model: str) -> Prepared:
        body, warnings = from_ir(request, models.bare_id(upstream_model), claude=models.is_claude(upstream_model))
        return Prepared(upstream_model, _encode(body), request.stream, warnings)

    async def send(self, prepared: Prepared) -> UpstreamResponse:
        action, accept = ("converse-stream", EVENT_STREAM) if prepared.stream else ("converse", "application/json")
        path = models.model_path(prepared.upstream_model, action)
        return UpstreamResponse(await self._send(path, prepared.body, accept), self.name)

    def read_message(self, body: bytes, request: MessagesRequest, model: str) -> tuple[Message, Usage]:
        return to_ir(body, model=model, provider=self.name, stop_sequences=request.stop_sequences)

    def stream_decoder(self, request: MessagesRequest, model: str, message_id: str, input_tokens: int) -> StreamDecoder:
        return ConverseStreamDecoder(
            provider=self.name,
            message_id=message_id,
            model=model,
            input_tokens=input_tokens,
            stop_sequences=request.stop_sequences,
        )

    def error(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        return map_error(self.name, status, body, headers)


class InvokeStreamResponse(UpstreamResponse):
    """An InvokeModelWithResponseStream answer whose `chunks()` are Anthropic SSE bytes."""

    __slots__ = ()

    async def chunks(self) -> AsyncIterator[bytes]:
        if self.status != 200:
            async for chunk in super().chunks():
                yield chunk
            return
        events = InvokeEvents(self._provider)
        async for chunk in super().chunks():
            out = events.feed(chunk)
            if out:
                yield out
            if events.done:
                return


class CountTokensResponse(UpstreamResponse):
    """A CountTokens answer, read as Anthropic's count_tokens body."""

    __slots__ = ()

    async def read(self) -> bytes:
        body = await super().read()
        if self.status != 200:
            return body
        try:
            return count_tokens_answer(body)
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            raise UpstreamError(
                f"Upstream provider '{self._provider}' answered count-tokens with an unexpected body",
                provider=self._provider,
                status=502,
            ) from None
