"""`GET /models` of OpenAI and every server that speaks Chat Completions (vLLM, Ollama's and LM
Studio's OpenAI-compatible endpoints, Groq, Mistral, ...), typed: openai-python's `types/model.py`,
cut to what is read. Unknown members are ignored; `created` is Unix seconds where a server gives it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from aigateway.routing.catalog import ListedModel


class Model(msgspec.Struct, gc=False):
    id: str
    created: int | None = None


class ModelList(msgspec.Struct, gc=False):
    data: list[Model] = []


_decode = msgspec.json.Decoder(ModelList).decode


def read_models(body: bytes) -> list[ListedModel]:
    """The listed models; a body that is not such a list raises msgspec.DecodeError."""
    return [ListedModel(m.id, created_at=_rfc3339(m.created)) for m in _decode(body).data]


def _rfc3339(seconds: int | None) -> str | None:
    if not seconds or seconds < 0:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
