"""`GET /v1/models` and `GET /v1/models/{id}` in OpenAI's shape (openai-python `types/model.py`).

Which shape a caller gets: a request with an `anthropic-version` or `x-api-key` header (every
Anthropic SDK and Claude Code send the first, and only Anthropic clients use the second) gets
Anthropic's (frontends/anthropic/models.py); any other (OpenAI SDKs send neither) gets OpenAI's
`{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}`, unpaginated as
OpenAI's is, the same models in the same order (routing/inventory.py). `created` is the release
date as Unix seconds, `owned_by` the first part of the id.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from aigateway.asgi import Request
from aigateway.errors import NotFound
from aigateway.gateway import Gateway
from aigateway.routing.inventory import Served


def _info(s: Served) -> dict[str, object]:
    m = s.model
    created = int(datetime.fromisoformat(m.created_at.replace("Z", "+00:00")).timestamp())
    return {"id": m.id, "object": "model", "created": created, "owned_by": m.id.partition("/")[0]}


async def list_models(gw: Gateway, req: Request) -> None:
    data = [_info(s) for s in gw.served_models()]
    await req.respond(200, msgspec.json.encode({"object": "list", "data": data}))


async def get_model(gw: Gateway, req: Request, model_id: str) -> None:
    entry = gw.catalog.get(model_id)
    wanted = entry.id if entry is not None else model_id
    found = next((s for s in gw.served_models() if s.model.id == wanted), None)
    if found is None:
        raise NotFound(f"model: The model '{model_id}' does not exist on this gateway")
    await req.respond(200, msgspec.json.encode(_info(found)))
