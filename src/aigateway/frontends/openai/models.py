"""`GET /v1/models` and `GET /v1/models/{id}` in OpenAI's shape (openai-python `types/model.py`).

Which shape a caller gets: a request with an `anthropic-version` or `x-api-key` header (every
Anthropic SDK and Claude Code send the first, and only Anthropic clients use the second) gets
Anthropic's (frontends/anthropic/models.py); any other (OpenAI SDKs send neither) gets OpenAI's
`{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}`, unpaginated as
OpenAI's is. `created` is the catalog's release date as Unix seconds, `owned_by` the creator
part of the `creator/model` id.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from aigateway.asgi import Request
from aigateway.errors import NotFound
from aigateway.gateway import Gateway
from aigateway.routing.catalog import CatalogModel


def _info(m: CatalogModel) -> dict[str, object]:
    created = int(datetime.fromisoformat(m.created_at.replace("Z", "+00:00")).timestamp())
    return {"id": m.id, "object": "model", "created": created, "owned_by": m.id.partition("/")[0]}


def _served(gw: Gateway, m: CatalogModel) -> bool:
    return any(p in gw.providers for p in m.providers)


async def list_models(gw: Gateway, req: Request) -> None:
    data = [_info(m) for m in gw.catalog.models if _served(gw, m)]
    await req.respond(200, msgspec.json.encode({"object": "list", "data": data}))


async def get_model(gw: Gateway, req: Request, model_id: str) -> None:
    entry = gw.catalog.get(model_id)
    if entry is None or not _served(gw, entry):
        raise NotFound(f"model: The model '{model_id}' does not exist on this gateway")
    await req.respond(200, msgspec.json.encode(_info(entry)))
