"""`GET /v1/models` and `GET /v1/models/{id}` in Anthropic's shape (spec §8).

Lists every model a configured provider serves: the catalog's `creator/model` ids, and the models
a provider's own list names that the catalog does not know, as `provider/id` (routing/inventory.py).
Beyond Anthropic's fields (`max_input_tokens` and `max_tokens` where known), each model carries
`pricing`: per configured provider, USD per million tokens for each usage bucket (web searches per
1,000) and the price's `source` (`genai-prices <version>`, `config`, `aigateway <version>` for the
shipped table, `self-hosted`); and `lifecycle`: per provider, its status, retirement date and
successor. Pagination follows the API: `limit` (1..1000, default 20), `after_id`, `before_id`,
with `has_more`/`first_id`/`last_id`.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import msgspec

from aigateway.asgi import Request
from aigateway.errors import InvalidRequest, NotFound
from aigateway.gateway import Gateway
from aigateway.routing.inventory import Served


def info(s: Served) -> dict[str, object]:
    m = s.model
    doc: dict[str, object] = {"type": "model", "id": m.id, "display_name": m.display_name, "created_at": m.created_at}
    if s.context_window:
        doc["max_input_tokens"] = s.context_window
    if s.max_output:
        doc["max_tokens"] = s.max_output
    doc["pricing"] = {
        o.provider: {"currency": "USD", "unit": "per_million_tokens", "source": o.quote.source}
        | o.quote.price.per_million_view()
        for o in s.offers
        if o.quote is not None
    }
    doc["lifecycle"] = {
        o.provider: {"status": o.status, "retires": str(o.retires) if o.retires else None, "successor": o.successor}
        for o in s.offers
    }
    return doc


async def list_models(gw: Gateway, req: Request) -> None:
    params = {k: v[-1] for k, v in parse_qs(req.query.decode("latin-1")).items()}
    try:
        limit = int(params.get("limit", "20"))
    except ValueError:
        raise InvalidRequest("limit: Input should be a valid integer") from None
    if not 1 <= limit <= 1000:
        raise InvalidRequest("limit: Input should be between 1 and 1000")
    models = gw.served_models()
    ids = [s.model.id for s in models]
    start, stop = 0, len(models)
    if "after_id" in params:
        start = _position(ids, params["after_id"], "after_id") + 1
    if "before_id" in params:
        stop = _position(ids, params["before_id"], "before_id")
        start = max(start, stop - limit)
    page = models[start : min(stop, start + limit)]
    has_more = (start + len(page) < stop) if "before_id" not in params else start > 0
    body = {
        "data": [info(s) for s in page],
        "has_more": has_more,
        "first_id": page[0].model.id if page else None,
        "last_id": page[-1].model.id if page else None,
    }
    await req.respond(200, msgspec.json.encode(body))


def _position(ids: list[str], model_id: str, field: str) -> int:
    try:
        return ids.index(model_id)
    except ValueError:
        raise InvalidRequest(f"{field}: unknown model id '{model_id}'") from None


def find(gw: Gateway, model_id: str) -> Served | None:
    """A served model by its id or a catalog alias."""
    entry = gw.catalog.get(model_id)
    wanted = entry.id if entry is not None else model_id
    return next((s for s in gw.served_models() if s.model.id == wanted), None)


async def get_model(gw: Gateway, req: Request, model_id: str) -> None:
    found = find(gw, model_id)
    if found is None:
        raise NotFound(f"model: {model_id}")
    await req.respond(200, msgspec.json.encode(info(found)))
