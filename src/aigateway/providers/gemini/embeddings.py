"""OpenAI's `/v1/embeddings` on Gemini: `models/{model}:batchEmbedContents`.

Request (OpenAI `EmbeddingCreateParams` to Gemini `BatchEmbedContentsRequest`): each string of
`input` becomes one request `{model, content: {parts: [{text}]}}`, `dimensions` becomes
`outputDimensionality`; token-id inputs (lists of integers) have no Gemini form and are a 400.
Response (`BatchEmbedContentsResponse` `{embeddings: [{values}]}`, in input order) to OpenAI's
`CreateEmbeddingResponse`: one `embedding` object per input with its `index`, floats, or
little-endian float32 packed as base64 when `encoding_format` is `base64` (what the openai SDK
asks for by default and unpacks). Gemini reports no token usage for embeddings, so
`prompt_tokens` is the gateway's own count of the inputs (an estimate, and said so).

The answer is read as wire.py's `BatchEmbedContentsResponse`: from its bytes, or from the JSON a
caller already decoded (converted, not decoded twice). Anything else is a 502 naming the provider.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

import msgspec

from aigateway.errors import InvalidRequest, UpstreamError
from aigateway.providers.gemini.wire import EMBEDDINGS, BatchEmbedContentsResponse


def inputs_of(raw: dict[str, Any]) -> list[str]:
    value = raw.get("input")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidRequest("input: Gemini embeds text only: a string or a list of strings")


def to_gemini(raw: dict[str, Any], upstream_model: str) -> dict[str, Any]:
    dimensions = raw.get("dimensions")
    requests = []
    for text in inputs_of(raw):
        one: dict[str, Any] = {"model": f"models/{upstream_model}", "content": {"parts": [{"text": text}]}}
        if isinstance(dimensions, int):
            one["outputDimensionality"] = dimensions
        requests.append(one)
    return {"requests": requests}


def from_gemini(body: bytes, *, model: str, provider: str, encoding: str, prompt_tokens: int) -> dict[str, Any]:
    embeddings = _read(body, provider).embeddings
    if embeddings is None:
        raise UpstreamError(
            f"Upstream provider '{provider}' answered without embeddings", provider=provider, status=502
        )
    data = []
    for index, item in enumerate(embeddings):
        values = item.values
        if values is None:
            raise UpstreamError(
                f"Upstream provider '{provider}' sent an embedding without values", provider=provider, status=502
            )
        vector: Any = values
        if encoding == "base64":
            vector = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
        data.append({"object": "embedding", "index": index, "embedding": vector})
    usage = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    return {"object": "list", "data": data, "model": model, "usage": usage}


def _read(body: bytes, provider: str) -> BatchEmbedContentsResponse:
    try:
        return EMBEDDINGS.decode(body)
    except msgspec.ValidationError as exc:
        what = f"Upstream provider '{provider}' answered with a body that is not a BatchEmbedContentsResponse ({exc})"
        raise UpstreamError(what, provider=provider, status=502) from None
    except msgspec.DecodeError:
        pass
    return BatchEmbedContentsResponse()  # not JSON: no embeddings, as from_gemini says
